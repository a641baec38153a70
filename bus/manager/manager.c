/*
 * manager.c - the manager object: start (own block + guardian), shutdown,
 * free.  The list operations are in manager_ops.c, the guardian in
 * manager_guardian.c.
 *
 * Invariant: the manager's own block is built unnamed (O_TMPFILE) and linked
 * under its name only once it is complete and the guardian watches it, so
 * no visible manager block ever lacks a guardian that was running when it
 * appeared.  On any failure of start, nothing is left: an unlinked
 * O_TMPFILE object vanishes with its last descriptor, and the guardian, if
 * already forked, sees our end of the socket close and finds nothing of
 * ours to unlink.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "manager_internal.h"
#include "name_internal.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

int mgr_tmpfile(int dirfd, uint64_t size, mode_t mode, struct stat *st)
{
	int fd, rc;

	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == EISDIR || errno == EOPNOTSUPP || errno == EINVAL ?
			-EOPNOTSUPP : -errno;
	/* The umask trimmed the mode; the caller asked for exactly @mode. */
	if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	/* Reserve every page now: a full /dev/shm fails here, not as SIGBUS. */
	do
		rc = posix_fallocate(fd, 0, (off_t)size);
	while (rc == EINTR);
	if (rc) {
		close(fd);
		return -rc;
	}
	if (fstat(fd, st) < 0)
		goto fail_errno;
	return fd;

fail_errno:
	rc = -errno;
	close(fd);
	return rc;
}

