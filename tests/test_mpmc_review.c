/*
 * test_mpmc_review.c - regression tests for what the second review of the
 * mpmc ring found: each case here failed before its fix.
 *  - a peer that changes a held message's length between the consumer's
 *    check and its copy must not make pop write past the caller's buffer;
 *  - a waiter that cannot read /proc (out of file descriptors) must not take
 *    a live owner for dead and rob its slot;
 *  - a consumer killed while asleep stops counting as a waiter (else every
 *    later commit pays a futex wake-up system call, for ever);
 *  - inspect calls a slot word invalid exactly when the ring refuses it.
 * And what the leaner busy path (hints moved once every K claims, I5 in
 * mpmc_ring.c) must keep: a claimer whose private cursor is laps stale
 * finds its slot; a waiter whose hint lags still sleeps (does not spin);
 * stats and inspect still show the positions the sides reached.
 * And what the blind claim (C3 in mpmc_ring.c: a consumer that messages
 * flow to CASes without loading first, guessing the publisher) must keep:
 * a wrong guess costs a retry, not a message; every corrupt word is
 * refused as on the loading path; an empty ring turns it off.
 * And where fetch-ahead (mpmc_ring.c) is on: slots of at most 304 bytes, in
 * rings of 16 slots or more, on CPUs that prefetch for writing; a stream
 * through such a ring arrives whole and in order.
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
#include "test_mpmc_unit.h"

/* --- a length changed under the consumer -------------------------------- */

/* The test hook plays the hostile peer: once the consumer has claimed the
 * message, the slot's length grows (still <= slot_size). */
static void grow_len_hook(enum mpmc_hook_point point, struct shmbus_mpmc *h)
{
	if (point == MPMC_HOOK_TAKEN)
		atomic_store(&mpmc_slot_at(h, 0)->len, 48);
}

struct guarded {
	char buf[8];
	unsigned char canary[64];
};

static void test_len_grows_after_check(void **state)
{
	const char *name = make_ring("growlen", 4, 64, 0, 0);
	struct shmbus_mpmc *p = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	struct guarded g;
	unsigned char ff[sizeof(g.canary)];
	void *bufs[1] = { g.buf };
	size_t lens[1];
	int i;

	(void)state;
	memset(ff, 0x5a, sizeof(ff));
	for (i = 0; i < 2; i++) {
		memset(&g, 0x5a, sizeof(g));
		assert_int_equal(shmbus_mpmc_push_try(p, "four", 4), 0);
		atomic_store(&mpmc_test_hook, grow_len_hook);
		if (i == 0)
			assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)),
					 -SHMBUS_ECORRUPT);
		else
			assert_int_equal(shmbus_mpmc_pop_burst_try(c, bufs, sizeof(g.buf), lens, 1),
					 -SHMBUS_ECORRUPT);
		atomic_store(&mpmc_test_hook, NULL);
		/* Nothing written past the 8 bytes the caller gave. */
		assert_memory_equal(g.canary, ff, sizeof(g.canary));
		/* The message is dropped and counted, the ring goes on. */
		assert_int_equal(stats_of(c).lost, (uint64_t)i + 1);
		/* Next lap: slot 0 again for the next message. */
		assert_int_equal(shmbus_mpmc_push_try(p, "x", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "y", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "z", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
	}
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* --- a waiter out of file descriptors ----------------------------------- */

/* A producer that reserves a slot, says so on @fd, and lives on. */
static int slow_producer(void *arg)
{
	const char *name = ((const char **)arg)[0];
	int fd = (int)(intptr_t)((const char **)arg)[1];
	struct shmbus_mpmc *h;
	void *w;

	/* Never outlive a test that failed before it could kill us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	if (shmbus_mpmc_open(&h, name, SHMBUS_MPMC_PRODUCER))
		return 2;
	if (shmbus_mpmc_reserve_try(h, 4, &w))
		return 3;
	if (write(fd, "r", 1) != 1)
		return 4;
	for (;;)
		pause();
}

static void test_no_fds_no_robbery(void **state)
{
	const char *name = make_ring("nofds", 4, 8, 20, 8);
	const void *arg[2];
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	struct mpmc_slot *s0 = mpmc_slot_at(c, 0);
	struct rlimit old, low;
	uint64_t w;
	char buf[8], r;
	int fds[2], lowest;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	arg[0] = name;
	arg[1] = (const void *)(intptr_t)fds[1];
	pid = tu_spawn(slow_producer, arg);
	assert_int_equal(read(fds[0], &r, 1), 1);
	w = atomic_load(&s0->word);
	assert_int_equal(mpmc_word_state(w), MPMC_WRITING);
	/* No descriptor left for this process: /proc cannot be read. */
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Many liveness timeouts stuck on the live producer's slot. */
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 200), -ETIMEDOUT);
	assert_int_equal(shmbus_mpmc_recover(c), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Its slot is still its own; nothing lost, nobody recovered. */
	assert_int_equal(atomic_load(&s0->word), w);
	assert_int_equal(stats_of(c).lost, 0);
	assert_int_equal(stats_of(c).recovered, 0);
	/* Once it is really dead, the slot is recovered. */
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(shmbus_mpmc_recover(c), 1);
	assert_int_equal(stats_of(c).lost, 1);
	close(fds[0]);
	close(fds[1]);
	shmbus_mpmc_close(c);
}

