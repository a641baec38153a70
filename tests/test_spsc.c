/*
 * test_spsc.c - the SPSC ring in one process: creation and bad arguments,
 * message semantics, every record size across the wrap (also across 2^64),
 * committing less than reserved, bursts, full and empty, timeouts,
 * EMSGSIZE, roles (EPERM, EBUSY, takeover of a dead role), stats and the
 * inspection document.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static uint64_t head_of(struct shmbus_spsc *q)
{
	struct shmbus_spsc_stats st;

	assert_int_equal(shmbus_spsc_stats(q, &st), 0);
	return st.head;
}

static void test_create_and_bad_args(void **state)
{
	const char *name = tu_name("args");
	struct shmbus_spsc *q;
	struct shmbus_block *b;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 1000, 0), -EINVAL);
	assert_int_equal(shmbus_spsc_create(name, 32, 0), -EINVAL);
	assert_int_equal(shmbus_spsc_create(name, (size_t)SHMBUS_SPSC_CAPACITY_MAX * 2, 0), -EINVAL);
	assert_int_equal(shmbus_spsc_create(NULL, 1024, 0), -EINVAL);
	assert_int_equal(shmbus_spsc_create("a/b", 1024, 0), -EINVAL);
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_PRODUCER), -ENOENT);
	assert_int_equal(shmbus_spsc_create(name, 1024, 0), 0);
	assert_int_equal(shmbus_spsc_create(name, 1024, 0), -EEXIST);
	assert_int_equal(shmbus_spsc_open(&q, name, (enum shmbus_spsc_role)0), -EINVAL);
	assert_int_equal(shmbus_spsc_open(&q, name, (enum shmbus_spsc_role)3), -EINVAL);
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_capacity(q), 1024);
	assert_int_equal(shmbus_spsc_max_msg(q), 1016);
	shmbus_spsc_close(q);
	shmbus_spsc_close(NULL);
	assert_int_equal(shmbus_block_unlink(name), 0);

	/* A raw block is not a ring. */
	name = tu_name("raw");
	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_CONSUMER), -SHMBUS_EMAGIC);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_messages(void **state)
{
	struct pair x;
	const void *d;
	size_t len;
	char buf[64];
	uint64_t h0;
	void *w;

	(void)state;
	pair_open(&x, "msgs", 1024);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
	assert_int_equal(shmbus_spsc_release(x.c), -EAGAIN);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);

	assert_int_equal(shmbus_spsc_push_try(x.p, "hello", 5), 0);
	assert_int_equal(shmbus_spsc_push_try(x.p, "", 0), 0);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 6, &w), 0);
	assert_int_equal((uintptr_t)w % 8, 0);
	memcpy(w, "world!", 6);
	assert_int_equal(shmbus_spsc_commit(x.p, 6), 0);

	/* peek is idempotent until release */
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(d, "hello", 5);
	assert_int_equal((uintptr_t)d % 8, 0);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 0); /* the empty one */
	/* too small a buffer: the message stays */
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, 3), -EMSGSIZE);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "world!", 6);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);

	/* wrong role, bad arguments */
	assert_int_equal(shmbus_spsc_peek_try(x.p, &d, &len), -EPERM);
	assert_int_equal(shmbus_spsc_release(x.p), -EPERM);
	assert_int_equal(shmbus_spsc_pop_try(x.p, buf, 1), -EPERM);
	assert_int_equal(shmbus_spsc_reserve_try(x.c, 1, &w), -EPERM);
	assert_int_equal(shmbus_spsc_commit(x.c, 1), -EPERM);
	assert_int_equal(shmbus_spsc_push_try(x.c, "a", 1), -EPERM);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 1, NULL), -EINVAL);
	assert_int_equal(shmbus_spsc_peek_try(x.c, NULL, &len), -EINVAL);
	assert_int_equal(shmbus_spsc_push_try(x.p, NULL, 3), -EINVAL);

	/* A consumer that has seen one message of 56 bytes: on its handle
	 * head - tail is exactly the record size of another 56 bytes, which
	 * a room test alone would take for room (it once did, and the push
	 * overwrote the unread message). */
	memset(buf, 'm', 56);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 56), 0);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	h0 = head_of(x.p);
	memset(buf, 'x', 56);
	assert_int_equal(shmbus_spsc_push_try(x.c, buf, 56), -EPERM);
	assert_int_equal(shmbus_spsc_reserve_try(x.c, 56, &w), -EPERM);
	assert_int_equal(shmbus_spsc_push(x.c, buf, 56, 0), -EPERM);
	assert_int_equal(shmbus_spsc_reserve(x.c, 56, &w, 0), -EPERM);
	assert_int_equal(head_of(x.p), h0);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 56);
	for (len = 0; len < 56; len++)
		assert_int_equal(buf[len], 'm');
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);
	pair_close(&x);
}

