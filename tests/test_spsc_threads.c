/*
 * test_spsc_threads.c - a producer thread and a consumer thread sharing one
 * ring in one process: every message verified, with _try calls and spinning,
 * and with blocking calls that sleep often; also with the wake-up protocol
 * forced onto its fallback (no membarrier: the waker's read-modify-write
 * Dekker; and sleeping in slices).  Meant to run under TSan: the ring's
 * memory ordering (release/acquire on the positions, the payload handed over
 * through them) must be race-free.  A lost wake-up shows as a timeout.
 */
#include <pthread.h>
#include <stdlib.h>

#include "spsc/spsc_internal.h"
#include "tu_spsc.h"
#include "testutil.h"

enum mode { NORMAL, NO_MEMBARRIER, SLICED };

struct side {
	const char *name;
	const struct tu_spsc_stream *s;
	unsigned spin;
	enum mode mode;
	int rc;
};

static void force(struct shmbus_spsc *q, enum mode mode)
{
	if (mode == NO_MEMBARRIER)
		spsc_set_asym(q, false); /* wakers always take the flag with an RMW */
	else if (mode == SLICED)
		q->sliced = true; /* sleepers never issue membarrier */
}

static void *producer(void *arg)
{
	struct side *x = arg;
	struct shmbus_spsc *q;

	x->rc = shmbus_spsc_open(&q, x->name, SHMBUS_SPSC_PRODUCER);
	if (x->rc)
		return NULL;
	force(q, x->mode);
	shmbus_spsc_set_spin(q, x->spin);
	x->rc = tu_spsc_produce(x->s, q);
	shmbus_spsc_close(q);
	return NULL;
}

static void *consumer(void *arg)
{
	struct side *x = arg;
	struct shmbus_spsc *q;

	x->rc = shmbus_spsc_open(&q, x->name, SHMBUS_SPSC_CONSUMER);
	if (x->rc)
		return NULL;
	force(q, x->mode);
	shmbus_spsc_set_spin(q, x->spin);
	x->rc = tu_spsc_consume(x->s, q);
	shmbus_spsc_close(q);
	return NULL;
}

static void run(const char *what, bool blocking, unsigned spin, size_t cap, enum mode mode)
{
	const char *env = getenv("SHMBUS_SPSC_THREADS_COUNT");
	struct tu_spsc_stream s = {
		.count = env ? strtoull(env, NULL, 0) : tu_sanitized() ? 100000 : 1000000,
		.max_len = 300,
		.blocking = blocking,
		.timeout_ms = 30000,
	};
	struct side p = { .s = &s, .spin = spin, .mode = mode };
	struct side c = { .s = &s, .spin = spin, .mode = mode };
	pthread_t tp, tc;

	p.name = c.name = tu_name(what);
	assert_int_equal(shmbus_spsc_create(p.name, cap, 0), 0);
	assert_int_equal(pthread_create(&tc, NULL, consumer, &c), 0);
	assert_int_equal(pthread_create(&tp, NULL, producer, &p), 0);
	assert_int_equal(pthread_join(tp, NULL), 0);
	assert_int_equal(pthread_join(tc, NULL), 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(c.rc, 0);
	assert_int_equal(shmbus_block_unlink(p.name), 0);
}

static void test_threads_spin(void **state)
{
	(void)state;
	run("spin", false, 0, 4096, NORMAL);
}

static void test_threads_blocking(void **state)
{
	(void)state;
	run("block", true, SHMBUS_SPSC_SPIN_DEFAULT, 4096, NORMAL);
}

/* No spinning at all: every empty or full ring is a futex sleep. */
static void test_threads_sleepy(void **state)
{
	(void)state;
	run("sleepy", true, 0, 1024, NORMAL);
}

static void test_threads_no_membarrier(void **state)
{
	(void)state;
	run("nomb", true, 0, 1024, NO_MEMBARRIER);
}

static void test_threads_sliced(void **state)
{
	(void)state;
	run("sliced", true, 0, 1024, SLICED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_threads_spin, tu_teardown),
		cmocka_unit_test_teardown(test_threads_blocking, tu_teardown),
		cmocka_unit_test_teardown(test_threads_sleepy, tu_teardown),
		cmocka_unit_test_teardown(test_threads_no_membarrier, tu_teardown),
		cmocka_unit_test_teardown(test_threads_sliced, tu_teardown),
	};

	return cmocka_run_group_tests_name("spsc_threads", tests, NULL, NULL);
}
