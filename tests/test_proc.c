/*
 * test_proc.c - process identities and liveness: self, dead, zombie, and a
 * recycled pid (same pid, other start time).
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static void test_self(void **state)
{
	shmbus_ident_t me = shmbus_proc_self(), again;

	(void)state;
	assert_int_not_equal(me, SHMBUS_IDENT_NONE);
	assert_int_equal(shmbus_ident_pid(me), getpid());
	assert_true(shmbus_ident_start(me) > 0);
	assert_int_equal(shmbus_proc_ident(getpid(), &again), 0);
	assert_int_equal(again, me);
	assert_true(shmbus_proc_alive(me));
	assert_false(shmbus_proc_alive(SHMBUS_IDENT_NONE));
}

static int child_exit(void *arg)
{
	(void)arg;
	return 0;
}

static int child_report_ident(void *arg)
{
	int fd = *(int *)arg;
	shmbus_ident_t id = shmbus_proc_self();

	/* The cache must not hand the child its parent's identity. */
	return write(fd, &id, sizeof(id)) == sizeof(id) ? 0 : 1;
}

static void test_child_identity_after_fork(void **state)
{
	shmbus_ident_t parent = shmbus_proc_self(), child;
	int p[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = tu_spawn(child_report_ident, &p[1]);
	assert_int_equal(read(p[0], &child, sizeof(child)), sizeof(child));
	assert_int_equal(tu_wait(pid), 0);
	assert_int_equal(shmbus_ident_pid(child), pid);
	assert_int_not_equal(child, parent);
	/* the child is reaped: dead */
	assert_false(shmbus_proc_alive(child));
	close(p[0]);
	close(p[1]);
}

static void test_zombie_is_dead(void **state)
{
	shmbus_ident_t id;
	pid_t pid;
	siginfo_t si;

	(void)state;
	pid = tu_spawn(child_exit, NULL);
	/* wait for it to exit but leave it unreaped (a zombie) */
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_int_equal(shmbus_proc_ident(pid, &id), -ESRCH);
	assert_int_equal(tu_wait(pid), 0);
}

static void test_recycled_pid_is_not_alive(void **state)
{
	shmbus_ident_t me = shmbus_proc_self();
	/* Same pid, another start time: what a recycled pid looks like. */
	shmbus_ident_t other = me + ((shmbus_ident_t)1 << SHMBUS_IDENT_PID_BITS);

	(void)state;
	assert_int_equal(shmbus_ident_pid(other), getpid());
	assert_false(shmbus_proc_alive(other));
}

static void test_bad_pids(void **state)
{
	shmbus_ident_t id;

	(void)state;
	assert_int_equal(shmbus_proc_ident(0, &id), -ERANGE);
	assert_int_equal(shmbus_proc_ident(-5, &id), -ERANGE);
	assert_int_equal(shmbus_proc_ident(1 << 23, &id), -ERANGE);
	/* pid 4194303 is the highest possible and almost surely unused */
	assert_int_equal(shmbus_proc_ident(4194303, &id), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_child_identity_after_fork),
		cmocka_unit_test(test_zombie_is_dead),
		cmocka_unit_test(test_recycled_pid_is_not_alive),
		cmocka_unit_test(test_bad_pids),
	};

	return cmocka_run_group_tests_name("proc", tests, NULL, NULL);
}