int mgr_link(int fd, int dirfd, const char *name)
{
	char proc[64];

	/* linkat(fd, "", AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH on most
	 * kernels; the /proc path works for the file's owner.  Fails with
	 * EEXIST if the name is taken: creation stays exclusive. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0)
		return -errno;
	return 0;
}

/* Lay out the manager block in @map (zeroed by ftruncate). */
static void build(struct shmbus_manager *m)
{
	struct layout_desc desc = {
		.kind = SHMBUS_KIND_MANAGER,
		.version = SHMBUS_MGR_VERSION,
		.total_size = mgr_total_size(m->capacity),
	};
	struct mgr_region *r = mgr_region(m->map);

	header_init(m->map, &desc);
	r->capacity = m->capacity;
	r->entry_size = sizeof(struct mgr_entry);
	r->entries_off = SHMBUS_MGR_ENTRIES_OFF;
	r->owner = shmbus_proc_self();
	/* Relaxed: unpublished; header_publish() orders all of it. */
	atomic_store_explicit(&r->state, SHMBUS_MGR_RUNNING, memory_order_relaxed);
	atomic_store_explicit(&r->count, 0, memory_order_relaxed);
}

static int generate_name(char name[SHMBUS_NAME_MAX + 1])
{
	char path[SHMBUS_PATH_MAX];
	int rc = name_generate(path); /* "/shmbus_" + 16 hex */

	if (rc)
		return rc;
	/* "shmbus_mgr_" + the 16 hex digits: always far below the limit. */
	memcpy(name, "shmbus_mgr_", sizeof("shmbus_mgr_") - 1);
	memcpy(name + sizeof("shmbus_mgr_") - 1, path + sizeof("/shmbus_") - 1, 17);
	return 0;
}

static int start_guardian(struct shmbus_manager *m)
{
	struct mgr_guard_args ga;
	int sv[2], rc;

	memset(&ga, 0, sizeof(ga));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	m->sock = sv[0];
	ga.sock = sv[1];
	ga.dirfd = m->dirfd;
	/* The owner is the whole process: pidfd_open() takes the thread-group
	 * id, which getpid() is from any thread.  The pidfd is close-on-exec. */
	ga.pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (ga.pidfd < 0 && errno != ENOSYS) {
		rc = -errno;
		close(ga.sock);
		return rc;
	}
	ga.devnull = open("/dev/null", O_RDWR | O_CLOEXEC); /* -1: guardian closes 0-2 */
	ga.map = m->map;
	ga.entries = mgr_entries(m->map);
	ga.capacity = m->capacity;
	memcpy(ga.name, m->name, sizeof(ga.name));
	ga.dev = m->dev;
	ga.ino = m->ino;
	rc = mgr_guardian_spawn(m, &ga);
	if (rc)
		return rc;
	return shmbus_proc_ident(m->guardian_pid, &m->guardian);
}

int shmbus_manager_start(struct shmbus_manager **out, const char *name, uint32_t capacity)
{
	struct shmbus_manager *m = NULL;
	struct stat st;
	int fd = -1, rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (capacity == 0)
		capacity = SHMBUS_MANAGER_CAPACITY_DEFAULT;
	if (capacity > SHMBUS_MANAGER_CAPACITY_MAX)
		return -EINVAL;
	if (name && (rc = shmbus_name_check(name)))
		return rc;
	if (shmbus_proc_self() == SHMBUS_IDENT_NONE)
		return -ENOSYS; /* no /proc: processes cannot be identified */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->dirfd = m->sock = -1;
	m->map = MAP_FAILED;
	m->capacity = capacity;
	m->owner_pid = getpid();
	m->items = calloc(capacity, sizeof(*m->items));
	m->used = calloc(capacity, sizeof(*m->used));
	rc = -ENOMEM;
	if (!m->items || !m->used)
		goto fail;
	rc = -pthread_mutex_init(&m->lock, NULL);
	if (rc)
		goto fail;
	if (name)
		snprintf(m->name, sizeof(m->name), "%s", name[0] == '/' ? name + 1 : name);
	else if ((rc = generate_name(m->name)))
		goto fail_mutex;
	m->dirfd = open(SHMBUS_SHM_DIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (m->dirfd < 0) {
		rc = -errno;
		goto fail_mutex;
	}
	m->map_size = (size_t)mgr_total_size(capacity);
	fd = mgr_tmpfile(m->dirfd, m->map_size, 0600, &st);
	if (fd < 0) {
		rc = fd;
		goto fail_mutex;
	}
	m->dev = (uint64_t)st.st_dev;
	m->ino = (uint64_t)st.st_ino;
	m->map = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m->map == MAP_FAILED) {
		rc = -errno;
		goto fail_mutex;
	}
	build(m);
	rc = start_guardian(m);
	if (rc)
		goto fail_mutex;
	/* Relaxed: the manager fields are informational (header_internal.h);
	 * publish() below orders them before `ready` anyway. */
	atomic_store_explicit(&((struct shm_header *)m->map)->manager, m->guardian,
			      memory_order_relaxed);
	atomic_store_explicit(&mgr_region(m->map)->guardian, m->guardian,
			      memory_order_relaxed);
	header_publish(m->map);
	rc = mgr_link(fd, m->dirfd, m->name);
	if (rc)
		goto fail_mutex;
	close(fd);
	*out = m;
	return 0;

fail_mutex:
	pthread_mutex_destroy(&m->lock);
fail:
	if (fd >= 0)
		close(fd);
	if (m->sock >= 0)
		close(m->sock); /* a guardian sees end-of-file, finds nothing, exits */
	if (m->map != MAP_FAILED)
		munmap(m->map, m->map_size);
	if (m->dirfd >= 0)
		close(m->dirfd);
	free(m->items);
	free(m->used);
	free(m);
	return rc;
}

int shmbus_manager_shutdown(struct shmbus_manager *m)
{
	uint32_t i;
	int rc, first = 0;

	if (!m)
		return -EINVAL;
	if (getpid() != m->owner_pid)
		return -EPERM;
	pthread_mutex_lock(&m->lock);
	if (m->stopped)
		goto out;
	/* Relaxed: informational, for inspection. */
	atomic_store_explicit(&mgr_region(m->map)->state, SHMBUS_MGR_STOPPING,
			      memory_order_relaxed);
	/*
	 * Unlink first, then drop the entry: if we die in the middle, the
	 * guardian finishes the job with the entries still listed, and the
	 * identity check makes the ones already done harmless.
	 */
	for (i = 0; i < m->capacity; i++) {
		if (!m->used[i])
			continue;
		rc = mgr_unlink_same(m->dirfd, m->items[i].name, m->items[i].dev,
					    m->items[i].ino);
		if (rc && rc != -ESTALE && !first)
			first = rc;
		mgr_entry_clear(&mgr_entries(m->map)[i]);
		m->used[i] = false;
	}
	m->count = 0;
	rc = mgr_unlink_same(m->dirfd, m->name, m->dev, m->ino);
	if (rc && rc != -ESTALE && !first)
		first = rc;
	mgr_guardian_stop(m);
	close(m->sock);
	m->sock = -1;
	m->stopped = true;
out:
	pthread_mutex_unlock(&m->lock);
	return first;
}

void shmbus_manager_free(struct shmbus_manager *m)
{
	if (!m)
		return;
	if (getpid() == m->owner_pid) {
		shmbus_manager_shutdown(m);
		pthread_mutex_destroy(&m->lock);
	}
	/* In a forked child the mutex may be held by a thread that does not
	 * exist here: it is neither taken nor destroyed, only the memory of
	 * this copy is released, and nothing is unlinked. */
	if (m->sock >= 0)
		close(m->sock);
	munmap(m->map, m->map_size);
	close(m->dirfd);
	free(m->items);
	free(m->used);
	free(m);
}

const char *shmbus_manager_name(const struct shmbus_manager *m)
{
	return m->name;
}

shmbus_ident_t shmbus_manager_guardian(const struct shmbus_manager *m)
{
	return m->guardian;
}