/* Move the (empty) ring so that head sits at ring offset @off. */
static void advance_to(struct pair *x, uint64_t off)
{
	unsigned char buf[1024];
	uint64_t cap = shmbus_spsc_capacity(x->p), mask = cap - 1;

	for (;;) {
		uint64_t h = head_of(x->p), delta = (off - h) & mask, to_end = cap - (h & mask);
		uint64_t rec;

		if (delta == 0)
			return;
		/* one filler record of exactly delta bytes if it fits before
		 * the end, else one that runs to the end */
		rec = delta <= to_end ? delta : to_end;
		assert_int_equal(shmbus_spsc_push_try(x->p, buf, rec - SPSC_HDR), 0);
		assert_true(shmbus_spsc_pop_try(x->c, buf, sizeof(buf)) >= 0);
	}
}

/* Every size 1..max at every 8-byte offset that puts it near the end. */
static void wrap_sweep(struct pair *x, size_t max)
{
	unsigned char out[512], in[512];
	uint64_t cap = shmbus_spsc_capacity(x->p), n = 0;
	size_t len;

	for (len = 1; len <= max; len++) {
		uint64_t need = spsc_rec_size(len), d;

		for (d = 8; d <= need + 8; d += 8) {
			const void *p;
			size_t got;

			advance_to(x, cap - d);
			tu_spsc_fill(out, n, len);
			assert_int_equal(shmbus_spsc_push_try(x->p, out, len), 0);
			/* a second message right behind it */
			tu_spsc_fill(out, n + 1, 3);
			assert_int_equal(shmbus_spsc_push_try(x->p, out, 3), 0);
			assert_int_equal(shmbus_spsc_peek_try(x->c, &p, &got), 0);
			assert_int_equal(got, len);
			assert_true(tu_spsc_check(p, got, n, 0));
			assert_int_equal(shmbus_spsc_release(x->c), 0);
			assert_int_equal(shmbus_spsc_pop_try(x->c, in, sizeof(in)), 3);
			assert_true(tu_spsc_check(in, 3, n + 1, 0));
			n += 2;
		}
	}
}

static void test_wrap_every_size(void **state)
{
	struct pair x;

	(void)state;
	pair_open(&x, "wrap", 1024);
	wrap_sweep(&x, 300);
	pair_close(&x);
}

/* The same across the wrap of the 64-bit positions themselves. */
static void test_wrap_positions_2_64(void **state)
{
	const char *name = tu_name("w64");
	struct shmbus_block *b;
	struct spsc_shared *sh;
	struct pair x;
	void *data;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 1024, 0), 0);
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_int_equal(shmbus_block_data(b, &data), 0);
	sh = data;
	atomic_store(&sh->prod.head, UINT64_MAX - 2047);
	atomic_store(&sh->cons.tail, UINT64_MAX - 2047);
	shmbus_block_close(b);
	x.name = name;
	assert_int_equal(shmbus_spsc_open(&x.p, name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_open(&x.c, name, SHMBUS_SPSC_CONSUMER), 0);
	wrap_sweep(&x, 120);
	assert_true(head_of(x.p) < UINT64_MAX - 2047); /* it did wrap */
	pair_close(&x);
}

