/*
 * mp_manager_sig.c - a manager whose guardian is killed by a catchable
 * signal (SIGTERM, SIGQUIT, SIGUSR1: each kills it) notices: every later
 * create fails with -SHMBUS_EPEERDEAD instead of making a block nobody
 * would unlink (issue 19, item 6).
 */
#include <signal.h>
#include <sys/stat.h>

#include "testutil.h"

static void killed_by(int sig)
{
	const char *mgr = tu_name("mgr"), *blk = tu_name("blk");
	struct shmbus_manager *m;
	struct shmbus_block *b = NULL;
	shmbus_ident_t g;
	char path[300];
	struct stat st;
	int tries;

	assert_int_equal(shmbus_manager_start(&m, mgr, 0), 0);
	g = shmbus_manager_guardian(m);
	assert_true(shmbus_proc_alive(g));
	/* Before: creates work. */
	assert_int_equal(shmbus_manager_create_block(m, blk, 4096, 0, &b), 0);
	shmbus_block_close(b);
	assert_int_equal(kill(shmbus_ident_pid(g), sig), 0);
	/* The guardian is not our child: wait until it is gone. */
	for (tries = 0; tries < 10000 && shmbus_proc_alive(g); tries++)
		usleep(1000);
	assert_false(shmbus_proc_alive(g));
	b = NULL;
	assert_int_equal(shmbus_manager_create_block(m, tu_name("after"), 4096, 0, &b),
			 -SHMBUS_EPEERDEAD);
	assert_null(b);
	snprintf(path, sizeof(path), "/dev/shm/%s", tu_name("after"));
	assert_int_not_equal(stat(path, &st), 0); /* nothing made */
	assert_int_equal(shmbus_manager_track(m, blk), -SHMBUS_EPEERDEAD);
	(void)shmbus_manager_shutdown(m); /* unlinks what it still can */
	shmbus_manager_free(m);
}

static void test_sigterm(void **state) { (void)state; killed_by(SIGTERM); }
static void test_sigquit(void **state) { (void)state; killed_by(SIGQUIT); }
static void test_sigusr1(void **state) { (void)state; killed_by(SIGUSR1); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigterm, tu_teardown),
		cmocka_unit_test_teardown(test_sigquit, tu_teardown),
		cmocka_unit_test_teardown(test_sigusr1, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
