/*
 * test_spsc_eos.c - end of stream on the SPSC ring, in one process: close
 * then drain then -SHMBUS_EEOS from every consumer call (repeatably), a
 * close on an empty ring, -EPIPE from every producer call after it, a
 * blocking consumer asleep when the stream closes (woken, also with the
 * wake-up protocol on its fallbacks), explicit reopen, a new producer
 * taking over a closed ring (it does not reopen), roles (-EPERM), stats
 * and inspection ("eos"), and a close racing the consumer's last look at an
 * empty ring (meant for TSan too: no message committed before the close may
 * be lost behind the end).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "spsc/spsc_internal.h"
#include "tu_spsc.h"
#include "testutil.h"

struct pair {
	struct shmbus_spsc *p, *c;
	const char *name;
};

static void pair_open(struct pair *x, const char *what, size_t cap)
{
	x->name = tu_name(what);
	assert_int_equal(shmbus_spsc_create(x->name, cap, 0), 0);
	assert_int_equal(shmbus_spsc_open(&x->p, x->name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_open(&x->c, x->name, SHMBUS_SPSC_CONSUMER), 0);
}

static void pair_close(struct pair *x)
{
	shmbus_spsc_close(x->p);
	shmbus_spsc_close(x->c);
	assert_int_equal(shmbus_block_unlink(x->name), 0);
}

static void push_n(struct shmbus_spsc *p, uint64_t first, unsigned n)
{
	unsigned char buf[64];
	unsigned i;

	for (i = 0; i < n; i++) {
		tu_spsc_fill(buf, first + i, 40);
		assert_int_equal(shmbus_spsc_push_try(p, buf, 40), 0);
	}
}

static void pop_n(struct shmbus_spsc *c, uint64_t first, unsigned n)
{
	unsigned char buf[64];
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_int_equal(shmbus_spsc_pop_try(c, buf, sizeof(buf)), 40);
		assert_true(tu_spsc_check(buf, 40, first + i, 0));
	}
}

/* Every consumer call that takes a message says end of stream, and the
 * release calls say there is nothing. */
