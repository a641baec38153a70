/*
 * test_spsc_corrupt.c - garbage in the block (positions, record headers,
 * config) gives -SHMBUS_ECORRUPT and a ring marked corrupt, never a crash or
 * an out-of-bounds access (run it under ASan), plus a random scribbler.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "spsc/spsc_internal.h"
#include "tu_spsc.h"
#include "testutil.h"

struct pair {
	struct shmbus_spsc *p, *c;
	const char *name;
	struct spsc_shared *sh;
};

static void pair_open(struct pair *x, const char *what, size_t cap)
{
	x->name = tu_name(what);
	assert_int_equal(shmbus_spsc_create(x->name, cap, 0), 0);
	assert_int_equal(shmbus_spsc_open(&x->p, x->name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_open(&x->c, x->name, SHMBUS_SPSC_CONSUMER), 0);
	x->sh = x->p->sh;
}

static void pair_close(struct pair *x)
{
	shmbus_spsc_close(x->p);
	shmbus_spsc_close(x->c);
	assert_int_equal(shmbus_block_unlink(x->name), 0);
}

/* The ring reports itself corrupt: stats, a new open, the snapshot. */
static void assert_marked(struct pair *x)
{
	struct shmbus_spsc_stats st;
	struct shmbus_snapshot *snap;
	struct shmbus_spsc *q;
	json_error_t jerr;
	json_t *doc;
	char *text;

	assert_int_equal(shmbus_spsc_stats(x->p, &st), 0);
	assert_true(st.corrupt);
	assert_int_equal(shmbus_spsc_open(&q, x->name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(x->name, &snap), 0);
	text = shmbus_snapshot_json(snap, 0);
	shmbus_snapshot_free(snap);
	assert_non_null(text);
	doc = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(json_object_get(doc, "ring"), "corrupt")));
	assert_string_equal(json_string_value(json_object_get(doc, "error")),
			    shmbus_strerror(-SHMBUS_ECORRUPT));
	json_decref(doc);
}

static void consumer_sees_corrupt(struct pair *x)
{
	unsigned char buf[64];
	const void *d;
	size_t len;

	assert_int_equal(shmbus_spsc_peek_try(x->c, &d, &len), -SHMBUS_ECORRUPT);
	/* sticky: every later call fails the same way */
	assert_int_equal(shmbus_spsc_peek_try(x->c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_spsc_release(x->c), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_spsc_pop(x->c, buf, sizeof(buf), 10), -SHMBUS_ECORRUPT);
	assert_marked(x);
}

static void test_bad_head(void **state)
{
	static const int64_t deltas[] = { 3, 1024 + 8, -8, INT64_MIN };
	unsigned char buf[32] = { 0 };
	const void *d;
	size_t len, i;
	struct pair x;

	(void)state;
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		uint64_t h;

		pair_open(&x, "head", 1024);
		/* move the consumer's cached head to the real one first */
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 20), 0);
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 20);
		assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
		h = atomic_load(&x.sh->prod.head);
		atomic_store(&x.sh->prod.head, h + (uint64_t)deltas[i]);
		consumer_sees_corrupt(&x);
		pair_close(&x);
	}
}

/* Garbage in both positions: a new open refuses the block. */
static void test_bad_positions_at_open(void **state)
{
	struct shmbus_spsc *q;
	struct pair x;

	(void)state;
	pair_open(&x, "open", 1024);
	shmbus_spsc_close(x.c);
	atomic_store(&x.sh->cons.tail, 5000);
	assert_int_equal(shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	x.c = NULL;
	assert_marked(&x);
	pair_close(&x);
}

static void test_bad_tail(void **state)
{
	/* misaligned, ahead of head, behind what the producer saw */
	static const int64_t deltas[] = { 4, 4096, -72 };
	unsigned char buf[64] = { 0 };
	size_t i;
	struct pair x;
	void *w;

	(void)state;
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		uint64_t t;

		pair_open(&x, "tail", 1024);
		/* fill, free one, fill (the producer sees tail 64), free one
		 * more: the next reserve must load tail again */
		while (shmbus_spsc_push_try(x.p, buf, 56) == 0)
			;
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 56);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 56), 0);
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 56);
		t = atomic_load(&x.sh->cons.tail);
		assert_int_equal(t, 128);
		atomic_store(&x.sh->cons.tail, t + (uint64_t)deltas[i]);
		assert_int_equal(shmbus_spsc_reserve_try(x.p, 56, &w), -SHMBUS_ECORRUPT);
		assert_int_equal(shmbus_spsc_reserve(x.p, 8, &w, 10), -SHMBUS_ECORRUPT);
		assert_int_equal(shmbus_spsc_commit(x.p, 0), -SHMBUS_ECORRUPT);
		assert_marked(&x);
		pair_close(&x);
	}
}

