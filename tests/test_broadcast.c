/*
 * test_broadcast.c - the broadcast ring in one process: creation and bad
 * arguments, roles, every error path, wrap with padding, bursts, the three
 * join points, reliable back-pressure, lossy lapping with an exact dropped
 * count, ELAPPED from a release after an overwrite, end of stream (empty,
 * reopen, takeover), corrupted cursors and records, a dead subscriber that
 * stops holding the producer after the liveness timeout, stats and the
 * inspection document.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "broadcast/bcast_internal.h"
#include "testutil.h"

static const char *mk(const char *what, uint64_t cap, uint32_t policy, uint32_t subs,
		      uint32_t liveness)
{
	const char *name = tu_name(what);
	struct shmbus_bcast_params p = {
		.capacity = cap, .policy = policy, .subscribers = subs, .liveness_ms = liveness,
	};

	assert_int_equal(shmbus_bcast_create(name, &p), 0);
	return name;
}

static void push_u64(struct shmbus_bcast *p, uint64_t v, size_t len)
{
	unsigned char buf[4096];

	assert_true(len >= 8 && len <= sizeof(buf));
	memset(buf, (int)(v & 0xff), len);
	memcpy(buf, &v, 8);
	assert_int_equal(shmbus_bcast_push_try(p, buf, len), 0);
}

/* Pop one message and check it is @v of @len bytes, as push_u64 made it. */
static void pop_check(struct shmbus_bcast *s, uint64_t v, size_t len, uint64_t dropped)
{
	unsigned char buf[4096];
	struct shmbus_bcast_msg m;
	uint64_t got;
	size_t i;

	assert_int_equal(shmbus_bcast_pop_try(s, buf, sizeof(buf), &m), (int)len);
	memcpy(&got, buf, 8);
	assert_int_equal(got, v);
	assert_int_equal(m.seq, v);
	assert_int_equal(m.dropped, dropped);
	for (i = 8; i < len; i++)
		assert_int_equal(buf[i], (unsigned char)(v & 0xff));
}