static void test_commit_less_and_replace(void **state)
{
	struct shmbus_spsc_stats st;
	struct pair x;
	const void *d;
	size_t len;
	void *w, *w2;

	(void)state;
	pair_open(&x, "less", 1024);
	assert_int_equal(shmbus_spsc_commit(x.p, 0), -EINVAL); /* nothing reserved */
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 100, &w), 0);
	assert_int_equal(shmbus_spsc_commit(x.p, 101), -EINVAL);
	memcpy(w, "0123456789", 10);
	assert_int_equal(shmbus_spsc_commit(x.p, 10), 0);
	assert_int_equal(shmbus_spsc_commit(x.p, 10), -EINVAL); /* already committed */
	/* the record shrank to what was written */
	assert_int_equal(head_of(x.p), spsc_rec_size(10));
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_int_equal(len, 10);
	assert_memory_equal(d, "0123456789", 10);
	assert_int_equal(shmbus_spsc_release(x.c), 0);

	/* a new reserve replaces an uncommitted one; nothing of it shows */
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 50, &w), 0);
	memset(w, 'x', 50);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 4, &w2), 0);
	assert_ptr_equal(w, w2);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
	memcpy(w2, "abcd", 4);
	assert_int_equal(shmbus_spsc_commit(x.p, 4), 0);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(d, "abcd", 4);
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	/* a failed reserve replaces it too, whatever the failure: -EAGAIN
	 * always did (its padding may have moved head), -EMSGSIZE and
	 * -EINVAL now do as well */
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 8, &w), 0);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 5000, &w2), -EMSGSIZE);
	assert_int_equal(shmbus_spsc_commit(x.p, 8), -EINVAL);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 8, &w), 0);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 8, NULL), -EINVAL);
	assert_int_equal(shmbus_spsc_commit(x.p, 8), -EINVAL);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
	assert_int_equal(shmbus_spsc_stats(x.c, &st), 0);
	assert_int_equal(st.msgs_in, 2);
	assert_int_equal(st.msgs_out, 2);
	assert_int_equal(st.bytes_in, 14);
	assert_int_equal(st.bytes_out, 14);
	assert_int_equal(st.used, 0);
	pair_close(&x);
}

/* A single reserve is a reservation of one message: commit_bulk takes it
 * too, with the lengths given or the one reserved, across many wraps. */
static void test_commit_bulk_after_reserve(void **state)
{
	unsigned char buf[256];
	struct shmbus_spsc_buf b;
	struct pair x;
	uint64_t n;
	void *w;

	(void)state;
	pair_open(&x, "cbr", 1024);
	for (n = 0; n < 400; n++) {
		size_t len = tu_spsc_len(n, 200), extra = n % 3 ? 0 : 24;

		assert_int_equal(shmbus_spsc_reserve_try(x.p, len + extra, &w), 0);
		if (n % 2) {
			/* NULL: the length reserved */
			tu_spsc_fill(w, n, len + extra);
			assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 1), 0);
			assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), (int)(len + extra));
			assert_true(tu_spsc_check(buf, len + extra, n, 0));
		} else {
			tu_spsc_fill(w, n, len);
			b.data = w;
			b.len = len + extra + 1; /* longer than reserved */
			assert_int_equal(shmbus_spsc_commit_bulk(x.p, &b, 1), -EINVAL);
			b.len = len;
			assert_int_equal(shmbus_spsc_commit_bulk(x.p, &b, 1), 0);
			assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), (int)len);
			assert_true(tu_spsc_check(buf, len, n, 0));
		}
	}
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 1), -EINVAL);
	pair_close(&x);
}

