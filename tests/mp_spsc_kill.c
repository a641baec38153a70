/*
 * mp_spsc_kill.c - a side killed with SIGKILL mid-stream.
 *
 * Producer killed (again and again, at random moments: in the middle of
 * writing a reserved message, between a burst reservation and its commit,
 * asleep on a full ring): the consumer gets every committed message, intact
 * and in order, and nothing of the uncommitted ones; the ring is drained
 * up to head (so nothing committed is missing); a new producer takes the
 * role over and the stream goes on.
 *
 * Consumer killed: the next consumer starts at the message the dead one was
 * holding (peeked, not released) or right after the last it released:
 * at-least-once, never a gap.
 *
 * SHMBUS_TORTURE_SECONDS: each of the two kill tests runs for half that
 * time, then the common torture summary line is printed.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "spsc/spsc_internal.h"
#include "tu_spsc.h"
#include "testutil.h"

/* Messages here are >= 16 bytes, so each carries its sequence number. */
static size_t klen(uint64_t n)
{
	return 16 + tu_spsc_len(n, 200);
}

static void nap_ms(unsigned ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	nanosleep(&t, NULL);
}

/* Write message @n slowly, so that a kill often lands in the middle. */
static void slow_fill(unsigned char *dst, uint64_t n)
{
	unsigned char tmp[256];
	size_t len = klen(n), i;

	tu_spsc_fill(tmp, n, len);
	for (i = 0; i < len; i++) {
		dst[i] = tmp[i];
		if (i == len / 2 && n % 8 == 0)
			sched_yield();
	}
}

struct prod_arg {
	const char *name;
	uint64_t start, stop; /* stop: UINT64_MAX = until killed */
};

static int producer(void *arg)
{
	struct prod_arg *a = arg;
	struct shmbus_spsc_buf bufs[4];
	struct shmbus_spsc *q;
	uint64_t n = a->start, i;
	void *w;
	int rc;

	rc = shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER);
	if (rc)
		return tu_spsc_fail("producer", "open (takeover)", n, rc);
	shmbus_spsc_set_spin(q, 50);
	while (n < a->stop) {
		if (n % 5 == 4) {
			unsigned want = a->stop - n < 4 ? (unsigned)(a->stop - n) : 4;

			for (i = 0; i < want; i++)
				bufs[i].len = klen(n + i);
			rc = shmbus_spsc_reserve_burst(q, bufs, want, 30000);
			if (rc < 0)
				return tu_spsc_fail("producer", "reserve_burst", n, rc);
			for (i = 0; i < (uint64_t)rc; i++)
				slow_fill(bufs[i].data, n + i);
			if (shmbus_spsc_commit_bulk(q, bufs, (unsigned)rc))
				return tu_spsc_fail("producer", "commit_bulk", n, rc);
			n += (uint64_t)rc;
			continue;
		}
		rc = shmbus_spsc_reserve(q, klen(n) + 30, &w, 30000);
		if (rc)
			return tu_spsc_fail("producer", "reserve", n, rc);
		slow_fill(w, n);
		rc = shmbus_spsc_commit(q, klen(n));
		if (rc)
			return tu_spsc_fail("producer", "commit", n, rc);
		n++;
	}
	shmbus_spsc_close(q);
	return 0;
}

/* Take one message (waiting up to @ms); check it is message *@next. */
static int take(struct shmbus_spsc *q, uint64_t *next, int ms)
{
	const void *d;
	size_t len;
	int rc = shmbus_spsc_peek(q, &d, &len, ms);

	if (rc)
		return rc;
	assert_true(tu_spsc_check(d, len, *next, 0));
	assert_int_equal(len, klen(*next));
	assert_int_equal(shmbus_spsc_release(q), 0);
	(*next)++;
	return 0;
}

/* The summary of both kill tests (the common torture line). */
static struct tu_torture sum;

/* Half the torture time, in ms, for each kill test (0: CI mode). */
static uint64_t half_ms(void)
{
	return (uint64_t)tu_torture_seconds() * 500;
}