/* --- a sleeper killed -------------------------------------------------- */

static int sleeping_consumer(void *arg)
{
	const char *name = arg;
	struct shmbus_mpmc *h;
	char buf[8];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	if (shmbus_mpmc_open(&h, name, SHMBUS_MPMC_CONSUMER))
		return 2;
	shmbus_mpmc_set_yields(h, 0);
	for (;;) {
		if (shmbus_mpmc_pop(h, buf, sizeof(buf), -1) < 0)
			return 3;
	}
}

static uint32_t waiters_of(struct waitq *q)
{
	return waitq_word_waiters(atomic_load(&q->word));
}

/* Start a consumer, let it fall asleep on the empty ring, kill it. */
static void kill_asleep(const char *name, struct shmbus_mpmc *p)
{
	struct waitq *q = &p->ctl->not_empty.q;
	pid_t pid = tu_spawn(sleeping_consumer, (void *)name);
	int i;

	for (i = 0; i < 20000 && waiters_of(q) != 1; i++)
		usleep(500);
	assert_int_equal(waiters_of(q), 1);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(waiters_of(q), 1); /* dead, still counted */
}

static void test_dead_sleeper_forgotten(void **state)
{
	const char *name = make_ring("deadsleep", 8, 8, 20, 8);
	struct shmbus_mpmc *p = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct waitq *q = &p->ctl->not_empty.q;
	struct shmbus_mpmc *c;
	uint64_t wakes, recovered;
	char buf[8];
	int i;

	(void)state;
	/* The busy path: the first wake takes the dead sleeper out of the
	 * count, with one system call, and no later commit makes one. */
	kill_asleep(name, p);
	c = open_as(name, SHMBUS_MPMC_CONSUMER);
	wakes = stats_of(p).wakes;
	assert_int_equal(shmbus_mpmc_push_try(p, "m", 1), 0);
	assert_int_equal(waiters_of(q), 0);
	assert_int_equal(stats_of(p).wakes, wakes + 1);
	for (i = 0; i < 100; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "m", 1), 0);
	}
	assert_int_equal(stats_of(p).wakes, wakes + 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_true(shmbus_mpmc_recover(p) >= 0); /* settles the first one's entry */
	recovered = stats_of(p).recovered;
	/* The explicit sweep recovers a dead sleeper's entry, and its count,
	 * at once. */
	shmbus_mpmc_close(c);
	kill_asleep(name, p);
	assert_int_equal(shmbus_mpmc_recover(p), 0); /* no claim recovered */
	assert_int_equal(waiters_of(q), 0);
	assert_int_equal(stats_of(p).recovered, recovered + 1);
	shmbus_mpmc_close(p);
}

/* --- inspect and the ring agree on what is corrupt ---------------------- */

static void test_inspect_invalid_empty(void **state)
{
	const char *name = make_ring("emptyowner", 4, 8, 0, 8);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_snapshot *snap;
	const void *d;
	size_t len;
	char *json;

	(void)state;
	/* EMPTY naming an owner: no transition makes it. */
	atomic_store(&mpmc_slot_at(c, 0)->word, mpmc_word(0, 3, MPMC_EMPTY));
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(strstr(json, "\"invalid\":1"));
	assert_non_null(strstr(json, "\"corrupt\":true"));
	free(json);
	shmbus_snapshot_free(snap);
	atomic_store(&mpmc_slot_at(c, 0)->word, 0);
	shmbus_mpmc_close(c);
}

/* --- hints that lag ------------------------------------------------------ */