static void test_bursts(void **state)
{
	struct shmbus_spsc_buf bufs[16];
	struct shmbus_spsc_msg msgs[16];
	struct pair x;
	uint64_t n = 0, got = 0, round;
	unsigned i;
	int k, m;

	(void)state;
	pair_open(&x, "burst", 1024);
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 0), 0);
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 0), 0);
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 4), -EAGAIN);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), -EAGAIN);
	bufs[0].len = 2000;
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 1), -EMSGSIZE);

	/* Many rounds of bursts of varying shape, across many wraps. */
	for (round = 0; round < 3000; round++) {
		unsigned want = (unsigned)(round % 16) + 1;

		for (i = 0; i < want; i++)
			bufs[i].len = tu_spsc_len(n + i, 100) + 20;
		k = shmbus_spsc_reserve_burst_try(x.p, bufs, want);
		assert_true(k >= 1 && k <= (int)want);
		/* commit fewer than reserved now and then, and shorter */
		m = round % 5 == 0 && k > 1 ? k - 1 : k;
		for (i = 0; i < (unsigned)m; i++) {
			size_t len = tu_spsc_len(n + i, 100);

			assert_true(len <= bufs[i].len);
			tu_spsc_fill(bufs[i].data, n + i, len);
			bufs[i].len = len;
		}
		assert_int_equal(shmbus_spsc_commit_bulk(x.p, bufs, (unsigned)m), 0);
		n += (uint64_t)m;
		/* drain in bursts of another shape, sometimes partly */
		while (got < n) {
			k = shmbus_spsc_peek_burst_try(x.c, msgs, (unsigned)(round % 7) + 1);
			assert_true(k >= 1);
			m = round % 3 == 0 && k > 1 ? k / 2 : k;
			for (i = 0; i < (unsigned)m; i++)
				assert_true(tu_spsc_check(msgs[i].data, msgs[i].len, got + i, 100));
			assert_int_equal(shmbus_spsc_release_burst(x.c, (unsigned)m), m);
			got += (uint64_t)m;
		}
	}
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 4), -EAGAIN);

	/* commit_bulk: bad arguments change nothing */
	bufs[0].len = 10;
	bufs[1].len = 10;
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 2), 2);
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, bufs, 3), -EINVAL);
	bufs[1].len = 11;
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, bufs, 2), -EINVAL);
	bufs[1].len = 10;
	bufs[1].data = (char *)bufs[1].data + 8;
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, bufs, 2), -EINVAL);
	bufs[1].data = (char *)bufs[1].data - 8;
	memcpy(bufs[0].data, "first-msg!", 10);
	memcpy(bufs[1].data, "second-msg", 10);
	/* NULL: the reserved lengths */
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 2), 0);
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 16), 2);
	assert_memory_equal(msgs[1].data, "second-msg", 10);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), 1);
	assert_int_equal(shmbus_spsc_pop_try(x.c, msgs, sizeof(msgs)), 10);
	/* single commit after a burst reservation: the first only */
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 2), 2);
	memcpy(bufs[0].data, "only", 4);
	assert_int_equal(shmbus_spsc_commit(x.p, 4), 0);
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 16), 1);
	assert_int_equal(msgs[0].len, 4);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), 1);
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 1), -EINVAL);
	pair_close(&x);
}

/* release_burst takes what fits, like every _burst call: up to n messages,
 * peeked or not, past padding; how many it freed; -EAGAIN only for none. */