static void test_producer_killed(void **state)
{
	const char *name = tu_name("pk");
	unsigned rounds = tu_sanitized() ? 6 : 25, r;
	struct shmbus_spsc_stats st;
	struct shmbus_spsc *c;
	struct prod_arg a = { .name = name };
	uint64_t next = 0, rnd = 99, t0 = tu_now_ms(), t_kill = 0;
	pid_t pid;
	int rc;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 2048, 0), 0);
	assert_int_equal(shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER), 0);
	shmbus_spsc_set_spin(c, 50);
	for (r = 0; half_ms() ? tu_now_ms() - t0 < half_ms() : r < rounds; r++) {
		struct timespec until;

		a.start = next;
		a.stop = UINT64_MAX;
		pid = tu_spawn(producer, &a);
		/* consume for a while (sometimes not at all: the producer
		 * then sleeps on a full ring when it is killed) */
		rnd = tu_spsc_mix(rnd);
		deadline_after((int)(rnd % 40), &until);
		while (r % 4 != 3 && !deadline_passed(&until)) {
			rc = take(c, &next, 5);
			assert_true(rc == 0 || rc == -ETIMEDOUT);
			/* stall: the last kill until the new producer's first
			 * message */
			if (rc == 0 && t_kill) {
				tu_torture_stall(&sum, tu_now_ms() - t_kill);
				t_kill = 0;
			}
		}
		if (r % 4 == 3)
			nap_ms(20);
		assert_int_equal(kill(pid, SIGKILL), 0);
		t_kill = r % 4 == 2 ? 0 : tu_now_ms(); /* the next round takes */
		assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
		/* drain: everything committed is there, in order, intact */
		while (take(c, &next, 0) == 0)
			;
		assert_int_equal(shmbus_spsc_stats(c, &st), 0);
		assert_int_equal(st.used, 0); /* drained up to head */
		assert_false(st.producer_alive);
		assert_false(st.corrupt);
	}
	/* a last producer finishes normally */
	a.start = next;
	a.stop = next + 1000;
	pid = tu_spawn(producer, &a);
	while (next < a.stop)
		assert_int_equal(take(c, &next, 30000), 0);
	assert_int_equal(tu_wait(pid), 0);
	assert_int_equal(take(c, &next, 0), -ETIMEDOUT);
	print_message("%u producers killed, %llu messages received\n", r,
		      (unsigned long long)next);
	assert_true(next > 1000 + r);
	/* Every committed message arrived once, in order (take() checks each
	 * is the next): nothing lost (an SPSC ring loses nothing), no
	 * duplicate. */
	sum.rounds += r;
	sum.kills += r;
	sum.messages += next;
	shmbus_spsc_close(c);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

struct cons_ctl {
	_Atomic uint64_t first; /* first message this consumer got */
	_Atomic uint64_t seen;  /* last message it checked (before release) */
	_Atomic uint64_t first_ms; /* tu_now_ms() when it got its first */
	_Atomic uint64_t released; /* messages released so far (all consumers) */
	_Atomic int got_first;
};

struct cons_arg {
	const char *name;
	uint64_t total;
	struct cons_ctl *ctl;
};

static int consumer(void *arg)
{
	struct cons_arg *a = arg;
	struct shmbus_spsc *q;
	uint64_t n = 0, v;
	const void *d;
	size_t len;
	int rc;

	rc = shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_CONSUMER);
	if (rc)
		return tu_spsc_fail("consumer", "open (takeover)", 0, rc);
	shmbus_spsc_set_spin(q, 50);
	for (;;) {
		rc = shmbus_spsc_peek(q, &d, &len, 30000);
		if (rc)
			return tu_spsc_fail("consumer", "peek", n, rc);
		if (len < 16)
			return tu_spsc_fail("consumer", "short message", n, 0);
		memcpy(&v, d, 8);
		if (!atomic_load(&a->ctl->got_first)) {
			n = v;
			atomic_store(&a->ctl->first, v);
			atomic_store(&a->ctl->first_ms, tu_now_ms());
			atomic_store(&a->ctl->got_first, 1);
		}
		if (v != n || len != klen(n) || !tu_spsc_check(d, len, n, 0))
			return tu_spsc_fail("consumer", "bad message", n, 0);
		atomic_store(&a->ctl->seen, n);
		if (n % 16 == 0)
			sched_yield(); /* widen the window between peek and release */
		rc = shmbus_spsc_release(q);
		if (rc)
			return tu_spsc_fail("consumer", "release", n, rc);
		/* after the release: a kill in between makes it lag, never
		 * lead (so it shows no false duplicate) */
		atomic_store(&a->ctl->released, n + 1);
		if (++n == a->total)
			break;
	}
	shmbus_spsc_close(q);
	return 0;
}