static void assert_eos(struct shmbus_spsc *c)
{
	struct shmbus_spsc_msg msgs[4];
	unsigned char buf[64];
	const void *d;
	size_t len;
	int round;

	for (round = 0; round < 2; round++) {
		assert_int_equal(shmbus_spsc_peek_try(c, &d, &len), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_peek(c, &d, &len, -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_peek(c, &d, &len, 0), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_pop_try(c, buf, sizeof(buf)), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_pop(c, buf, sizeof(buf), -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_peek_burst_try(c, msgs, 4), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_peek_burst(c, msgs, 4, -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_spsc_release(c), -EAGAIN);
		assert_int_equal(shmbus_spsc_release_burst(c, 4), -EAGAIN);
	}
}

/* Every producer call that would add a message says the pipe is closed. */
static void assert_epipe(struct shmbus_spsc *p)
{
	struct shmbus_spsc_buf bufs[2] = { { .len = 8 }, { .len = 8 } };
	unsigned char buf[8] = { 0 };
	void *w;

	assert_int_equal(shmbus_spsc_push_try(p, buf, 8), -EPIPE);
	assert_int_equal(shmbus_spsc_push(p, buf, 8, -1), -EPIPE);
	assert_int_equal(shmbus_spsc_reserve_try(p, 8, &w), -EPIPE);
	assert_int_equal(shmbus_spsc_reserve(p, 8, &w, -1), -EPIPE);
	assert_int_equal(shmbus_spsc_reserve_burst_try(p, bufs, 2), -EPIPE);
	assert_int_equal(shmbus_spsc_reserve_burst(p, bufs, 2, -1), -EPIPE);
	assert_int_equal(shmbus_spsc_commit(p, 0), -EPIPE);
	assert_int_equal(shmbus_spsc_commit_bulk(p, NULL, 1), -EPIPE);
}

static bool closed_in_stats(struct shmbus_spsc *q)
{
	struct shmbus_spsc_stats st;

	assert_int_equal(shmbus_spsc_stats(q, &st), 0);
	return st.closed;
}

static void test_close_drain_eos(void **state)
{
	struct shmbus_spsc_msg msgs[4];
	unsigned char buf[64];
	const void *d, *d2;
	size_t len, len2;
	struct pair x;
	void *w;

	(void)state;
	/* 256 bytes: 48-byte records, so the second after the first four pads
	 * the end of the ring */
	pair_open(&x, "drain", 256);
	push_n(x.p, 0, 4);
	pop_n(x.c, 0, 4);
	push_n(x.p, 4, 4);
	/* a reservation not committed when the stream closes is dropped */
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 16, &w), 0);
	assert_false(closed_in_stats(x.c));
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0); /* idempotent */
	assert_true(closed_in_stats(x.c));
	assert_true(closed_in_stats(x.p));
	assert_epipe(x.p);

	/* every message committed before the close, by every call form */
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_true(tu_spsc_check(d, len, 4, 0));
	assert_int_equal(shmbus_spsc_peek(x.c, &d2, &len2, -1), 0);
	assert_ptr_equal(d2, d);
	assert_int_equal(len2, len);
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	assert_int_equal(shmbus_spsc_pop(x.c, buf, sizeof(buf), -1), 40);
	assert_true(tu_spsc_check(buf, 40, 5, 0));
	/* the burst stops at the last message, not at the end of stream */
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 4), 2);
	assert_true(tu_spsc_check(msgs[1].data, msgs[1].len, 7, 0));
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), 1);
	assert_int_equal(shmbus_spsc_peek_burst(x.c, msgs, 4, -1), 1);
	assert_true(tu_spsc_check(msgs[0].data, msgs[0].len, 7, 0));
	/* still there until released */
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), 1);
	assert_eos(x.c);
	assert_eos(x.c);
	assert_epipe(x.p);
	pair_close(&x);
}

/* The inspection document's "eos". */
static bool closed_in_inspect(const char *name)
{
	struct shmbus_snapshot *snap;
	json_error_t jerr;
	json_t *doc, *eos;
	char *text;
	bool v;

	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	text = shmbus_snapshot_json(snap, 0);
	shmbus_snapshot_free(snap);
	assert_non_null(text);
	assert_int_equal(tu_schema_check("inspect.schema.json", text), 0);
	doc = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(doc);
	eos = json_object_get(json_object_get(doc, "ring"), "eos");
	assert_true(json_is_boolean(eos));
	v = json_is_true(eos);
	json_decref(doc);
	return v;
}

static void test_close_empty(void **state)
{
	struct pair x;

	(void)state;
	pair_open(&x, "empty", 1024);
	assert_false(closed_in_inspect(x.name));
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	assert_true(closed_in_inspect(x.name));
	assert_eos(x.c);
	assert_epipe(x.p);
	assert_int_equal(shmbus_spsc_reopen_stream(x.p), 0);
	assert_false(closed_in_inspect(x.name));
	pair_close(&x);
}

static void test_roles(void **state)
{
	const void *d;
	size_t len;
	struct pair x;

	(void)state;
	pair_open(&x, "roles", 1024);
	assert_int_equal(shmbus_spsc_close_stream(x.c), -EPERM);
	assert_int_equal(shmbus_spsc_reopen_stream(x.c), -EPERM);
	assert_int_equal(shmbus_spsc_close_stream(NULL), -EINVAL);
	assert_int_equal(shmbus_spsc_reopen_stream(NULL), -EINVAL);
	assert_false(closed_in_stats(x.p));
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	/* a consumer call on the closed producer is still the wrong role */
	assert_int_equal(shmbus_spsc_peek_try(x.p, &d, &len), -EPERM);
	assert_int_equal(shmbus_spsc_release(x.p), -EPERM);
	/* and a producer call on the consumer */
	assert_int_equal(shmbus_spsc_push_try(x.c, "", 0), -EPERM);
	/* a broken handle stays broken: no reopen */
	assert_int_equal(spsc_corrupt(x.p), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_spsc_reopen_stream(x.p), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_spsc_close_stream(x.p), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_spsc_push_try(x.p, "", 0), -SHMBUS_ECORRUPT);
	pair_close(&x);
}