static void test_stale_cursor(void **state)
{
	const char *name = make_ring("stale", 8, 8, 0, 0);
	struct shmbus_mpmc *a = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *b = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
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
	st = stats_of(c);
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
	const char *name = make_ring("lagsleep", 64, 8, 60000, 0);
	struct shmbus_mpmc *p = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct sleeper s = { .c = open_as(name, SHMBUS_MPMC_CONSUMER) };
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

/* --- the consumer's blind claim ------------------------------------------ */

static void test_blind_claims(void **state)
{
	const char *name = make_ring("blind", 8, 8, 0, 3);
	struct shmbus_mpmc *p1 = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *p2 = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	const uint64_t bad[] = {
		7,                                   /* no such state */
		mpmc_word(0, 100, MPMC_FULL),        /* owner outside the table */
		mpmc_word(12345, 0, MPMC_FULL),      /* a lap from far away */
	};
	struct mpmc_slot *s6 = mpmc_slot_at(c, 6);
	char buf[8];
	uint64_t good;
	unsigned i;

	(void)state;
	/* Alternating producers: after the first few, every guess of the
	 * publisher is wrong; the order must come out exact. */
	for (i = 0; i < 6; i++) {
		char m[2] = { (char)('a' + i), 0 };

		assert_int_equal(shmbus_mpmc_push_try(i % 2 ? p2 : p1, m, 2), 0);
	}
	for (i = 0; i < 6; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
		assert_int_equal(buf[0], 'a' + (int)i);
	}
	/* Messages flow and any message fits: the blind path from here on. */
	assert_true(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_push_try(p1, "g", 1), 0);
	good = atomic_load(&s6->word);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(&s6->word, bad[i]);
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
		assert_int_equal(atomic_load(&s6->word), bad[i]); /* not claimed */
	}
	atomic_store(&s6->word, good);
	assert_true(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'g');
	/* A length the slot cannot hold: taken, dropped, counted. */
	assert_int_equal(shmbus_mpmc_push_try(p2, "h", 1), 0);
	assert_int_equal(shmbus_mpmc_push_try(p2, "i", 1), 0);
	atomic_store(&mpmc_slot_at(c, 7)->len, 1000);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	assert_int_equal(stats_of(c).lost, 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'i');
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	/* An empty ring ends the run: a consumer polling with pop_try, or in
	 * a ping-pong, loads before it claims (a blind CAS there would take
	 * the line from the producer about to write it). */
	assert_false(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_push_try(p1, "j", 1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_false(mpmc_flowing(c));
	shmbus_mpmc_close(p1);
	shmbus_mpmc_close(p2);
	shmbus_mpmc_close(c);
}

/* --- fetch-ahead ------------------------------------------------------- */

static uint32_t stride_of(uint32_t slot_size)
{
	struct mpmc_layout l;

	assert_int_equal(mpmc_layout(64, slot_size, 2, &l), 0);
	return l.slot_stride;
}

static void test_fetch_ahead(void **state)
{
	bool w = relax_have_prefetch_w();
	const char *name = make_ring("ahead", 64, 304, 0, 0);
	struct shmbus_mpmc *p = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	char msg[304], got[304];
	uint32_t i;

	(void)state;
	/* The policy: the limit is on the stride (head + payload, rounded
	 * up to 64), so 304 bytes is the largest slot_size it covers. */
	assert_int_equal(stride_of(304), mpmc_knobs.ahead_stride_max);
	assert_true(stride_of(305) > mpmc_knobs.ahead_stride_max);
	assert_int_equal(mpmc_ahead(1024, stride_of(64), true), mpmc_knobs.ahead);
	assert_int_equal(mpmc_ahead(16, stride_of(304), true), mpmc_knobs.ahead);
	assert_int_equal(mpmc_ahead(1024, stride_of(305), true), 0);
	assert_int_equal(mpmc_ahead(8, stride_of(64), true), 0);
	assert_int_equal(mpmc_ahead(1024, stride_of(64), false), 0);
	/* What a handle gets. */
	assert_int_equal(p->ahead, w ? mpmc_knobs.ahead : 0);
	assert_int_equal(c->ahead, w ? mpmc_knobs.ahead : 0);
	/* Streams whole and in order, around the ring several times, with
	 * both sides fetching ahead (the ring never empties for long: each
	 * side runs while messages flow). */
	for (i = 0; i < 64 * 20; i++) {
		memset(msg, (int)(i & 0xff), sizeof(msg));
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(shmbus_mpmc_push_try(p, msg, sizeof(msg) - i % 7), 0);
		if (i >= 32) {
			uint32_t j = i - 32, seq;

			assert_int_equal(shmbus_mpmc_pop_try(c, got, sizeof(got)),
					 (int)(sizeof(got) - j % 7));
			memcpy(&seq, got, sizeof(seq));
			assert_int_equal(seq, j);
			assert_int_equal((unsigned char)got[100], j & 0xff);
		}
	}
	assert_true(mpmc_flowing(p) && mpmc_flowing(c));
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_len_grows_after_check, tu_teardown),
		cmocka_unit_test_teardown(test_no_fds_no_robbery, tu_teardown),
		cmocka_unit_test_teardown(test_dead_sleeper_forgotten, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_invalid_empty, tu_teardown),
		cmocka_unit_test_teardown(test_stale_cursor, tu_teardown),
		cmocka_unit_test_teardown(test_sleeps_behind_lagging_hint, tu_teardown),
		cmocka_unit_test_teardown(test_blind_claims, tu_teardown),
		cmocka_unit_test_teardown(test_fetch_ahead, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