/* One stream of messages through consumers killed 40 times. */
static void consumer_killed_once(void)
{
	const char *name = tu_name("ck");
	struct prod_arg pa = { .name = name, .start = 0 };
	struct cons_arg ca = { .name = name };
	uint64_t rnd = 7, prev_seen = 0;
	unsigned kills = 0, redelivered = 0;
	bool any_seen = false;
	pid_t prod, cons;
	uint64_t t_kill = 0, t_this, released;
	int st;

	ca.total = pa.stop = tu_sanitized() ? 40000 : 300000;
	ca.ctl = mmap(NULL, sizeof(*ca.ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	assert_true(ca.ctl != MAP_FAILED);
	assert_int_equal(shmbus_spsc_create(name, 4096, 0), 0);
	prod = tu_spawn(producer, &pa);
	for (;;) {
		atomic_store(&ca.ctl->got_first, 0);
		atomic_store(&ca.ctl->first_ms, 0);
		t_this = 0;
		released = atomic_load(&ca.ctl->released); /* by the ones before */
		cons = tu_spawn(consumer, &ca);
		rnd = tu_spsc_mix(rnd);
		if (kills < 40) {
			nap_ms(2 + (unsigned)(rnd % 20));
			kill(cons, SIGKILL);
			t_this = tu_now_ms();
		}
		st = tu_wait(cons);
		assert_true(st == 0 || st == 1000 + SIGKILL);
		if (atomic_load(&ca.ctl->got_first)) {
			uint64_t first = atomic_load(&ca.ctl->first);

			/* no gap: it starts at the message the dead one held,
			 * or right after the last one it released */
			if (any_seen) {
				assert_true(first == prev_seen || first == prev_seen + 1);
				redelivered += first == prev_seen;
				/* a released message delivered again */
				sum.duplicates += first < released;
			} else {
				assert_int_equal(first, 0);
			}
			/* stall: the last kill until the next consumer's
			 * first message (first_ms: when it got it) */
			if (t_kill && atomic_load(&ca.ctl->first_ms) > t_kill)
				tu_torture_stall(&sum, atomic_load(&ca.ctl->first_ms) - t_kill);
			prev_seen = atomic_load(&ca.ctl->seen);
			t_kill = 0;
			any_seen = true;
		}
		t_kill = t_this ? t_this : t_kill;
		if (st == 0)
			break;
		kills++;
	}
	assert_int_equal(prev_seen, ca.total - 1);
	assert_int_equal(tu_wait(prod), 0);
	print_message("%u consumers killed, %u messages delivered again\n", kills, redelivered);
	/* A message delivered again must be one the dead consumer held
	 * unreleased (at-least-once), never one it released. */
	assert_int_equal(sum.duplicates, 0);
	sum.rounds++;
	sum.kills += kills;
	sum.messages += ca.total;
	munmap(ca.ctl, sizeof(*ca.ctl));
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_consumer_killed(void **state)
{
	const uint64_t t0 = tu_now_ms();

	(void)state;
	do
		consumer_killed_once();
	while (tu_now_ms() - t0 < half_ms());
	tu_torture_print("spsc", &sum);
}

/* ------------------------------------------------------------------------
 * A role taken over while the other side sleeps: the new owner (a process
 * that registered for membarrier only after the sleeper went to sleep) must
 * wake it.  A lost wake-up shows as -ETIMEDOUT after 30 s.
 */

struct sleep_arg {
	const char *name;
};

/* Wait (bounded) until @q counts someone asleep on it. */
static void wait_asleep(struct waitq *q)
{
	int i;

	for (i = 0; i < 20000 && !waitq_has_waiters(q); i++)
		nap_ms(1);
	assert_true(waitq_has_waiters(q));
	nap_ms(20); /* past the re-check, into the futex */
}

/* Open a role and sit there until killed. */
static int hold_producer(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER))
		return 1;
	for (;;)
		pause();
}

static int hold_consumer(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_CONSUMER))
		return 1;
	for (;;)
		pause();
}