static void test_release_burst_takes_what_fits(void **state)
{
	unsigned char buf[800] = { 0 };
	struct shmbus_spsc_msg msgs[4];
	struct shmbus_spsc_stats st;
	struct pair x;
	int i;

	(void)state;
	pair_open(&x, "relb", 1024);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 4), -EAGAIN);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 0), 0);
	for (i = 0; i < 3; i++) {
		tu_spsc_fill(buf, (uint64_t)i, 40);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 40), 0);
	}
	assert_int_equal(shmbus_spsc_peek_burst_try(x.c, msgs, 2), 2);
	/* more than peeked, more than there is: the three that are there */
	assert_int_equal(shmbus_spsc_release_burst(x.c, 5), 3);
	assert_int_equal(shmbus_spsc_release_burst(x.c, 5), -EAGAIN);
	/* fewer than there is, without a peek: the oldest */
	for (i = 3; i < 5; i++) {
		tu_spsc_fill(buf, (uint64_t)i, 40);
		assert_int_equal(shmbus_spsc_push_try(x.p, buf, 40), 0);
	}
	assert_int_equal(shmbus_spsc_release_burst(x.c, 1), 1);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 40);
	assert_true(tu_spsc_check(buf, 40, 4, 0));
	/* across the end of the ring: message, padding, message */
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 700), 0); /* 240..952 */
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 100), 0); /* pad, 1024.. */
	assert_int_equal(shmbus_spsc_release_burst(x.c, 9), 2);
	assert_int_equal(shmbus_spsc_stats(x.c, &st), 0);
	assert_int_equal(st.used, 0);
	assert_int_equal(st.msgs_out, 7);
	assert_int_equal(st.bytes_out, 5 * 40 + 700 + 100);
	pair_close(&x);
}

static void test_full_and_empty(void **state)
{
	unsigned char buf[64] = { 0 };
	struct shmbus_spsc_buf bufs[20];
	struct pair x;
	int i, n = 0;
	void *w;

	(void)state;
	pair_open(&x, "full", 1024);
	/* 64-byte messages take 72 bytes: 14 fit in 1024 */
	while (shmbus_spsc_push_try(x.p, buf, 64) == 0)
		n++;
	assert_int_equal(n, 14);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 64, &w), -EAGAIN);
	for (i = 0; i < 20; i++)
		bufs[i].len = 8;
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 20), -EAGAIN);
	/* one out, one in (after the padding at the end) */
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 64);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 64), 0);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 0), -EAGAIN);
	for (i = 0; i < 14; i++)
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 64);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);
	/* empty again: a burst takes what fits */
	for (i = 0; i < 20; i++)
		bufs[i].len = 100;
	/* at ring offset 72: 8 records of 112 bytes before the end; the 9th
	 * would need 56 bytes of padding + 112 > the 72 left */
	assert_int_equal(shmbus_spsc_reserve_burst_try(x.p, bufs, 20), 8);
	assert_int_equal(shmbus_spsc_commit_bulk(x.p, NULL, 8), 0);
	pair_close(&x);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void test_timeouts(void **state)
{
	unsigned char buf[600] = { 0 };
	struct shmbus_spsc_stats st;
	struct shmbus_spsc_msg msgs[2];
	struct shmbus_spsc_buf bufs[1];
	struct pair x;
	const void *d;
	size_t len;
	double t0;
	void *w;

	(void)state;
	pair_open(&x, "tmo", 1024);
	shmbus_spsc_set_spin(x.c, 10);
	/* timeout 0: no wait at all */
	assert_int_equal(shmbus_spsc_peek(x.c, &d, &len, 0), -ETIMEDOUT);
	assert_int_equal(shmbus_spsc_pop(x.c, buf, sizeof(buf), 0), -ETIMEDOUT);
	t0 = now_ms();
	assert_int_equal(shmbus_spsc_peek(x.c, &d, &len, 60), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 59.0); /* it waited, it did not give up early */
	assert_int_equal(shmbus_spsc_peek_burst(x.c, msgs, 2, 20), -ETIMEDOUT);
	assert_int_equal(shmbus_spsc_pop(x.c, buf, sizeof(buf), 20), -ETIMEDOUT);
	/* blocking calls that need not wait return at once */
	assert_int_equal(shmbus_spsc_push(x.p, buf, 500, -1), 0);
	assert_int_equal(shmbus_spsc_peek(x.c, &d, &len, -1), 0);
	assert_int_equal(len, 500);
	/* full */
	shmbus_spsc_set_spin(x.p, 0);
	assert_int_equal(shmbus_spsc_push(x.p, buf, 600, 0), -ETIMEDOUT);
	t0 = now_ms();
	assert_int_equal(shmbus_spsc_push(x.p, buf, 600, 40), -ETIMEDOUT);
	assert_true(now_ms() - t0 >= 39.0);
	assert_int_equal(shmbus_spsc_reserve(x.p, 600, &w, 20), -ETIMEDOUT);
	bufs[0].len = 600;
	assert_int_equal(shmbus_spsc_reserve_burst(x.p, bufs, 1, 20), -ETIMEDOUT);
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	/* the padding the producer published in front of its 600 bytes is
	 * freed by the consumer's next look */
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
	assert_int_equal(shmbus_spsc_push(x.p, buf, 600, 20), 0);
	assert_int_equal(shmbus_spsc_pop(x.c, buf, sizeof(buf), 20), 600);
	/* errors other than "nothing yet" come back at once */
	assert_int_equal(shmbus_spsc_push(x.p, buf, 5000, -1), -EMSGSIZE);
	assert_int_equal(shmbus_spsc_peek(x.p, &d, &len, -1), -EPERM);
	assert_int_equal(shmbus_spsc_stats(x.p, &st), 0);
	/* the calls with a timeout that had to wait (0 never waits) */
	assert_int_equal(st.empty_waits, 3);
	assert_int_equal(st.full_waits, 3);
	pair_close(&x);
}