static void test_create_bad_args(void **state)
{
	const char *name = tu_name("args");
	struct shmbus_bcast_params p = { .capacity = 1000 };
	struct shmbus_bcast *b, *b2;
	struct shmbus_block *blk;

	(void)state;
	assert_int_equal(shmbus_bcast_create(name, &p), -EINVAL);
	p.capacity = 32;
	assert_int_equal(shmbus_bcast_create(name, &p), -EINVAL);
	p.capacity = 1024;
	p.subscribers = SHMBUS_BCAST_SUBSCRIBERS_MAX + 1;
	assert_int_equal(shmbus_bcast_create(name, &p), -EINVAL);
	p.subscribers = 0;
	p.policy = 3;
	assert_int_equal(shmbus_bcast_create(name, &p), -EINVAL);
	p.policy = 0;
	p.liveness_ms = SHMBUS_BCAST_LIVENESS_MAX_MS + 1;
	assert_int_equal(shmbus_bcast_create(name, &p), -EINVAL);
	p.liveness_ms = 0;
	assert_int_equal(shmbus_bcast_create(NULL, &p), -EINVAL);
	assert_int_equal(shmbus_bcast_create(name, NULL), -EINVAL);
	assert_int_equal(shmbus_bcast_open_producer(&b, name), -ENOENT);
	assert_int_equal(shmbus_bcast_create(name, &p), 0);
	assert_int_equal(shmbus_bcast_create(name, &p), -EEXIST);
	assert_int_equal(shmbus_bcast_subscribe(&b, name, 0), -EINVAL);
	assert_int_equal(shmbus_bcast_subscribe(&b, name, 4), -EINVAL);
	assert_int_equal(shmbus_bcast_subscribe(NULL, name, SHMBUS_BCAST_FROM_NEXT), -EINVAL);
	assert_int_equal(shmbus_bcast_open_producer(&b, name), 0);
	assert_int_equal(shmbus_bcast_open_producer(&b2, name), -EBUSY);
	assert_int_equal(shmbus_bcast_capacity(b), 1024);
	assert_int_equal(shmbus_bcast_max_msg(b), 1024 - 16);
	assert_int_equal(shmbus_bcast_policy(b), SHMBUS_BCAST_RELIABLE);
	assert_int_equal(shmbus_bcast_index(b), -EPERM);
	shmbus_bcast_close(b);
	shmbus_bcast_close(NULL);
	assert_int_equal(shmbus_bcast_open_producer(&b, name), 0);
	shmbus_bcast_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);

	/* Another kind of block is not a broadcast ring. */
	name = tu_name("raw");
	assert_int_equal(shmbus_block_create(&blk, name, 4096, 0), 0);
	shmbus_block_close(blk);
	assert_int_equal(shmbus_bcast_subscribe(&b, name, SHMBUS_BCAST_FROM_NEXT), -SHMBUS_EMAGIC);
	assert_int_equal(shmbus_block_unlink(name), 0);
	name = tu_name("spsc");
	assert_int_equal(shmbus_spsc_create(name, 1024, 0), 0);
	assert_int_equal(shmbus_bcast_open_producer(&b, name), -SHMBUS_EKIND);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_roles_and_errors(void **state)
{
	const char *name = mk("roles", 1024, SHMBUS_BCAST_RELIABLE, 2, 0);
	struct shmbus_bcast *p, *s, *s2, *s3;
	struct shmbus_bcast_msg m, ms[2];
	unsigned char buf[64];
	void *d;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s3, name, SHMBUS_BCAST_FROM_NEXT), -ENOSPC);
	assert_int_equal(shmbus_bcast_index(s), 0);
	assert_int_equal(shmbus_bcast_index(s2), 1);
	/* Wrong role. */
	assert_int_equal(shmbus_bcast_push_try(s, "x", 1), -EPERM);
	assert_int_equal(shmbus_bcast_reserve_try(s, 1, &d), -EPERM);
	assert_int_equal(shmbus_bcast_commit(s, 1), -EPERM);
	assert_int_equal(shmbus_bcast_close_stream(s), -EPERM);
	assert_int_equal(shmbus_bcast_peek_try(p, &m), -EPERM);
	assert_int_equal(shmbus_bcast_release(p), -EPERM);
	assert_int_equal(shmbus_bcast_pop_try(p, buf, sizeof(buf), NULL), -EPERM);
	/* Bad arguments and states. */
	assert_int_equal(shmbus_bcast_reserve_try(p, 1, NULL), -EINVAL);
	assert_int_equal(shmbus_bcast_reserve_try(p, 1024 - 15, &d), -EMSGSIZE);
	assert_int_equal(shmbus_bcast_commit(p, 0), -EINVAL);
	assert_int_equal(shmbus_bcast_push_try(p, NULL, 3), -EINVAL);
	assert_int_equal(shmbus_bcast_push_burst_try(p, NULL, 1), -EINVAL);
	assert_int_equal(shmbus_bcast_push_burst_try(p, NULL, 0), 0);
	assert_int_equal(shmbus_bcast_peek_try(s, NULL), -EINVAL);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -EAGAIN);
	assert_int_equal(shmbus_bcast_peek(s, &m, 0), -ETIMEDOUT);
	assert_int_equal(shmbus_bcast_peek(s, &m, 20), -ETIMEDOUT);
	assert_int_equal(shmbus_bcast_release(s), -EAGAIN);
	assert_int_equal(shmbus_bcast_release_burst(s, 1), -EAGAIN);
	assert_int_equal(shmbus_bcast_peek_burst_try(s, NULL, 1), -EINVAL);
	assert_int_equal(shmbus_bcast_peek_burst_try(s, ms, 0), 0);
	/* Reserve, commit less; a second reserve replaces the first. */
	assert_int_equal(shmbus_bcast_reserve_try(p, 100, &d), 0);
	assert_int_equal(shmbus_bcast_reserve_try(p, 10, &d), 0);
	memcpy(d, "hello", 5);
	assert_int_equal(shmbus_bcast_commit(p, 11), -EINVAL);
	assert_int_equal(shmbus_bcast_commit(p, 5), 0);
	assert_int_equal(shmbus_bcast_commit(p, 5), -EINVAL);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), 0);
	assert_int_equal(m.len, 5);
	assert_int_equal(m.seq, 0);
	assert_memory_equal(m.data, "hello", 5);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), 0); /* the same again */
	assert_int_equal(m.seq, 0);
	assert_int_equal(shmbus_bcast_release_burst(s, 2), -EINVAL);
	assert_int_equal(shmbus_bcast_release(s), 0);
	assert_int_equal(shmbus_bcast_pop_try(s2, buf, 2, NULL), -EMSGSIZE);
	assert_int_equal(shmbus_bcast_pop_try(s2, buf, sizeof(buf), &m), 5);
	assert_int_equal(m.seq, 0);
	assert_int_equal(shmbus_bcast_push_try(p, NULL, 0), 0);
	assert_int_equal(shmbus_bcast_pop_try(s, NULL, 0, &m), 0);
	assert_int_equal(m.seq, 1);
	shmbus_bcast_close(s3 = s2);
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_NEXT), 0);
	shmbus_bcast_close(s2);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