/* Overwrite the header word of the record at @pos. */
static void set_rec(struct pair *x, uint64_t pos, uint32_t len, uint64_t size)
{
	atomic_store(spsc_rec(x->c, pos), spsc_rec_word(len, size));
}

static void test_bad_records(void **state)
{
	struct bad {
		uint32_t len;
		uint64_t size;
	} bad[] = {
		{ 20, 0 },           /* empty record: would loop forever */
		{ 20, 12 },          /* not a multiple of 8 */
		{ 20, 4096 },        /* larger than the ring */
		{ 20, 64 },          /* larger than what was published (32) */
		{ 50, 64 },          /* the same, with the exact size for its
				      * length (the fast path's test) */
		{ 100, 32 },         /* payload longer than the record */
		{ SPSC_PAD, 32 },    /* padding at offset 0 */
		{ UINT32_MAX - 1, 32 },
	};
	unsigned char buf[64] = { 0 };
	struct shmbus_spsc_msg msgs[4];
	size_t i;
	struct pair x;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pair_open(&x, "rec", 1024);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 20), 0);
		set_rec(&x, 0, bad[i].len, bad[i].size);
		if (i % 2)
			consumer_sees_corrupt(&x);
		else
			assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 4),
					 -SHMBUS_ECORRUPT);
		assert_marked(&x);
		pair_close(&x);
	}
}

/* Records near the end of the ring: padding that does not run to the end,
 * a record that crosses the end, garbage in the second record of a burst. */
static void test_bad_records_at_wrap(void **state)
{
	unsigned char buf[1024] = { 0 };
	struct shmbus_spsc_msg msgs[4];
	struct pair x;
	int k;

	(void)state;
	/* a record crossing the end (with slack; with the exact size for its
	 * length, as the fast path takes them) */
	for (k = 0; k < 2; k++) {
		pair_open(&x, "cross", 1024);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 992 - 8), 0);
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 984);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 24), 0); /* at 992, size 32 */
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 24), 0); /* at 1024 */
		set_rec(&x, 992, k ? 56 : 24, 64);
		consumer_sees_corrupt(&x);
		pair_close(&x);
	}

	/* padding that stops short of the end */
	pair_open(&x, "pad", 1024);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 992 - 8), 0);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 984);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 40), 0); /* pad at 992, msg at 1024 */
	set_rec(&x, 992, SPSC_PAD, 16);
	consumer_sees_corrupt(&x);
	pair_close(&x);

	/* the second record of a burst */
	pair_open(&x, "burst", 1024);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 8), 0);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 8), 0);
	set_rec(&x, 16, 9, 16);
	k = shmbus_spsc_peek_burst_try(x.c, msgs, 4);
	assert_int_equal(k, -SHMBUS_ECORRUPT);
	assert_marked(&x);
	pair_close(&x);
}