static void test_msgsize(void **state)
{
	struct pair x;
	unsigned char *big = malloc(1016);
	const void *d;
	size_t len;
	void *w;

	(void)state;
	assert_non_null(big);
	pair_open(&x, "size", 1024);
	assert_int_equal(shmbus_spsc_reserve_try(x.p, 1017, &w), -EMSGSIZE);
	assert_int_equal(shmbus_spsc_push_try(x.p, big, 1017), -EMSGSIZE);
	assert_int_equal(shmbus_spsc_push(x.p, big, SIZE_MAX, -1), -EMSGSIZE);
	/* the largest message fits an empty ring at offset 0 ... */
	tu_spsc_fill(big, 1, 1016);
	assert_int_equal(shmbus_spsc_push_try(x.p, big, 1016), 0);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_true(tu_spsc_check(d, len, 1, 0));
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	/* ... and from the middle of the ring: the padding in front of it is
	 * published alone, freed by the consumer, then the message fits */
	assert_int_equal(shmbus_spsc_push_try(x.p, big, 100), 0);
	assert_true(shmbus_spsc_pop_try(x.c, big, 1016) == 100);
	tu_spsc_fill(big, 2, 1016);
	assert_int_equal(shmbus_spsc_push_try(x.p, big, 1016), -EAGAIN);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), -EAGAIN);
	assert_int_equal(shmbus_spsc_push_try(x.p, big, 1016), 0);
	assert_int_equal(shmbus_spsc_peek_try(x.c, &d, &len), 0);
	assert_true(tu_spsc_check(d, len, 2, 0));
	assert_int_equal(shmbus_spsc_release(x.c), 0);
	pair_close(&x);
	free(big);
}

struct child_arg {
	const char *name;
	enum shmbus_spsc_role role;
	int npush;
};

/* Child: try to take a role; exit with the error code (negated). */
static int child_open(void *arg)
{
	struct child_arg *a = arg;
	struct shmbus_spsc *q;
	int rc = shmbus_spsc_open(&q, a->name, a->role);

	if (rc == 0)
		shmbus_spsc_close(q);
	return -rc & 0xff;
}

/* Child: produce @npush messages, reserve one more, die without closing. */
static int child_produce_and_die(void *arg)
{
	struct child_arg *a = arg;
	struct shmbus_spsc *q;
	unsigned char buf[64];
	void *w;
	int i;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_PRODUCER))
		return 1;
	for (i = 0; i < a->npush; i++) {
		tu_spsc_fill(buf, (uint64_t)i, 40);
		if (shmbus_spsc_push_try(q, buf, 40))
			return 2;
	}
	if (shmbus_spsc_reserve_try(q, 40, &w))
		return 3;
	memset(w, 0xee, 40);
	raise(SIGKILL);
	return 4;
}