/* Every length across several wraps: padding at the end of the ring. */
static void test_wrap_and_bursts(void **state)
{
	const char *name = mk("wrap", 256, SHMBUS_BCAST_RELIABLE, 4, 0);
	struct shmbus_bcast *p, *s;
	struct shmbus_bcast_msg ms[8];
	struct shmbus_bcast_buf bufs[8];
	unsigned char data[8][64];
	uint64_t v = 0, want = 0;
	size_t len;
	int i, n, k;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	for (len = 8; len <= 240; len += 8) {
		for (i = 0; i < 5; i++) {
			push_u64(p, v, len);
			pop_check(s, v, len, 0);
			v++;
		}
	}
	/* push_burst takes what fits; peek_burst/release_burst. */
	want = v;
	for (k = 0; k < 50; k++) {
		for (i = 0; i < 8; i++) {
			uint64_t x = v + (uint64_t)i;

			memset(data[i], (int)x, sizeof(data[i]));
			memcpy(data[i], &x, 8);
			bufs[i].data = data[i];
			bufs[i].len = 8 + (size_t)((k + i) % 7) * 8;
		}
		n = shmbus_bcast_push_burst_try(p, bufs, 8);
		assert_true(n >= 1 && n <= 8);
		v += (uint64_t)n;
		while (want < v) {
			n = shmbus_bcast_peek_burst_try(s, ms, 8);
			assert_true(n >= 1);
			for (i = 0; i < n; i++) {
				uint64_t got;

				memcpy(&got, ms[i].data, 8);
				assert_int_equal(got, want + (uint64_t)i);
				assert_int_equal(ms[i].seq, want + (uint64_t)i);
			}
			if (n > 1) {
				assert_int_equal(shmbus_bcast_release_burst(s, 1), 1);
				want++;
				continue;
			}
			assert_int_equal(shmbus_bcast_release_burst(s, (unsigned)n), n);
			want += (uint64_t)n;
		}
	}
	/* The biggest message, after a padding record of every size. */
	for (len = 8; len <= 240; len += 24) {
		push_u64(p, v, len);
		pop_check(s, v, len, 0);
		v++;
		push_u64(p, v, 240);
		pop_check(s, v, 240, 0);
		v++;
	}
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_joiners(void **state)
{
	const char *name = mk("join", 1024, SHMBUS_BCAST_LOSSY, 8, 0);
	struct shmbus_bcast *p, *sn, *so, *sx, *e1, *e2, *e3;
	struct shmbus_bcast_msg m;
	int i;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	/* Empty: newest and oldest both get the next message. */
	assert_int_equal(shmbus_bcast_subscribe(&e1, name, SHMBUS_BCAST_FROM_NEWEST), 0);
	assert_int_equal(shmbus_bcast_subscribe(&e2, name, SHMBUS_BCAST_FROM_OLDEST), 0);
	assert_int_equal(shmbus_bcast_subscribe(&e3, name, SHMBUS_BCAST_FROM_NEXT), 0);
	push_u64(p, 0, 40);
	pop_check(e1, 0, 40, 0);
	pop_check(e2, 0, 40, 0);
	pop_check(e3, 0, 40, 0);
	/* 100 messages of 40 bytes (56 in the ring) in 1024: the oldest kept
	 * is not 1. */
	for (i = 1; i < 100; i++)
		push_u64(p, (uint64_t)i, 40);
	assert_int_equal(shmbus_bcast_subscribe(&sn, name, SHMBUS_BCAST_FROM_NEWEST), 0);
	assert_int_equal(shmbus_bcast_subscribe(&so, name, SHMBUS_BCAST_FROM_OLDEST), 0);
	assert_int_equal(shmbus_bcast_subscribe(&sx, name, SHMBUS_BCAST_FROM_NEXT), 0);
	pop_check(sn, 99, 40, 0);
	assert_int_equal(shmbus_bcast_peek_try(sn, &m), -EAGAIN);
	assert_int_equal(shmbus_bcast_peek_try(sx, &m), -EAGAIN);
	assert_int_equal(shmbus_bcast_peek_try(so, &m), 0);
	assert_true(m.seq > 80 && m.seq < 99);
	assert_int_equal(m.dropped, 0);
	for (i = (int)m.seq; i < 100; i++)
		pop_check(so, (uint64_t)i, 40, 0);
	push_u64(p, 100, 40);
	pop_check(sn, 100, 40, 0);
	pop_check(so, 100, 40, 0);
	pop_check(sx, 100, 40, 0);
	shmbus_bcast_close(sn);
	shmbus_bcast_close(so);
	shmbus_bcast_close(sx);
	shmbus_bcast_close(e1);
	shmbus_bcast_close(e2);
	shmbus_bcast_close(e3);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_reliable_backpressure(void **state)
{
	const char *name = mk("rel", 1024, SHMBUS_BCAST_RELIABLE, 4, 0);
	struct shmbus_bcast *p, *fast, *slow;
	struct shmbus_bcast_stats st;
	struct shmbus_bcast_sub_stats ss;
	uint64_t v = 0, i;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	/* No subscriber: never waits. */
	for (i = 0; i < 1000; i++)
		push_u64(p, v++, 40);
	assert_int_equal(shmbus_bcast_subscribe(&fast, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&slow, name, SHMBUS_BCAST_FROM_NEXT), 0);
	for (i = 0;; i++) {
		unsigned char buf[40];
		int rc;

		memset(buf, (int)(v & 0xff), sizeof(buf));
		memcpy(buf, &v, 8);
		rc = shmbus_bcast_push_try(p, buf, sizeof(buf));
		if (rc == -EAGAIN)
			break;
		assert_int_equal(rc, 0);
		pop_check(fast, v, 40, 0);
		v++;
	}
	/* 1024 bytes of 56-byte records: the slow one is a ring behind. */
	assert_true(i >= 1024 / 56 - 1 && i <= 1024 / 56);
	assert_int_equal(shmbus_bcast_push(p, "x", 1, 30), -ETIMEDOUT);
	assert_int_equal(shmbus_bcast_stats(p, &st), 0);
	assert_true(st.full_waits >= 1);
	assert_int_equal(st.subscribers, 2);
	assert_int_equal(shmbus_bcast_sub_stats(p, 1, &ss), 0);
	assert_int_equal(ss.lag_messages, i);
	assert_true(ss.lag_bytes >= i * 56 && ss.lag_bytes <= 1024); /* + padding */
	assert_true(ss.alive);
	assert_int_equal(shmbus_bcast_sub_stats(p, 2, &ss), -ENOENT);
	assert_int_equal(shmbus_bcast_sub_stats(p, 4, &ss), -EINVAL);
	/* The slow one reads one: room again; it reads all: no loss. */
	pop_check(slow, 1000, 40, 0);
	push_u64(p, v, 40);
	pop_check(fast, v, 40, 0);
	v++;
	for (i = 1001; i < v; i++)
		pop_check(slow, i, 40, 0);
	/* A subscriber that leaves stops holding the producer. */
	for (i = 0; i < 40; i++) {
		push_u64(p, v, 40);
		pop_check(fast, v, 40, 0);
		v++;
		if (i == 10)
			shmbus_bcast_close(slow);
	}
	shmbus_bcast_close(fast);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_lossy_lap(void **state)
{
	const char *name = mk("lossy", 1024, SHMBUS_BCAST_LOSSY, 4, 0);
	struct shmbus_bcast *p, *s, *s2;
	struct shmbus_bcast_msg m;
	struct shmbus_bcast_sub_stats ss;
	unsigned char buf[64];
	uint64_t got = 0, dropped = 0, i;
	int rc;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	push_u64(p, 0, 40);
	pop_check(s, 0, 40, 0);
	for (i = 1; i < 500; i++)
		push_u64(p, i, 40); /* never waits */
	rc = shmbus_bcast_pop_try(s, buf, sizeof(buf), &m);
	assert_int_equal(rc, 40);
	assert_true(m.seq > 400);
	assert_int_equal(m.dropped, m.seq - 1);
	dropped = m.dropped;
	got = 2;
	while ((rc = shmbus_bcast_pop_try(s, buf, sizeof(buf), &m)) == 40) {
		dropped += m.dropped;
		got++;
	}
	assert_int_equal(rc, -EAGAIN);
	assert_int_equal(got + dropped, 500);
	assert_int_equal(shmbus_bcast_sub_stats(p, 0, &ss), 0);
	assert_int_equal(ss.dropped, dropped);
	assert_int_equal(ss.msgs_out, got);
	assert_int_equal(ss.lag_messages, 0);

	/* ELAPPED: peek, the producer laps the reader, release says so. */
	push_u64(p, 500, 40);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), 0);
	assert_int_equal(m.seq, 500);
	for (i = 501; i < 600; i++)
		push_u64(p, i, 40);
	assert_int_equal(shmbus_bcast_release(s), -SHMBUS_ELAPPED);
	assert_int_equal(shmbus_bcast_pop_try(s, buf, sizeof(buf), &m), 40);
	assert_true(m.dropped > 0);
	assert_int_equal(shmbus_bcast_sub_stats(p, 0, &ss), 0);
	assert_int_equal(ss.dropped + ss.msgs_out, m.seq + 1);
	/* ELAPPED for a burst too. */
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_NEWEST), 0);
	{
		struct shmbus_bcast_msg ms[4];

		push_u64(p, 600, 40);
		push_u64(p, 601, 40);
		assert_int_equal(shmbus_bcast_peek_burst_try(s2, ms, 4), 3);
		for (i = 602; i < 700; i++)
			push_u64(p, i, 40);
		assert_int_equal(shmbus_bcast_release_burst(s2, 2), -SHMBUS_ELAPPED);
		assert_int_equal(shmbus_bcast_pop_try(s2, buf, sizeof(buf), &m), 40);
		assert_int_equal(shmbus_bcast_sub_stats(p, 1, &ss), 0);
		assert_int_equal(ss.dropped + ss.msgs_out, m.seq + 1 - 599);
	}
	shmbus_bcast_close(s2);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_eos(void **state)
{
	const char *name = mk("eos", 1024, SHMBUS_BCAST_RELIABLE, 4, 0);
	struct shmbus_bcast *p, *s, *s2, *p2;
	struct shmbus_bcast_msg m;
	unsigned char buf[64];

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_OLDEST), 0);
	/* Empty stream. */
	assert_int_equal(shmbus_bcast_close_stream(p), 0);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -SHMBUS_EEOS);
	assert_int_equal(shmbus_bcast_pop(s, buf, sizeof(buf), NULL, -1), -SHMBUS_EEOS);
	assert_int_equal(shmbus_bcast_push_try(p, "x", 1), -EPIPE);
	assert_int_equal(shmbus_bcast_reopen_stream(p), 0);
	push_u64(p, 0, 8);
	push_u64(p, 1, 8);
	assert_int_equal(shmbus_bcast_close_stream(p), 0);
	assert_int_equal(shmbus_bcast_close_stream(p), 0);
	pop_check(s, 0, 8, 0);
	pop_check(s, 1, 8, 0);
	assert_int_equal(shmbus_bcast_peek(s, &m, -1), -SHMBUS_EEOS);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -SHMBUS_EEOS);
	/* A late joiner from the oldest gets both, then the end. */
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_OLDEST), 0);
	pop_check(s2, 0, 8, 0);
	pop_check(s2, 1, 8, 0);
	assert_int_equal(shmbus_bcast_pop_try(s2, buf, sizeof(buf), NULL), -SHMBUS_EEOS);
	/* A new producer does not reopen by accident. */
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_bcast_open_producer(&p2, name), 0);
	assert_int_equal(shmbus_bcast_push_try(p2, "x", 1), -EPIPE);
	assert_int_equal(shmbus_bcast_reopen_stream(p2), 0);
	push_u64(p2, 2, 8);
	pop_check(s, 2, 8, 0);
	pop_check(s2, 2, 8, 0);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -EAGAIN);
	shmbus_bcast_close(s);
	shmbus_bcast_close(s2);
	shmbus_bcast_close(p2);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static struct bcast_shared *shared_of(struct shmbus_bcast *b)
{
	return b->sh;
}