static void test_reopen(void **state)
{
	struct shmbus_spsc_buf bufs[2] = { { .len = 40 }, { .len = 40 } };
	unsigned char buf[64];
	struct pair x;

	(void)state;
	pair_open(&x, "reopen", 1024);
	push_n(x.p, 0, 2);
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	pop_n(x.c, 0, 2);
	assert_eos(x.c);
	assert_int_equal(shmbus_spsc_reopen_stream(x.p), 0);
	assert_int_equal(shmbus_spsc_reopen_stream(x.p), 0); /* idempotent */
	assert_false(closed_in_stats(x.c));
	/* the consumer that got the end now waits for more: -EAGAIN */
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(shmbus_spsc_peek(x.c, (const void **)&bufs[0].data, &bufs[0].len, 0),
			 -ETIMEDOUT);
	/* and gets the new messages, by every producer form */
	push_n(x.p, 2, 1);
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 2), 2);
	tu_spsc_fill(bufs[0].data, 3, 40);
	tu_spsc_fill(bufs[1].data, 4, 40);
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 2), 0);
	pop_n(x.c, 2, 3);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);
	/* and the end again after a second close */
	push_n(x.p, 5, 1);
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	pop_n(x.c, 5, 1);
	assert_eos(x.c);
	pair_close(&x);
}

/* Child: produce @arg messages, close the stream, and exit (after giving
 * the role back) or die. */
struct closer {
	const char *name;
	unsigned n;
	bool die;
};

static int child_close_and_go(void *arg)
{
	struct closer *a = arg;
	unsigned char buf[64];
	struct shmbus_spsc *q;
	unsigned i;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER))
		return 1;
	for (i = 0; i < a->n; i++) {
		tu_spsc_fill(buf, i, 40);
		if (shmbus_spsc_push_try(q, buf, 40))
			return 2;
	}
	if (shmbus_spsc_close_stream(q))
		return 3;
	if (a->die)
		raise(SIGKILL);
	shmbus_spsc_close(q);
	return 0;
}

