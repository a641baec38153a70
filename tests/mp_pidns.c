/*
 * mp_pidns.c - roles across pid namespaces (issue 19, item 4), with real
 * `unshare --pid --fork` as root; skipped (77) where unshare is refused.
 *
 * With its own /proc (--mount-proc), a consumer in the namespace is
 * unknown to the host's /proc under its pid: the host must not take its
 * role (-SHMBUS_EPEERUNKNOWN), every message must reach the consumer once,
 * `shmbus gc` must leave the block, and `inspect` says "unknown".
 * Without its own /proc, the process records the identity the host's /proc
 * gives it: the host sees it alive while it runs (-EBUSY) and dead once it
 * is killed (its role is then taken over, not refused for ever).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

#define MSGS 50

static const char *self_path;
static pid_t running; /* the unshare process of a test, until reaped */

/* A failed test leaves no process behind: unshare's --kill-child takes the
 * inner one with it. */
static int teardown(void **state)
{
	if (running > 0) {
		kill(running, SIGKILL);
		tu_wait(running);
		running = 0;
	}
	return tu_teardown(state);
}

/* Inside the namespace: create the ring, be its consumer, say so on @fd,
 * then consume to the end of the stream (exit status: messages) or wait
 * to be killed. */
static int inner(const char *mode, const char *name, int fd)
{
	struct shmbus_spsc *rx;
	char buf[64];
	int n = 0, rc;

	if (shmbus_spsc_create(name, 1 << 12, 0) != 0)
		return 200;
	if (shmbus_spsc_open(&rx, name, SHMBUS_SPSC_CONSUMER) != 0)
		return 201;
	if (write(fd, "r", 1) != 1)
		return 202;
	close(fd);
	if (strcmp(mode, "hold") == 0)
		for (;;)
			pause();
	while ((rc = shmbus_spsc_pop(rx, buf, sizeof(buf), -1)) >= 0)
		n++;
	shmbus_spsc_close(rx);
	return rc == -SHMBUS_EEOS ? n : 203;
}

static bool unshare_works(void)
{
	const char *argv[] = { "unshare", "--pid", "--fork", "--mount-proc", "true", NULL };

	return tu_run(argv, NULL, NULL, NULL) == 0;
}

/* Start `unshare ... self mode name fd`; returns its pid once the inner
 * process is the ring's consumer. */
static pid_t start_inner(bool mount_proc, const char *mode, const char *name)
{
	char fdarg[16];
	int p[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	snprintf(fdarg, sizeof(fdarg), "%d", p[1]);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		if (mount_proc)
			execlp("unshare", "unshare", "--pid", "--fork", "--kill-child",
			       "--mount-proc", self_path, mode, name, fdarg, (char *)NULL);
		else
			execlp("unshare", "unshare", "--pid", "--fork", "--kill-child",
			       self_path, mode, name, fdarg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	running = pid;
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

static void test_own_proc(void **state)
{
	const char *name = tu_name("nsproc");
	struct shmbus_spsc *rx, *tx;
	char path[300], *out = NULL;
	struct stat st;
	pid_t pid;
	int i;

	(void)state;
	if (!unshare_works())
		skip();
	pid = start_inner(true, "consume", name);
	/* The host must not judge the consumer dead by its pid. */
	assert_int_equal(shmbus_spsc_open(&rx, name, SHMBUS_SPSC_CONSUMER),
			 -SHMBUS_EPEERUNKNOWN);
	assert_non_null(strstr(shmbus_strerror(-SHMBUS_EPEERUNKNOWN), "namespace"));
	{
		const char *gc[] = { tu_tool(), "gc", NULL };
		const char *insp[] = { tu_tool(), "inspect", name, "--json", NULL };

		assert_int_equal(tu_run(gc, NULL, NULL, NULL), 0);
		snprintf(path, sizeof(path), "/dev/shm/%s", name);
		assert_int_equal(stat(path, &st), 0); /* gc left it */
		assert_int_equal(tu_run(insp, NULL, &out, NULL), 0);
		assert_non_null(strstr(out, "\"liveness\": \"unknown\""));
		/* Nobody in the document is called dead: the creator and the
		 * consumer live in the namespace; there is no producer yet. */
		assert_null(strstr(out, "\"alive\": false"));
		assert_int_equal(tu_schema_check("inspect.schema.json", out), 0);
		free(out);
	}
	/* Every message reaches the consumer in the namespace, once. */
	assert_int_equal(shmbus_spsc_open(&tx, name, SHMBUS_SPSC_PRODUCER), 0);
	for (i = 0; i < MSGS; i++)
		assert_int_equal(shmbus_spsc_push(tx, "m", 1, -1), 0);
	assert_int_equal(shmbus_spsc_close_stream(tx), 0);
	shmbus_spsc_close(tx);
	running = 0;
	assert_int_equal(tu_wait(pid), MSGS);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_host_proc(void **state)
{
	const char *name = tu_name("nshost");
	struct shmbus_spsc *rx;
	pid_t pid;
	int rc, tries;

	(void)state;
	if (!unshare_works())
		skip();
	pid = start_inner(false, "hold", name);
	/* Alive, and seen so: its recorded identity is the host's view. */
	assert_int_equal(shmbus_spsc_open(&rx, name, SHMBUS_SPSC_CONSUMER), -EBUSY);
	kill(pid, SIGKILL); /* --kill-child takes the inner process with it */
	running = 0;
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	/* Dead once it is gone (it is reaped by init, asynchronously). */
	for (tries = 0; tries < 10000; tries++) {
		rc = shmbus_spsc_open(&rx, name, SHMBUS_SPSC_CONSUMER);
		if (rc != -EBUSY)
			break;
		usleep(1000);
	}
	assert_int_equal(rc, 0);
	shmbus_spsc_close(rx);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_own_proc, teardown),
		cmocka_unit_test_teardown(test_host_proc, teardown),
	};

	self_path = argv[0];
	if (argc == 4)
		return inner(argv[1], argv[2], atoi(argv[3]));
	if (geteuid() != 0)
		return TU_SKIP;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