static void test_corrupt(void **state)
{
	const char *name;
	struct shmbus_bcast *p, *s, *s2;
	struct shmbus_bcast_msg m;
	struct shmbus_bcast_stats st;
	unsigned char buf[64];
	struct bcast_shared *sh;
	int i, rc;

	(void)state;
	/* A garbage record header: the subscriber fails, not crashes. */
	name = mk("corrupt1", 1024, SHMBUS_BCAST_LOSSY, 4, 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	push_u64(p, 0, 40);
	sh = shared_of(p);
	atomic_store((_Atomic uint64_t *)(void *)((char *)sh + p->cfg.data_off),
		     UINT64_C(0xdeadbeefcafef00d));
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_bcast_pop_try(s, buf, sizeof(buf), NULL), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_bcast_stats(s, &st), 0);
	assert_true(st.corrupt);
	/* A ring marked corrupt opens no more. */
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_NEXT), -SHMBUS_ECORRUPT);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);

	/* A wrong sequence number. */
	name = mk("corrupt2", 1024, SHMBUS_BCAST_RELIABLE, 4, 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	push_u64(p, 0, 8);
	pop_check(s, 0, 8, 0);
	push_u64(p, 1, 8);
	sh = shared_of(p);
	atomic_store((_Atomic uint64_t *)(void *)((char *)sh + p->cfg.data_off + 24 + 8), 77);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), -SHMBUS_ECORRUPT);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);

	/* A garbage cursor: the reliable producer fails when it scans. */
	name = mk("corrupt3", 1024, SHMBUS_BCAST_RELIABLE, 4, 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	sh = shared_of(p);
	atomic_store(&p->subs[0].pos, UINT64_C(0x123456789abcdef1));
	for (i = 0; i < 100; i++) {
		rc = shmbus_bcast_push_try(p, "xxxxxxxx", 8);
		if (rc)
			break;
	}
	assert_int_equal(rc, -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_bcast_push(p, "x", 1, -1), -SHMBUS_ECORRUPT);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);

	/* Random bytes over the control part and the ring: any call returns,
	 * with data or an error, and never crashes or hangs. */
	srand(42);
	for (i = 0; i < 200; i++) {
		struct shmbus_bcast_params prm = { .capacity = 256, .subscribers = 2,
						   .policy = (uint32_t)(1 + i % 2) };
		size_t off, k, lim;
		unsigned char *base;

		name = tu_name("corrupt4");
		assert_int_equal(shmbus_bcast_create(name, &prm), 0);
		assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
		assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_OLDEST), 0);
		for (k = 0; k < 7; k++)
			rc = shmbus_bcast_push_try(p, "abcdefghijklmnopqrstu", k * 3);
		base = (unsigned char *)shared_of(p);
		lim = (size_t)(p->cfg.data_off + p->cap);
		/* Positions and cursors (256..) or the ring. */
		for (k = 0; k < 8; k++) {
			off = 256 + (size_t)rand() % (lim - 256);
			if (off >= 384 && off < 512)
				continue; /* wait queues: a sleep of 200 ms each */
			if (off >= 128 && off < 256)
				continue;
			base[off] = (unsigned char)rand();
		}
		for (k = 0; k < 20; k++) {
			rc = shmbus_bcast_pop_try(s, buf, sizeof(buf), &m);
			if (shmbus_bcast_push_try(p, "0123456789", k % 11) == -SHMBUS_ECORRUPT &&
			    rc == -SHMBUS_ECORRUPT)
				break;
		}
		assert_int_equal(shmbus_bcast_stats(p, &st), 0);
		shmbus_bcast_close(s);
		shmbus_bcast_close(p);
		assert_int_equal(shmbus_block_unlink(name), 0);
	}
}

