/*
 * mp_block_sparse.c - a sparse block made by someone else (Python's
 * SharedMemory only calls ftruncate) on a /dev/shm with no room left for
 * it: a read-write attach fails with -ENOSPC, and the tool says so, instead
 * of a SIGBUS on the first store to a hole.  A read-only attach still works
 * (holes read as zeros); a sparse block that fits is backed whole by attach.
 *
 * Runs in a child with its own mount namespace and a tiny tmpfs mounted
 * over /dev/shm; skipped (77) where that is not permitted (not root, no
 * user namespaces...).
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define FS_SIZE "256k"

/* A private /dev/shm of FS_SIZE; false if not permitted. */
static bool private_shm(void)
{
	return unshare(CLONE_NEWNS) == 0 &&
	       mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
	       mount("tmpfs", SHMBUS_SHM_DIR, "tmpfs", MS_NOSUID | MS_NODEV,
		     "size=" FS_SIZE ",mode=1777") == 0;
}

static int probe(void *arg)
{
	(void)arg;
	return private_shm() ? 0 : TU_SKIP;
}

/* A sparse object of @size bytes with only its first page written, as
 * Python leaves a SharedMemory it wrote a little into. */
static int make_sparse(const char *name, off_t size)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", SHMBUS_SHM_DIR, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, size) < 0 || pwrite(fd, "x", 1, 0) != 1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Checks in the child, each with its own exit code. */
static int scenario(void *arg)
{
	const char *big = tu_name("big"), *small = tu_name("small");
	const char *argv[] = { tu_tool(), "set", big, "0", "1", NULL };
	struct shmbus_block *b;
	const unsigned char *p;
	struct stat st;
	char path[512], *err;
	void *w;
	int rc;

	(void)arg;
	if (!private_shm())
		return 10;
	/* Four times the file system: the rest can never be backed. */
	if (make_sparse(big, 1024 * 1024) || make_sparse(small, 64 * 1024))
		return 11;
	if (shmbus_block_attach(&b, big, 0) != -ENOSPC)
		return 12;
	/* Read-only: no reservation needed, holes read as zeros. */
	if (shmbus_block_attach(&b, big, SHMBUS_ATTACH_RDONLY) != 0)
		return 13;
	p = shmbus_block_cdata(b);
	if (p[0] != 'x' || p[512 * 1024] != 0)
		return 14;
	shmbus_block_close(b);
	/* The tool: a clear error, exit 1, no signal. */
	rc = tu_run(argv, NULL, NULL, &err);
	if (rc != 1 || !strstr(err, big) || !strstr(err, shmbus_strerror(-ENOSPC)))
		return 15;
	free(err);
	/* A sparse block that fits is backed whole by a read-write attach,
	 * so every store is safe from then on. */
	if (shmbus_block_attach(&b, small, 0) != 0 || shmbus_block_data(b, &w) != 0)
		return 16;
	snprintf(path, sizeof(path), "%s/%s", SHMBUS_SHM_DIR, small);
	if (stat(path, &st) != 0 || (uint64_t)st.st_blocks * 512u < 64u * 1024u)
		return 17;
	((unsigned char *)w)[64 * 1024 - 1] = 1;
	shmbus_block_close(b);
	return 0;
}

static void test_sparse_on_full_shm(void **state)
{
	(void)state;
	assert_int_equal(tu_wait(tu_spawn(scenario, NULL)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sparse_on_full_shm),
	};

	if (tu_wait(tu_spawn(probe, NULL)) != 0) {
		fprintf(stderr, "skipped: cannot mount a private tmpfs on %s\n", SHMBUS_SHM_DIR);
		return TU_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