/* Child: peek a message and die before releasing it. */
static int child_peek_and_die(void *arg)
{
	struct child_arg *a = arg;
	struct shmbus_spsc *q;
	const void *d;
	size_t len;

	if (shmbus_spsc_open(&q, a->name, SHMBUS_SPSC_CONSUMER))
		return 1;
	if (shmbus_spsc_peek_try(q, &d, &len))
		return 2;
	raise(SIGKILL);
	return 4;
}

static void test_roles_busy_and_takeover(void **state)
{
	struct child_arg a = { .npush = 5 };
	struct shmbus_spsc *p2, *c2;
	struct shmbus_spsc_stats st;
	unsigned char buf[64];
	struct pair x;
	int i;

	(void)state;
	pair_open(&x, "roles", 1024);
	a.name = x.name;
	/* a second holder of a role, in this process or another, is refused */
	assert_int_equal(shmbus_spsc_open(&p2, x.name, SHMBUS_SPSC_PRODUCER), -EBUSY);
	assert_int_equal(shmbus_spsc_open(&c2, x.name, SHMBUS_SPSC_CONSUMER), -EBUSY);
	a.role = SHMBUS_SPSC_PRODUCER;
	assert_int_equal(tu_wait(tu_spawn(child_open, &a)), EBUSY);
	a.role = SHMBUS_SPSC_CONSUMER;
	assert_int_equal(tu_wait(tu_spawn(child_open, &a)), EBUSY);

	/* a role given back can be taken */
	shmbus_spsc_close(x.p);
	a.role = SHMBUS_SPSC_PRODUCER;
	assert_int_equal(tu_wait(tu_spawn(child_open, &a)), 0);

	/* a dead producer's role is taken over; its reservation never shows */
	assert_int_equal(tu_wait(tu_spawn(child_produce_and_die, &a)), 1000 + SIGKILL);
	assert_int_equal(shmbus_spsc_stats(x.c, &st), 0);
	assert_int_equal(st.msgs_in, 5);
	assert_false(st.producer_alive);
	assert_true(st.producer != 0);
	assert_int_equal(shmbus_spsc_open(&x.p, x.name, SHMBUS_SPSC_PRODUCER), 0);
	tu_spsc_fill(buf, 5, 40);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 40), 0);
	for (i = 0; i < 6; i++) {
		assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 40);
		assert_true(tu_spsc_check(buf, 40, (uint64_t)i, 0));
	}
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), -EAGAIN);

	/* a consumer killed between peek and release: the next one gets the
	 * message again (at-least-once) */
	tu_spsc_fill(buf, 77, 40);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 40), 0);
	shmbus_spsc_close(x.c);
	assert_int_equal(tu_wait(tu_spawn(child_peek_and_die, &a)), 1000 + SIGKILL);
	assert_int_equal(shmbus_spsc_open(&x.c, x.name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 40);
	assert_true(tu_spsc_check(buf, 40, 77, 0));
	pair_close(&x);
}