/* A subscriber whose process is dead holds the reliable producer for the
 * liveness timeout, then no more. */
static void test_dead_subscriber(void **state)
{
	const char *name = mk("dead", 1024, SHMBUS_BCAST_RELIABLE, 4, 100);
	struct shmbus_bcast *p, *s, *live;
	struct shmbus_bcast_stats st;
	shmbus_ident_t dead;
	pid_t pid;
	int i, rc = 0;

	(void)state;
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(shmbus_proc_ident(pid, &dead), 0);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_false(shmbus_proc_alive(dead));
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&live, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	/* Make the second one the dead process's. */
	atomic_store(&s->part[1 + s->idx].ident, dead);
	/* With no namespace tag it is judged by pid (proc_internal.h): our
	 * own tag, bound to our ident, would make it "unknown" instead. */
	atomic_store(&s->part[1 + s->idx].ns, 0);
	atomic_store(&s->mine->active, dead);
	for (i = 0; i < 200; i++) {
		rc = shmbus_bcast_push_try(p, "xxxxxxxxxxxxxxxxxxxxxxxx", 24);
		if (rc)
			break;
		assert_int_equal(shmbus_bcast_pop_try(live, (char[64]){ 0 }, 64, NULL), 24);
	}
	assert_int_equal(rc, -EAGAIN);
	/* Blocking: waits about the liveness timeout, then goes on. */
	assert_int_equal(shmbus_bcast_push(p, "yyyyyyyyyyyyyyyyyyyyyyyy", 24, 5000), 0);
	assert_int_equal(shmbus_bcast_stats(p, &st), 0);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.subscribers, 1);
	for (i = 0; i < 200; i++) {
		assert_int_equal(shmbus_bcast_pop_try(live, (char[64]){ 0 }, 64, NULL) >= 0, 1);
		assert_int_equal(shmbus_bcast_push_try(p, "z", 1), 0);
	}
	shmbus_bcast_close(s); /* its entry is not ours any more: harmless */
	shmbus_bcast_close(live);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static json_t *ring_of(const char *name)
{
	struct shmbus_snapshot *snap;
	json_t *doc, *ring;
	char *text;

	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	text = shmbus_snapshot_json(snap, 0);
	assert_non_null(text);
	shmbus_snapshot_free(snap);
	doc = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(doc);
	ring = json_object_get(doc, "ring");
	assert_non_null(ring);
	json_incref(ring);
	json_decref(doc);
	return ring;
}