static void takeover(bool die)
{
	struct closer a = { .name = tu_name(die ? "takeover_kill" : "takeover_exit"), .n = 3,
			    .die = die };
	struct shmbus_spsc *p, *c;

	assert_int_equal(shmbus_spsc_create(a.name, 1024, 0), 0);
	assert_int_equal(shmbus_spsc_open(&c, a.name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(tu_wait(tu_spawn(child_close_and_go, &a)), die ? 1000 + SIGKILL : 0);
	/* the new producer finds the stream closed, and does not reopen it */
	assert_int_equal(shmbus_spsc_open(&p, a.name, SHMBUS_SPSC_PRODUCER), 0);
	assert_true(closed_in_stats(p));
	assert_epipe(p);
	pop_n(c, 0, 3);
	assert_eos(c);
	/* until it says so */
	assert_int_equal(shmbus_spsc_reopen_stream(p), 0);
	push_n(p, 3, 2);
	pop_n(c, 3, 2);
	assert_int_equal(shmbus_spsc_pop_try(c, (unsigned char[64]){ 0 }, 64), -EAGAIN);
	/* and a producer taking over an open stream finds it open */
	shmbus_spsc_close(p);
	assert_int_equal(shmbus_spsc_open(&p, a.name, SHMBUS_SPSC_PRODUCER), 0);
	push_n(p, 5, 1);
	pop_n(c, 5, 1);
	shmbus_spsc_close(p);
	shmbus_spsc_close(c);
	assert_int_equal(shmbus_block_unlink(a.name), 0);
}

static void test_takeover_does_not_reopen(void **state)
{
	(void)state;
	takeover(false);
	takeover(true);
}

/* ------------------------------------------- a consumer asleep at the close */

enum call { PEEK, POP, PEEK_BURST };
enum mode { NORMAL, NO_MEMBARRIER, SLICED };

struct sleeper {
	struct shmbus_spsc *c;
	enum call call;
	unsigned expect;    /* messages before the end */
	int rc;             /* the first failure, or 0 */
};

static int take(struct sleeper *s, unsigned char *buf, size_t size)
{
	struct shmbus_spsc_msg m;
	const void *d;
	size_t len;
	int rc;

	switch (s->call) {
	case PEEK:
		rc = shmbus_spsc_peek(s->c, &d, &len, 60000);
		if (rc)
			return rc;
		break;
	case POP:
		return shmbus_spsc_pop(s->c, buf, size, 60000);
	default:
		rc = shmbus_spsc_peek_burst(s->c, &m, 1, 60000);
		if (rc != 1)
			return rc < 0 ? rc : -EPROTO;
		d = m.data;
		len = m.len;
		break;
	}
	if (len > size)
		return -EMSGSIZE;
	memcpy(buf, d, len);
	rc = shmbus_spsc_release(s->c);
	return rc ? rc : (int)len;
}

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	unsigned char buf[64];
	unsigned i;
	int rc;

	for (i = 0; i < s->expect; i++) {
		rc = take(s, buf, sizeof(buf));
		if (rc != 40 || !tu_spsc_check(buf, 40, i, 0)) {
			s->rc = rc < 0 ? rc : -EPROTO;
			return NULL;
		}
	}
	/* asleep here when the stream closes */
	rc = take(s, buf, sizeof(buf));
	s->rc = rc == -SHMBUS_EEOS ? 0 : rc < 0 ? rc : -EPROTO;
	return NULL;
}

/* Until the consumer sleeps on the ring's data queue (for real: spin 0). */
static void wait_asleep(struct shmbus_spsc *c)
{
	while (!waitq_has_waiters(&c->sh->data_wq))
		usleep(1000);
	usleep(5000);
}

static void close_wakes(enum call call, enum mode mode, bool with_msg)
{
	struct sleeper s = { .call = call };
	pthread_t t;
	struct pair x;

	pair_open(&x, "asleep", 1024);
	shmbus_spsc_set_spin(x.c, 0);
	if (mode == NO_MEMBARRIER)
		spsc_set_asym(x.p, false);
	else if (mode == SLICED)
		x.c->sliced = true;
	s.c = x.c;
	s.expect = with_msg ? 1 : 0;
	assert_int_equal(pthread_create(&t, NULL, sleeper_main, &s), 0);
	wait_asleep(x.c);
	/* with_msg: a message and the close while it sleeps; it gets both */
	if (with_msg)
		push_n(x.p, 0, 1);
	assert_int_equal(shmbus_spsc_close_stream(x.p), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.rc, 0);
	assert_eos(x.c);
	pair_close(&x);
}

static void test_close_wakes_sleeper(void **state)
{
	enum call call;
	enum mode mode;

	(void)state;
	for (call = PEEK; call <= PEEK_BURST; call++)
		for (mode = NORMAL; mode <= SLICED; mode++) {
			close_wakes(call, mode, false);
			close_wakes(call, mode, true);
		}
}

/* --------------------------------------- the close racing the last look */

/*
 * Rounds in lock step: the producer pushes n (0..3) messages and closes;
 * the consumer, polling all along, must get exactly those n and then the
 * end (a message committed between its last empty look and the close must
 * not be lost); it says so, the producer reopens and says so, next round.
 */
struct race {
	struct shmbus_spsc *p, *c;
	unsigned rounds;
	bool blocking;
	_Atomic unsigned consumed; /* rounds the consumer finished */
	_Atomic unsigned reopened; /* rounds the producer reopened after */
	int prc, crc;
};

static unsigned round_msgs(unsigned round)
{
	return (unsigned)(tu_spsc_mix(round) % 4);
}

static void *race_producer(void *arg)
{
	struct race *r = arg;
	unsigned char buf[64];
	unsigned round, i;
	uint64_t seq = 0;
	int rc = 0;

	for (round = 0; round < r->rounds && rc == 0; round++) {
		for (i = 0; i < round_msgs(round) && rc == 0; i++, seq++) {
			tu_spsc_fill(buf, seq, 40);
			rc = shmbus_spsc_push(r->p, buf, 40, 60000);
		}
		if (rc == 0)
			rc = shmbus_spsc_close_stream(r->p);
		/* Acquire/release: the test's own hand-over between rounds. */
		while (rc == 0 && atomic_load_explicit(&r->consumed, memory_order_acquire) == round)
			sched_yield();
		if (rc == 0)
			rc = shmbus_spsc_reopen_stream(r->p);
		atomic_store_explicit(&r->reopened, round + 1, memory_order_release);
	}
	r->prc = rc;
	return NULL;
}

static void *race_consumer(void *arg)
{
	struct race *r = arg;
	unsigned char buf[64];
	unsigned round, got;
	uint64_t seq = 0;
	int rc = 0;

	for (round = 0; round < r->rounds; round++) {
		for (got = 0;; ) {
			rc = r->blocking ? shmbus_spsc_pop(r->c, buf, sizeof(buf), 60000)
					 : shmbus_spsc_pop_try(r->c, buf, sizeof(buf));
			if (rc == -EAGAIN)
				continue;
			if (rc == -SHMBUS_EEOS)
				break;
			if (rc != 40 || !tu_spsc_check(buf, 40, seq, 0))
				goto fail;
			got++;
			seq++;
		}
		if (got != round_msgs(round)) {
			rc = -EPROTO;
			goto fail;
		}
		atomic_store_explicit(&r->consumed, round + 1, memory_order_release);
		while (atomic_load_explicit(&r->reopened, memory_order_acquire) == round)
			sched_yield();
	}
	r->crc = 0;
	return NULL;

fail:
	fprintf(stderr, "round %u, message %llu: %d\n", round, (unsigned long long)seq, rc);
	r->crc = rc < 0 ? rc : -EPROTO;
	/* let the producer finish */
	atomic_store_explicit(&r->consumed, r->rounds, memory_order_release);
	return NULL;
}

static void race(bool blocking)
{
	struct race r = { .rounds = tu_sanitized() ? 2000 : 20000, .blocking = blocking };
	pthread_t tp, tc;
	struct pair x;

	pair_open(&x, blocking ? "race_blocking" : "race_try", 256);
	r.p = x.p;
	r.c = x.c;
	assert_int_equal(pthread_create(&tc, NULL, race_consumer, &r), 0);
	assert_int_equal(pthread_create(&tp, NULL, race_producer, &r), 0);
	assert_int_equal(pthread_join(tp, NULL), 0);
	assert_int_equal(pthread_join(tc, NULL), 0);
	assert_int_equal(r.crc, 0);
	assert_int_equal(r.prc, 0);
	pair_close(&x);
}

static void test_close_races_last_look(void **state)
{
	(void)state;
	race(false);
	race(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_close_drain_eos, tu_teardown),
		cmocka_unit_test_teardown(test_close_empty, tu_teardown),
		cmocka_unit_test_teardown(test_roles, tu_teardown),
		cmocka_unit_test_teardown(test_reopen, tu_teardown),
		cmocka_unit_test_teardown(test_takeover_does_not_reopen, tu_teardown),
		cmocka_unit_test_teardown(test_close_wakes_sleeper, tu_teardown),
		cmocka_unit_test_teardown(test_close_races_last_look, tu_teardown),
	};

	return cmocka_run_group_tests_name("spsc_eos", tests, NULL, NULL);
}
