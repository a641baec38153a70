/*
 * test_mpmc_hints.c - positions when the shared hints lag (they move once
 * every K claims, I5 in mpmc_claim_internal.h): a claimer whose private
 * cursor is laps stale finds its slot; stats and inspect still show the
 * positions the sides reached; a waiter whose hint lags still sleeps (does
 * not spin).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "relax_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"
#include "tu_mpmc_unit.h"

static uint32_t waiters_of(struct waitq *q)
{
	return waitq_word_waiters(atomic_load(&q->word));
}

/* --- hints that lag ------------------------------------------------------ */

static void test_stale_cursor(void **state)
{
	const char *name = tu_mpmc_make("stale", 8, 8, 0, 0);
	struct shmbus_mpmc *a = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *b = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc_stats st;
	uint64_t tail_hint;
	char buf[8];
	int i;

	(void)state;
	assert_int_equal(shmbus_mpmc_push_try(a, "a0", 2), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	/* b runs the ring many laps on: a's cursor is far behind. */
	for (i = 0; i < 1001; i++) {
		assert_int_equal(shmbus_mpmc_push_try(b, "b", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	}
	assert_int_equal(shmbus_mpmc_push_try(a, "a1", 2), 0);
	assert_int_equal(shmbus_mpmc_push_try(b, "b1", 2), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "a1", 2);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "b1", 2);
	/* The shared hint lags by less than K; stats show the real tail. */
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.tail, 1004);
	assert_int_equal(st.head, 1004);
	assert_int_equal(st.occupancy, 0);
	tail_hint = atomic_load(&c->ctl->tail.value);
	assert_true(tail_hint <= 1004 && 1004 - tail_hint < mpmc_hint_lag(8) + 1);
	shmbus_mpmc_close(a);
	shmbus_mpmc_close(b);
	shmbus_mpmc_close(c);
}

struct sleeper {
	struct shmbus_mpmc *c;
	char buf[8];
	int rc;
};

static void *sleeper_pop(void *arg)
{
	struct sleeper *s = arg;

	s->rc = shmbus_mpmc_pop(s->c, s->buf, sizeof(s->buf), 20000);
	return NULL;
}

static void test_sleeps_behind_lagging_hint(void **state)
{
	const char *name = tu_mpmc_make("lagsleep", 64, 8, 60000, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct sleeper s = { .c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER) };
	struct waitq *q = &s.c->ctl->not_empty.q;
	pthread_t t;
	char buf[8];
	int i, still = 0;

	(void)state;
	for (i = 0; i < 5; i++) {
		assert_int_equal(shmbus_mpmc_push_try(p, "x", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(s.c, buf, sizeof(buf)), 1);
	}
	/* head lags behind the consumer's position (K is 32 here). */
	assert_true(atomic_load(&s.c->ctl->head.value) < 5);
	shmbus_mpmc_set_yields(s.c, 0);
	assert_int_equal(pthread_create(&t, NULL, sleeper_pop, &s), 0);
	/* It must go to sleep and stay asleep, not spin on the stale hint
	 * (a spinning waiter shows waiters == 1 only in flickers). */
	for (i = 0; i < 10000 && still < 50; i++) {
		still = waiters_of(q) == 1 ? still + 1 : 0;
		usleep(1000);
	}
	assert_int_equal(still, 50);
	assert_int_equal(shmbus_mpmc_push_try(p, "w", 1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.rc, 1);
	assert_int_equal(s.buf[0], 'w');
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(s.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stale_cursor, tu_teardown),
		cmocka_unit_test_teardown(test_sleeps_behind_lagging_hint, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