/* Consumer that sleeps (no spinning) until one message comes. */
static int sleepy_consumer(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;
	unsigned char buf[64];
	int rc;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_CONSUMER))
		return 1;
	shmbus_spsc_set_spin(q, 0);
	rc = shmbus_spsc_pop(q, buf, sizeof(buf), 30000);
	if (rc == -ETIMEDOUT)
		return 2; /* lost wake-up */
	if (rc != 40 || !tu_spsc_check(buf, 40, 1, 0))
		return 3;
	shmbus_spsc_close(q);
	return 0;
}

static int push_one(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;
	unsigned char buf[40];

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER))
		return 1;
	tu_spsc_fill(buf, 1, 40);
	if (shmbus_spsc_push_try(q, buf, 40))
		return 2;
	shmbus_spsc_close(q);
	return 0;
}

/* Producer that fills the ring, then sleeps (no spinning) in one more push. */
static int sleepy_producer(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;
	unsigned char buf[40] = { 0 };
	int rc;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER))
		return 1;
	shmbus_spsc_set_spin(q, 0);
	while (shmbus_spsc_push_try(q, buf, 40) == 0)
		;
	rc = shmbus_spsc_push(q, buf, 40, 30000);
	if (rc == -ETIMEDOUT)
		return 2; /* lost wake-up */
	if (rc)
		return 3;
	shmbus_spsc_close(q);
	return 0;
}

static int pop_one(void *arg)
{
	struct sleep_arg *a = arg;
	struct shmbus_spsc *q;
	unsigned char buf[64];

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_CONSUMER))
		return 1;
	if (shmbus_spsc_pop_try(q, buf, sizeof(buf)) != 40)
		return 2;
	shmbus_spsc_close(q);
	return 0;
}

/* The shared part of ring @name, mapped here to watch the sleepers. */
static struct spsc_shared *map_ring(const char *name, struct shmbus_block **b)
{
	void *data;

	assert_int_equal(shmbus_block_attach(b, name, 0), 0);
	assert_int_equal(shmbus_block_data(*b, &data), 0);
	return data;
}

static void test_producer_replaced_while_consumer_sleeps(void **state)
{
	struct sleep_arg a = { .name = tu_name("zp") };
	struct spsc_shared *sh;
	struct shmbus_block *b;
	pid_t old, cons;

	(void)state;
	assert_int_equal(shmbus_spsc_create(a.name, 1024, 0), 0);
	sh = map_ring(a.name, &b);
	old = tu_spawn(hold_producer, &a);
	cons = tu_spawn(sleepy_consumer, &a);
	wait_asleep(&sh->data_wq);
	assert_int_equal(kill(old, SIGKILL), 0);
	assert_int_equal(tu_wait(old), 1000 + SIGKILL);
	/* the consumer still sleeps; a new process takes the role and sends */
	assert_int_equal(tu_wait(tu_spawn(push_one, &a)), 0);
	assert_int_equal(tu_wait(cons), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(a.name), 0);
}

static void test_consumer_replaced_while_producer_sleeps(void **state)
{
	struct sleep_arg a = { .name = tu_name("zc") };
	struct spsc_shared *sh;
	struct shmbus_block *b;
	pid_t old, prod;

	(void)state;
	assert_int_equal(shmbus_spsc_create(a.name, 1024, 0), 0);
	sh = map_ring(a.name, &b);
	old = tu_spawn(hold_consumer, &a);
	prod = tu_spawn(sleepy_producer, &a);
	wait_asleep(&sh->space_wq);
	assert_int_equal(kill(old, SIGKILL), 0);
	assert_int_equal(tu_wait(old), 1000 + SIGKILL);
	assert_int_equal(tu_wait(tu_spawn(pop_one, &a)), 0);
	assert_int_equal(tu_wait(prod), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(a.name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_producer_killed, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_killed, tu_teardown),
		cmocka_unit_test_teardown(test_producer_replaced_while_consumer_sleeps, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_replaced_while_producer_sleeps, tu_teardown),
	};

	/* scripts/torture.sh: only the kill torture */
	if (tu_torture_seconds())
		cmocka_set_test_filter("test_*_killed");
	return cmocka_run_group_tests_name("mp_spsc_kill", tests, NULL, NULL);
}
