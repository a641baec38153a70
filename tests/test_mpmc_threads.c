/*
 * test_mpmc_threads.c - 4 producer threads x 4 consumer threads, each with
 * its own handle, on one mpmc ring in one process: the version of the
 * multi-process stream test that ThreadSanitizer can see into (every access
 * to the ring is then checked for races).  Same checks: exactly once,
 * intact, per-producer order within each consumer, counters add up.
 *
 * SHMBUS_MPMC_MSGS overrides the messages per producer (default 20000,
 * 2000 under sanitizers).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "shmbus/mpmc.h"
#include "tu_mpmc.h"
#include "testutil.h"

#define NPROD 4
#define NCONS 4
#define SLOT 80

struct run {
	const char *name;
	uint64_t msgs;
	_Atomic uint64_t delivered;
	struct tu_mpmc_entry *logs[NCONS];
	uint64_t counts[NCONS];
};

struct thr {
	struct run *r;
	unsigned id;
	int rc;
};

static void *produce(void *arg)
{
	struct thr *t = arg;
	struct shmbus_mpmc *h;
	uint64_t seq = 0;
	char msg[SLOT];
	void *data;
	int rc = 0;

	if (shmbus_mpmc_open(&h, t->r->name, SHMBUS_MPMC_PRODUCER)) {
		t->rc = 10;
		return NULL;
	}
	/* Spin briefly so that both the spin and the futex paths run. */
	shmbus_mpmc_set_yields(h, 50);
	while (seq < t->r->msgs && rc == 0) {
		if (seq % 3 == 0) {
			rc = shmbus_mpmc_reserve(h, SLOT, &data, 10000);
			if (rc == 0)
				rc = shmbus_mpmc_commit(h, tu_mpmc_build(data, SLOT, t->id, seq));
		} else {
			size_t len = tu_mpmc_build(msg, SLOT, t->id, seq);

			rc = shmbus_mpmc_push(h, msg, len, 10000);
		}
		seq += rc == 0;
	}
	shmbus_mpmc_close(h);
	t->rc = rc ? 20 : 0;
	return NULL;
}

static void *consume(void *arg)
{
	struct thr *t = arg;
	struct run *r = t->r;
	const uint64_t total = r->msgs * NPROD;
	struct shmbus_mpmc_msg msgs[4];
	struct shmbus_mpmc *h;
	uint64_t n = 0;
	int rc, i;

	if (shmbus_mpmc_open(&h, r->name, SHMBUS_MPMC_CONSUMER)) {
		t->rc = 10;
		return NULL;
	}
	shmbus_mpmc_set_yields(h, 50);
	while (atomic_load_explicit(&r->delivered, memory_order_relaxed) < total) {
		rc = shmbus_mpmc_peek_burst(h, msgs, (unsigned)(n % 4) + 1, 20);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc < 0) {
			t->rc = 30;
			break;
		}
		for (i = 0; i < rc; i++) {
			const struct tu_mpmc_msg *m = msgs[i].data;

			if (!tu_mpmc_valid(msgs[i].data, msgs[i].len)) {
				t->rc = 31;
				goto out;
			}
			r->logs[t->id][n].producer = m->producer;
			r->logs[t->id][n].seq = (uint32_t)m->seq;
			n++;
		}
		if (shmbus_mpmc_release_burst(h, (unsigned)rc) != rc) {
			t->rc = 32;
			break;
		}
		/* Relaxed: a progress counter; results are read after join. */
		atomic_fetch_add_explicit(&r->delivered, (uint64_t)rc, memory_order_relaxed);
	}
out:
	r->counts[t->id] = n;
	shmbus_mpmc_close(h);
	return NULL;
}

static void run_threads(uint32_t slots, uint64_t msgs)
{
	struct shmbus_mpmc_params p = { .slots = slots, .slot_size = SLOT, .liveness_ms = 50 };
	struct run r = { .name = tu_name("threads"), .msgs = msgs };
	struct thr tp[NPROD], tc[NCONS];
	pthread_t ids[NPROD + NCONS];
	const struct tu_mpmc_entry *logs[NCONS];
	uint64_t sent[NPROD];
	struct shmbus_mpmc_stats st;
	struct shmbus_mpmc *h;
	char why[160];
	unsigned i;

	assert_int_equal(shmbus_mpmc_create(r.name, &p), 0);
	for (i = 0; i < NCONS; i++) {
		r.logs[i] = calloc(msgs * NPROD, sizeof(struct tu_mpmc_entry));
		assert_non_null(r.logs[i]);
		tc[i] = (struct thr){ &r, i, 0 };
		assert_int_equal(pthread_create(&ids[NPROD + i], NULL, consume, &tc[i]), 0);
	}
	for (i = 0; i < NPROD; i++) {
		tp[i] = (struct thr){ &r, i, 0 };
		assert_int_equal(pthread_create(&ids[i], NULL, produce, &tp[i]), 0);
	}
	for (i = 0; i < NPROD + NCONS; i++)
		assert_int_equal(pthread_join(ids[i], NULL), 0);
	for (i = 0; i < NPROD; i++)
		assert_int_equal(tp[i].rc, 0);
	for (i = 0; i < NCONS; i++)
		assert_int_equal(tc[i].rc, 0);
	for (i = 0; i < NPROD; i++)
		sent[i] = msgs;
	for (i = 0; i < NCONS; i++)
		logs[i] = r.logs[i];
	if (tu_mpmc_check_logs(logs, r.counts, NCONS, sent, NPROD, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(shmbus_mpmc_open(&h, r.name, SHMBUS_MPMC_CONSUMER), 0);
	shmbus_mpmc_stats(h, &st);
	assert_int_equal(st.msgs_in, msgs * NPROD);
	assert_int_equal(st.msgs_out, msgs * NPROD);
	assert_int_equal(st.lost, 0);
	shmbus_mpmc_close(h);
	for (i = 0; i < NCONS; i++)
		free(r.logs[i]);
}

static uint64_t msgs_per_producer(void)
{
	const char *env = getenv("SHMBUS_MPMC_MSGS");

	if (env && *env)
		return strtoull(env, NULL, 10);
	return tu_sanitized() ? 2000 : 20000;
}

static void test_threads_tiny_ring(void **state)
{
	(void)state;
	run_threads(2, msgs_per_producer());
}

static void test_threads_ring(void **state)
{
	(void)state;
	run_threads(64, msgs_per_producer());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_threads_tiny_ring, tu_teardown),
		cmocka_unit_test_teardown(test_threads_ring, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
