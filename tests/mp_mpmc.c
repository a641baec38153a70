/*
 * mp_mpmc.c - 4 producer processes x 4 consumer processes on one mpmc ring.
 * Each message carries (producer, sequence, checksum); the consumers log what
 * they get in shared memory and the parent checks that every message was
 * delivered exactly once, intact, and in per-producer order within each
 * consumer.  Producers and consumers mix every call form (copying, zero-copy,
 * bursts, try and blocking) so that all of them meet under contention.
 *
 * SHMBUS_MPMC_MSGS overrides the messages per producer (default 50000,
 * 5000 under sanitizers).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "shmbus/mpmc.h"
#include "tu_mpmc.h"
#include "testutil.h"

#define NPROD 4
#define NCONS 4
#define SLOT 96

struct shared {
	_Atomic uint64_t delivered;     /* by all consumers */
	uint64_t counts[NCONS];
	struct tu_mpmc_entry *logs[NCONS];   /* in the same shared mapping */
};

struct worker {
	const char *name;
	struct shared *sh;
	uint64_t msgs;                  /* per producer */
	unsigned id;
};

static int produce(void *arg)
{
	const struct worker *w = arg;
	struct shmbus_mpmc *h;
	struct shmbus_mpmc_msg burst[8];
	char bufs[8][SLOT];
	uint64_t seq = 0;
	int rc = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return 11;
	if (shmbus_mpmc_open(&h, w->name, SHMBUS_MPMC_PRODUCER))
		return 10;
	while (seq < w->msgs && rc >= 0) {
		unsigned mode = (unsigned)(seq / 64 + w->id) % 4, n, i;
		char msg[SLOT];
		size_t len;
		void *data;

		switch (mode) {
		case 0: /* copying, blocking */
			len = tu_mpmc_build(msg, SLOT, w->id, seq);
			rc = shmbus_mpmc_push(h, msg, len, 10000);
			seq += rc == 0;
			break;
		case 1: /* zero-copy, blocking */
			rc = shmbus_mpmc_reserve(h, SLOT, &data, 10000);
			if (rc == 0) {
				len = tu_mpmc_build(data, SLOT, w->id, seq);
				rc = shmbus_mpmc_commit(h, len);
				seq += rc == 0;
			}
			break;
		case 2: /* copying burst, blocking */
			n = (unsigned)(w->msgs - seq < 8 ? w->msgs - seq : 8);
			for (i = 0; i < n; i++) {
				burst[i].data = bufs[i];
				burst[i].len = tu_mpmc_build(bufs[i], SLOT, w->id, seq + i);
			}
			rc = shmbus_mpmc_push_burst(h, burst, n, 10000);
			if (rc > 0)
				seq += (uint64_t)rc;
			break;
		default: /* copying, try: spin on full */
			len = tu_mpmc_build(msg, SLOT, w->id, seq);
			rc = shmbus_mpmc_push_try(h, msg, len);
			if (rc == -EAGAIN)
				rc = 0;
			else if (rc == 0)
				seq++;
			break;
		}
	}
	shmbus_mpmc_close(h);
	return rc < 0 ? 20 : 0;
}

static bool take(const struct worker *w, uint64_t *count, const void *data, size_t len)
{
	const struct tu_mpmc_msg *m = data;
	struct tu_mpmc_entry *e = &w->sh->logs[w->id][*count];

	if (!tu_mpmc_valid(data, len))
		return false;
	e->producer = m->producer;
	e->seq = (uint32_t)m->seq;
	(*count)++;
	/* Relaxed: a progress counter; the parent reads logs after waitpid. */
	atomic_fetch_add_explicit(&w->sh->delivered, 1, memory_order_relaxed);
	return true;
}