static void test_stats_inspect(void **state)
{
	const char *name = mk("inspect", 4096, SHMBUS_BCAST_LOSSY, 8, 0);
	struct shmbus_bcast *p, *s1, *s2;
	struct shmbus_bcast_stats st;
	struct shmbus_bcast_sub_stats ss;
	json_t *ring, *subs, *u;
	uint64_t i;

	(void)state;
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s1, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s2, name, SHMBUS_BCAST_FROM_NEXT), 0);
	for (i = 0; i < 10; i++)
		push_u64(p, i, 24);
	for (i = 0; i < 4; i++)
		pop_check(s1, i, 24, 0);
	assert_int_equal(shmbus_bcast_stats(s1, &st), 0);
	assert_int_equal(st.seq, 10);
	assert_int_equal(st.msgs_in, 10);
	assert_int_equal(st.bytes_in, 240);
	assert_int_equal(st.tail, 400);
	assert_int_equal(st.head, 0);
	assert_int_equal(st.subscribers, 2);
	assert_true(st.producer_alive);
	assert_false(st.closed);
	assert_false(st.corrupt);
	assert_int_equal(shmbus_bcast_sub_stats(p, 0, &ss), 0);
	assert_int_equal(ss.position, 160);
	assert_int_equal(ss.lag_messages, 6);
	assert_int_equal(ss.lag_bytes, 240);
	assert_int_equal(ss.msgs_out, 4);
	assert_int_equal(ss.bytes_out, 96);
	assert_int_equal(ss.ident, shmbus_proc_self());
	assert_int_equal(shmbus_bcast_close_stream(p), 0);

	ring = ring_of(name);
	assert_string_equal(json_string_value(json_object_get(ring, "policy")), "lossy");
	assert_int_equal(json_integer_value(json_object_get(ring, "capacity")), 4096);
	assert_int_equal(json_integer_value(json_object_get(ring, "tail")), 400);
	assert_int_equal(json_integer_value(json_object_get(ring, "head")), 0);
	assert_int_equal(json_integer_value(json_object_get(ring, "seq")), 10);
	assert_true(json_is_true(json_object_get(ring, "eos")));
	assert_true(json_is_false(json_object_get(ring, "corrupt")));
	subs = json_object_get(ring, "subscribers");
	assert_int_equal(json_array_size(subs), 2);
	u = json_array_get(subs, 0);
	assert_int_equal(json_integer_value(json_object_get(u, "pid")), getpid());
	assert_true(json_is_true(json_object_get(u, "alive")));
	assert_int_equal(json_integer_value(json_object_get(u, "position")), 160);
	assert_int_equal(json_integer_value(json_object_get(u, "lag_messages")), 6);
	assert_int_equal(json_integer_value(json_object_get(u, "lag_bytes")), 240);
	assert_int_equal(json_integer_value(json_object_get(u, "dropped")), 0);
	u = json_array_get(subs, 1);
	assert_int_equal(json_integer_value(json_object_get(u, "lag_messages")), 10);
	json_decref(ring);
	shmbus_bcast_close(s1);
	shmbus_bcast_close(s2);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_bad_args, tu_teardown),
		cmocka_unit_test_teardown(test_roles_and_errors, tu_teardown),
		cmocka_unit_test_teardown(test_wrap_and_bursts, tu_teardown),
		cmocka_unit_test_teardown(test_joiners, tu_teardown),
		cmocka_unit_test_teardown(test_reliable_backpressure, tu_teardown),
		cmocka_unit_test_teardown(test_lossy_lap, tu_teardown),
		cmocka_unit_test_teardown(test_eos, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt, tu_teardown),
		cmocka_unit_test_teardown(test_dead_subscriber, tu_teardown),
		cmocka_unit_test_teardown(test_stats_inspect, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