static void test_stats_and_inspect(void **state)
{
	struct shmbus_spsc_stats st;
	struct shmbus_snapshot *snap;
	json_t *doc, *ring, *prod;
	json_error_t jerr;
	unsigned char buf[100] = { 0 };
	struct pair x;
	char *text;

	(void)state;
	pair_open(&x, "stats", 4096);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 100), 0);
	assert_int_equal(shmbus_spsc_push_try(x.p, buf, 50), 0);
	assert_int_equal(shmbus_spsc_pop_try(x.c, buf, sizeof(buf)), 100);
	assert_int_equal(shmbus_spsc_stats(x.p, &st), 0);
	assert_int_equal(st.capacity, 4096);
	assert_int_equal(st.max_msg, 4088);
	assert_int_equal(st.head, spsc_rec_size(100) + spsc_rec_size(50));
	assert_int_equal(st.tail, spsc_rec_size(100));
	assert_int_equal(st.used, spsc_rec_size(50));
	assert_int_equal(st.msgs_in, 2);
	assert_int_equal(st.bytes_in, 150);
	assert_int_equal(st.msgs_out, 1);
	assert_int_equal(st.bytes_out, 100);
	assert_int_equal(shmbus_ident_pid(st.producer), getpid());
	assert_true(st.producer_alive && st.consumer_alive);
	assert_false(st.corrupt);
	assert_false(st.closed);
	assert_int_equal(shmbus_spsc_stats(NULL, &st), -EINVAL);

	assert_int_equal(shmbus_snapshot_take(x.name, &snap), 0);
	assert_int_equal(snap->kind, SHMBUS_KIND_SPSC);
	assert_int_equal(snap->kind_error, 0);
	assert_int_equal(snap->nparticipants, 2);
	assert_string_equal(snap->participants[0].role_name, "producer");
	assert_string_equal(snap->participants[1].role_name, "consumer");
	text = shmbus_snapshot_json(snap, 0);
	shmbus_snapshot_free(snap);
	assert_non_null(text);
	doc = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(doc);
	ring = json_object_get(doc, "ring");
	assert_non_null(ring);
	assert_int_equal(json_integer_value(json_object_get(ring, "capacity")), 4096);
	assert_int_equal(json_integer_value(json_object_get(ring, "used")), spsc_rec_size(50));
	assert_int_equal(json_integer_value(json_object_get(ring, "head")), st.head);
	assert_int_equal(json_integer_value(json_object_get(ring, "tail")), st.tail);
	assert_int_equal(json_integer_value(json_object_get(ring, "msgs_in")), 2);
	assert_int_equal(json_integer_value(json_object_get(ring, "msgs_out")), 1);
	assert_int_equal(json_integer_value(json_object_get(ring, "bytes_in")), 150);
	assert_int_equal(json_integer_value(json_object_get(ring, "bytes_out")), 100);
	assert_true(json_is_integer(json_object_get(ring, "full_waits")));
	assert_true(json_is_integer(json_object_get(ring, "empty_waits")));
	assert_true(json_is_integer(json_object_get(ring, "wakes")));
	assert_true(json_is_false(json_object_get(ring, "corrupt")));
	assert_true(json_is_false(json_object_get(ring, "eos")));
	prod = json_object_get(ring, "producer");
	assert_int_equal(json_integer_value(json_object_get(prod, "pid")), getpid());
	assert_true(json_is_true(json_object_get(prod, "alive")));
	assert_true(json_is_object(json_object_get(ring, "consumer")));
	assert_null(json_object_get(doc, "error"));
	json_decref(doc);
	pair_close(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_and_bad_args, tu_teardown),
		cmocka_unit_test_teardown(test_messages, tu_teardown),
		cmocka_unit_test_teardown(test_wrap_every_size, tu_teardown),
		cmocka_unit_test_teardown(test_wrap_positions_2_64, tu_teardown),
		cmocka_unit_test_teardown(test_commit_less_and_replace, tu_teardown),
		cmocka_unit_test_teardown(test_commit_bulk_after_reserve, tu_teardown),
		cmocka_unit_test_teardown(test_bursts, tu_teardown),
		cmocka_unit_test_teardown(test_release_burst_takes_what_fits, tu_teardown),
		cmocka_unit_test_teardown(test_full_and_empty, tu_teardown),
		cmocka_unit_test_teardown(test_timeouts, tu_teardown),
		cmocka_unit_test_teardown(test_msgsize, tu_teardown),
		cmocka_unit_test_teardown(test_roles_busy_and_takeover, tu_teardown),
		cmocka_unit_test_teardown(test_stats_and_inspect, tu_teardown),
	};

	return cmocka_run_group_tests_name("spsc", tests, NULL, NULL);
}