static void test_bad_config(void **state)
{
	struct shmbus_snapshot *snap;
	struct shmbus_spsc *q;
	struct pair x;

	(void)state;
	pair_open(&x, "cfg", 1024);
	x.sh->capacity = 1000;
	assert_int_equal(shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(x.name, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	shmbus_snapshot_free(snap);
	x.sh->capacity = 2048; /* larger than the block */
	assert_int_equal(shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	x.sh->capacity = 1024;
	x.sh->data_off = 512;
	assert_int_equal(shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	x.sh->data_off = SPSC_DATA_OFF;
	x.sh->hdr.participants_max = 3;
	assert_int_equal(shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER), -SHMBUS_ECORRUPT);
	pair_close(&x);
}

/* Child: rewrite the capacity of the ring @arg, between the real one and a
 * larger one that passes every check on its own, until killed. */
static int flip_capacity(void *arg)
{
	struct spsc_shared *sh;
	struct shmbus_block *b;
	void *data;
	uint64_t i;

	if (shmbus_block_attach(&b, arg, 0) || shmbus_block_data(b, &data))
		return 1;
	sh = data;
	/* volatile: a scribbler, not synchronisation; every store must be made */
	for (i = 0;; i++)
		*(volatile uint64_t *)&sh->capacity = i % 2 ? SHMBUS_SPSC_CAPACITY_MAX : 1024;
	return 0;
}

/*
 * A peer rewriting the config while we open: what open checked is what the
 * handle uses (one read), so a handle never gets a capacity larger than the
 * block; an open either succeeds with the real capacity or fails with
 * -SHMBUS_ECORRUPT.
 */
static void test_config_rewritten_during_open(void **state)
{
	unsigned opens = tu_sanitized() ? 3000 : 20000, i, ok = 0, refused = 0;
	struct shmbus_spsc *q;
	struct pair x;
	pid_t pid;
	int rc;

	(void)state;
	pair_open(&x, "cfgrace", 1024);
	shmbus_spsc_close(x.c);
	x.c = NULL;
	pid = tu_spawn(flip_capacity, (void *)x.name);
	/* The flipper runs once we see its first flip (bounded: 2^24 looks). */
	for (i = 0; i < (1u << 24) && *(volatile uint64_t *)&x.sh->capacity == 1024; i++)
		if (i % 64 == 63)
			sched_yield();
	/* At least @opens opens, and on (within bounds, on two busy cores)
	 * until both outcomes were seen. */
	for (i = 0; i < opens || ((ok == 0 || refused == 0) && i < 50 * opens); i++) {
		rc = shmbus_spsc_open(&q, x.name, SHMBUS_SPSC_CONSUMER);
		assert_true(rc == 0 || rc == -SHMBUS_ECORRUPT);
		if (rc) {
			refused++;
			continue;
		}
		if (shmbus_spsc_capacity(q) != 1024) {
			kill(pid, SIGKILL);
			tu_wait(pid);
			fail_msg("open %u: capacity %zu in a block of 1024", i, shmbus_spsc_capacity(q));
		}
		ok++;
		shmbus_spsc_close(q);
	}
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	print_message("%u opens succeeded, %u refused\n", ok, refused);
	assert_true(ok > 0 && refused > 0); /* both outcomes were reached */
	*(volatile uint64_t *)&x.sh->capacity = 1024;
	pair_close(&x);
}

/* Whether a message handed out lies inside the ring. */
static void assert_inside(struct pair *x, const void *d, size_t len)
{
	const unsigned char *lo = x->c->ring, *hi = lo + x->c->cap, *p = d;

	assert_true(p >= lo && p <= hi && len <= (size_t)(hi - p));
}

/*
 * A scribbler: random words written into the positions and the records
 * while both sides run; every call must return a documented code, and
 * every message handed out must lie inside the ring.
 */
static void test_random_scribbles(void **state)
{
	unsigned char buf[2048];
	struct shmbus_spsc_msg msgs[8];
	uint64_t rnd = 12345, iters = tu_sanitized() ? 300 : 2000, it;
	uint64_t delivered = 0, detected = 0;
	const void *d;
	size_t len;
	void *w;
	int rc, i, k;

	(void)state;
	memset(buf, 0x5a, sizeof(buf));
	for (it = 0; it < iters; it++) {
		struct pair x;

		pair_open(&x, "scrib", 1024);
		for (i = 0; i < 200; i++) {
			rnd = tu_spsc_mix(rnd);
			switch (rnd % 8) {
			case 0: /* a random word somewhere in the ring */
				atomic_store(spsc_rec(x.c, (rnd >> 8) & ~(uint64_t)7), tu_spsc_mix(rnd));
				break;
			case 1: /* a plausible-looking header at the tail */
				set_rec(&x, atomic_load(&x.sh->cons.tail), (uint32_t)(rnd >> 8) % 1100,
					((rnd >> 24) % 140) * 8);
				break;
			case 2: /* a random position */
				if ((rnd >> 8) % 4 == 0)
					atomic_store(&x.sh->prod.head, atomic_load(&x.sh->prod.head) +
									((rnd >> 16) % 64) * 8);
				else if ((rnd >> 8) % 4 == 1)
					atomic_store(&x.sh->cons.tail, tu_spsc_mix(rnd) & ~(uint64_t)7);
				break;
			default:
				break;
			}
			rc = shmbus_spsc_push_try(x.p, buf, (rnd >> 32) % 300);
			assert_true(rc == 0 || rc == -EAGAIN || rc == -SHMBUS_ECORRUPT);
			rc = shmbus_spsc_reserve_try(x.p, (rnd >> 40) % 1100, &w);
			assert_true(rc == 0 || rc == -EAGAIN || rc == -EMSGSIZE ||
				    rc == -SHMBUS_ECORRUPT);
			if (rc == 0) {
				assert_true((unsigned char *)w >= x.p->ring &&
					    (unsigned char *)w + (rnd >> 40) % 1100 <= x.p->ring + 1024);
				rc = shmbus_spsc_commit(x.p, (rnd >> 40) % 1100);
				assert_true(rc == 0 || rc == -SHMBUS_ECORRUPT);
			}
			rc = shmbus_spsc_peek_try(x.c, &d, &len);
			assert_true(rc == 0 || rc == -EAGAIN || rc == -SHMBUS_ECORRUPT);
			if (rc == 0) {
				assert_inside(&x, d, len);
				memcpy(buf, d, len); /* ASan: every byte readable */
				delivered++;
				rc = shmbus_spsc_release(x.c);
				assert_true(rc == 0 || rc == -SHMBUS_ECORRUPT);
			}
			k = shmbus_spsc_peek_burst_try(x.c, msgs, 8);
			assert_true(k > 0 || k == -EAGAIN || k == -SHMBUS_ECORRUPT);
			for (rc = 0; rc < k; rc++) {
				assert_inside(&x, msgs[rc].data, msgs[rc].len);
				memcpy(buf, msgs[rc].data, msgs[rc].len);
			}
			if (k > 0) {
				rc = shmbus_spsc_release_burst(x.c, (unsigned)k);
				assert_true(rc == k || rc == -SHMBUS_ECORRUPT);
			}
			rc = shmbus_spsc_pop_try(x.c, buf, sizeof(buf));
			assert_true(rc >= 0 || rc == -EAGAIN || rc == -SHMBUS_ECORRUPT);
		}
		detected += x.c->broken || x.p->broken;
		pair_close(&x);
	}
	print_message("%llu messages handed out, %llu of %llu rings found corrupt\n",
		      (unsigned long long)delivered, (unsigned long long)detected,
		      (unsigned long long)iters);
	/* the scribbler did reach both outcomes */
	assert_true(delivered > iters);
	assert_true(detected > iters / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bad_head, tu_teardown),
		cmocka_unit_test_teardown(test_bad_positions_at_open, tu_teardown),
		cmocka_unit_test_teardown(test_bad_tail, tu_teardown),
		cmocka_unit_test_teardown(test_bad_records, tu_teardown),
		cmocka_unit_test_teardown(test_bad_records_at_wrap, tu_teardown),
		cmocka_unit_test_teardown(test_bad_config, tu_teardown),
		cmocka_unit_test_teardown(test_config_rewritten_during_open, tu_teardown),
		cmocka_unit_test_teardown(test_random_scribbles, tu_teardown),
	};

	return cmocka_run_group_tests_name("spsc_corrupt", tests, NULL, NULL);
}