static int consume(void *arg)
{
	const struct worker *w = arg;
	const uint64_t total = w->msgs * NPROD;
	struct shmbus_mpmc *h;
	struct shmbus_mpmc_msg msgs[8];
	char bufs[8][SLOT], *outs[8];
	uint64_t count = 0, round = 0;
	size_t lens[8];
	int rc, i;

	for (i = 0; i < 8; i++)
		outs[i] = bufs[i];
	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return 11;
	if (shmbus_mpmc_open(&h, w->name, SHMBUS_MPMC_CONSUMER))
		return 10;
	while (atomic_load_explicit(&w->sh->delivered, memory_order_relaxed) < total) {
		unsigned mode = (unsigned)(round++ / 32 + w->id) % 4;

		switch (mode) {
		case 0: /* copying */
			rc = shmbus_mpmc_pop(h, bufs[0], SLOT, 20);
			if (rc >= 0 && !take(w, &count, bufs[0], (size_t)rc))
				return 30;
			break;
		case 1: /* zero-copy burst */
			rc = shmbus_mpmc_peek_burst(h, msgs, 8, 20);
			for (i = 0; i < rc; i++) {
				if (!take(w, &count, msgs[i].data, msgs[i].len))
					return 31;
			}
			if (rc > 0 && shmbus_mpmc_release_burst(h, (unsigned)rc) != rc)
				return 32;
			break;
		case 2: /* copying burst */
			rc = shmbus_mpmc_pop_burst(h, (void *const *)outs, SLOT, lens, 8, 20);
			for (i = 0; i < rc; i++) {
				if (!take(w, &count, bufs[i], lens[i]))
					return 33;
			}
			break;
		default: /* zero-copy, try */
			rc = shmbus_mpmc_peek_try(h, &msgs[0].data, &msgs[0].len);
			if (rc == 0) {
				if (!take(w, &count, msgs[0].data, msgs[0].len))
					return 34;
				rc = shmbus_mpmc_release(h);
			}
			break;
		}
		if (rc < 0 && rc != -EAGAIN && rc != -ETIMEDOUT)
			return 40;
	}
	w->sh->counts[w->id] = count;
	shmbus_mpmc_close(h);
	return 0;
}

static void run_stream(uint32_t slots, uint64_t msgs)
{
	struct shmbus_mpmc_params p = { .slots = slots, .slot_size = SLOT, .participants = 16 };
	const char *name = tu_name("stream");
	size_t logbytes = (size_t)msgs * NPROD * sizeof(struct tu_mpmc_entry);
	struct worker wp[NPROD], wc[NCONS];
	pid_t pids[NPROD + NCONS];
	const struct tu_mpmc_entry *logs[NCONS];
	uint64_t sent[NPROD];
	struct shmbus_mpmc_stats st;
	struct shmbus_mpmc *h;
	struct shared *sh;
	char why[160];
	unsigned i;

	assert_int_equal(shmbus_mpmc_create(name, &p), 0);
	sh = mmap(NULL, sizeof(*sh) + NCONS * logbytes, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	for (i = 0; i < NCONS; i++)
		sh->logs[i] = (struct tu_mpmc_entry *)((char *)(sh + 1) + i * logbytes);
	for (i = 0; i < NCONS; i++) {
		wc[i] = (struct worker){ name, sh, msgs, i };
		pids[NPROD + i] = tu_spawn(consume, &wc[i]);
	}
	for (i = 0; i < NPROD; i++) {
		wp[i] = (struct worker){ name, sh, msgs, i };
		pids[i] = tu_spawn(produce, &wp[i]);
	}
	for (i = 0; i < NPROD + NCONS; i++)
		assert_int_equal(tu_wait(pids[i]), 0);
	for (i = 0; i < NPROD; i++)
		sent[i] = msgs;
	for (i = 0; i < NCONS; i++)
		logs[i] = sh->logs[i];
	if (tu_mpmc_check_logs(logs, sh->counts, NCONS, sent, NPROD, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(shmbus_mpmc_open(&h, name, SHMBUS_MPMC_CONSUMER), 0);
	shmbus_mpmc_stats(h, &st);
	assert_int_equal(st.msgs_in, msgs * NPROD);
	assert_int_equal(st.msgs_out, msgs * NPROD);
	assert_int_equal(st.bytes_in, st.bytes_out);
	assert_int_equal(st.lost, 0);
	assert_int_equal(st.recovered, 0);
	assert_int_equal(st.occupancy, 0);
	printf("# %u slots: %llu msgs, full_waits %llu, empty_waits %llu, wakes %llu\n", slots,
	       (unsigned long long)st.msgs_out, (unsigned long long)st.full_waits,
	       (unsigned long long)st.empty_waits, (unsigned long long)st.wakes);
	shmbus_mpmc_close(h);
	munmap(sh, sizeof(*sh) + NCONS * logbytes);
}

static uint64_t msgs_per_producer(void)
{
	const char *env = getenv("SHMBUS_MPMC_MSGS");

	if (env && *env)
		return strtoull(env, NULL, 10);
	return tu_sanitized() ? 5000 : 50000;
}

static void test_4x4_small_ring(void **state)
{
	(void)state;
	run_stream(8, msgs_per_producer());
}

static void test_4x4_large_ring(void **state)
{
	(void)state;
	run_stream(1024, msgs_per_producer());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_4x4_small_ring, tu_teardown),
		cmocka_unit_test_teardown(test_4x4_large_ring, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
