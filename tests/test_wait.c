/*
 * test_wait.c - futex wait/wake across processes, deadlines, and the shared
 * wait queue (waiter count + futex) that the rings sleep on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "waitq_internal.h"

static void test_deadline(void **state)
{
	struct timespec d;

	(void)state;
	assert_int_equal(deadline_after(-1, &d), 0);
	assert_int_equal(deadline_passed(NULL), 0);
	assert_int_equal(deadline_after(0, &d), 1);
	assert_int_equal(deadline_passed(&d), 1);
	assert_int_equal(deadline_after(60000, &d), 1);
	assert_int_equal(deadline_passed(&d), 0);
	assert_true(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
}

static void test_wait_value_mismatch_and_timeout(void **state)
{
	uint32_t word = 5;
	struct timespec d;

	(void)state;
	/* value differs: returns at once */
	assert_int_equal(futex_wait(&word, 4, NULL), 0);
	deadline_after(20, &d);
	assert_int_equal(futex_wait(&word, 5, &d), -ETIMEDOUT);
	assert_int_equal(deadline_passed(&d), 1);
	assert_int_equal(futex_wake(&word, 1), 0);
}

struct xproc {
	const char *name;
};

/* Child: sleep on word 0 of the block until the parent sets it to 1. */
static int child_waits(void *arg)
{
	struct xproc *x = arg;
	struct shmbus_block *b;
	_Atomic uint32_t *w;
	struct timespec d;
	void *p;

	if (shmbus_block_attach(&b, x->name, 0) || shmbus_block_data(b, &p))
		return 2;
	w = p;
	deadline_after(30000, &d);
	/* Acquire: pairs with the parent's release store of 1. */
	while (atomic_load_explicit(&w[0], memory_order_acquire) == 0) {
		atomic_store_explicit(&w[1], 1, memory_order_release); /* "I sleep" */
		if (futex_wait((uint32_t *)&w[0], 0, &d) == -ETIMEDOUT)
			return 3;
	}
	shmbus_block_close(b);
	return 0;
}

static void test_cross_process_wake(void **state)
{
	struct xproc x = { tu_name("futex") };
	struct shmbus_block *b;
	_Atomic uint32_t *w;
	void *p;
	pid_t pid;

	(void)state;
	assert_int_equal(shmbus_block_create(&b, x.name, 4096, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	w = p;
	pid = tu_spawn(child_waits, &x);
	while (atomic_load_explicit(&w[1], memory_order_acquire) == 0)
		usleep(1000);
	usleep(20000); /* let it reach futex_wait */
	atomic_store_explicit(&w[0], 1, memory_order_release);
	assert_true(futex_wake((uint32_t *)&w[0], 1) >= 0);
	assert_int_equal(tu_wait(pid), 0);
	shmbus_block_close(b);
	tu_cleanup();
}

struct wq_test {
	struct waitq wq;
	_Atomic int flag;
	int woke;
};

static bool flag_set(void *arg)
{
	struct wq_test *t = arg;

	/* Acquire: pairs with the release store in the waker. */
	return atomic_load_explicit(&t->flag, memory_order_acquire) != 0;
}

static void *waiter_thread(void *arg)
{
	struct wq_test *t = arg;

	t->woke = waitq_wait(&t->wq, flag_set, t, NULL) == 0;
	return NULL;
}

static void test_waitq_threads(void **state)
{
	struct wq_test t = { 0 };
	struct timespec d;
	pthread_t th;
	int i;

	(void)state;
	/* nobody waits: wake is free */
	assert_int_equal(waitq_wake(&t.wq), 0);
	deadline_after(10, &d);
	assert_int_equal(waitq_wait(&t.wq, flag_set, &t, &d), -ETIMEDOUT);
	assert_false(waitq_has_waiters(&t.wq));
	/* Many rounds: a lost wake-up would hang this test. */
	for (i = 0; i < 200; i++) {
		atomic_store(&t.flag, 0);
		t.woke = 0;
		assert_int_equal(pthread_create(&th, NULL, waiter_thread, &t), 0);
		if (i % 2)
			usleep(100);
		atomic_store_explicit(&t.flag, 1, memory_order_release);
		waitq_wake(&t.wq);
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(t.woke, 1);
	}
	assert_false(waitq_has_waiters(&t.wq));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_wait_value_mismatch_and_timeout),
		cmocka_unit_test(test_cross_process_wake),
		cmocka_unit_test(test_waitq_threads),
	};

	return cmocka_run_group_tests_name("wait", tests, NULL, NULL);
}
