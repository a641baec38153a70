/*
 * tu_spsc.h - what the SPSC tests share: messages whose length and
 * every byte follow from their sequence number, so a consumer can tell a
 * lost, duplicated, reordered, torn or corrupted message from a good one.
 *
 * Layout of message n (length msg_len(n, max)):
 *   len >= 16: [u64 n][pattern bytes...][u64 FNV-1a of all bytes before it]
 *   len <  16: pattern bytes only (the length and bytes still depend on n)
 */
#ifndef SHMBUS_TU_SPSC_H
#define SHMBUS_TU_SPSC_H

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "relax_internal.h"
#include "shmbus/spsc.h"

static inline uint64_t tu_spsc_mix(uint64_t x)
{
	/* splitmix64 finaliser */
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Length of message @n: 0..@max, skewed towards small ones. */
static inline size_t tu_spsc_len(uint64_t n, size_t max)
{
	uint64_t h = tu_spsc_mix(n ^ UINT64_C(0x5bd1e995));

	if ((h & 7) == 0)
		return (size_t)((h >> 8) % (max + 1));
	return (size_t)((h >> 8) % ((max < 64 ? max : 64) + 1));
}

static inline uint64_t tu_spsc_fnv(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* Write message @n of @len bytes into @buf. */
static inline void tu_spsc_fill(unsigned char *buf, uint64_t n, size_t len)
{
	uint64_t h = tu_spsc_mix(n), sum;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((h >> (i % 8 * 8)) ^ i);
	if (len >= 16) {
		memcpy(buf, &n, 8);
		sum = tu_spsc_fnv(buf, len - 8);
		memcpy(buf + len - 8, &sum, 8);
	}
}

/* Whether @buf (@len bytes) is exactly message @n of a stream whose lengths
 * come from tu_spsc_len(., @max) (pass @max = 0 to skip the length check). */
static inline bool tu_spsc_check(const unsigned char *buf, size_t len, uint64_t n, size_t max)
{
	uint64_t h = tu_spsc_mix(n), v;
	size_t i;

	if (max && len != tu_spsc_len(n, max))
		return false;
	if (len >= 16) {
		memcpy(&v, buf, 8);
		if (v != n)
			return false;
		memcpy(&v, buf + len - 8, 8);
		if (v != tu_spsc_fnv(buf, len - 8))
			return false;
		for (i = 8; i < len - 8; i++)
			if (buf[i] != (unsigned char)((h >> (i % 8 * 8)) ^ i))
				return false;
		return true;
	}
	for (i = 0; i < len; i++)
		if (buf[i] != (unsigned char)((h >> (i % 8 * 8)) ^ i))
			return false;
	return true;
}


/* ----------------------------------------------------------------------
 * A verified stream through one ring, using every API form in turn: the
 * producer and consumer loops of the thread and multi-process tests.
 */
struct tu_spsc_stream {
	uint64_t count;     /* messages */
	size_t max_len;     /* lengths come from tu_spsc_len(n, max_len) */
	bool blocking;      /* blocking calls, else _try calls and spinning */
	int timeout_ms;     /* per blocking call: a lost wake-up shows as
			     * -ETIMEDOUT instead of a hang */
};

static inline void tu_spsc_relax(unsigned *fails)
{
	relax_cpu();
	/* two cores shared with other test runs: do not starve the peer */
	if (++*fails % 64 == 0)
		sched_yield();
}

static inline int tu_spsc_fail(const char *side, const char *what, uint64_t n, int rc)
{
	fprintf(stderr, "%s: %s at message %llu: %s\n", side, what, (unsigned long long)n,
		shmbus_strerror(rc));
	return 1;
}

/* Produce s->count messages into @q; 0 or 1 (after printing why). */
static inline int tu_spsc_produce(const struct tu_spsc_stream *s, struct shmbus_spsc *q)
{
	struct shmbus_spsc_buf bufs[8];
	unsigned char tmp[4096];
	uint64_t n = 0;
	unsigned fails = 0;
	int rc;

	while (n < s->count) {
		uint64_t h = tu_spsc_mix(n ^ 0x77), k, i;
		size_t len = tu_spsc_len(n, s->max_len), extra = (size_t)(h >> 20) % 50;
		void *w;

		switch (h % 4) {
		case 0:
			tu_spsc_fill(tmp, n, len);
			rc = s->blocking ? shmbus_spsc_push(q, tmp, len, s->timeout_ms)
					 : shmbus_spsc_push_try(q, tmp, len);
			if (rc == 0)
				n++;
			break;
		case 1:
		case 2:
			if (h % 4 == 1)
				extra = 0;
			rc = s->blocking ? shmbus_spsc_reserve(q, len + extra, &w, s->timeout_ms)
					 : shmbus_spsc_reserve_try(q, len + extra, &w);
			if (rc == 0) {
				tu_spsc_fill(w, n, len);
				rc = shmbus_spsc_commit(q, len);
				if (rc)
					return tu_spsc_fail("producer", "commit", n, rc);
				n++;
			}
			break;
		default:
			k = 1 + (h >> 8) % 8;
			if (k > s->count - n)
				k = s->count - n;
			for (i = 0; i < k; i++)
				bufs[i].len = tu_spsc_len(n + i, s->max_len) + extra;
			rc = s->blocking ? shmbus_spsc_reserve_burst(q, bufs, (unsigned)k, s->timeout_ms)
					 : shmbus_spsc_reserve_burst_try(q, bufs, (unsigned)k);
			if (rc > 0) {
				/* commit all, or all but the last */
				k = (h >> 12) % 3 == 0 && rc > 1 ? (uint64_t)rc - 1 : (uint64_t)rc;
				for (i = 0; i < k; i++) {
					bufs[i].len = tu_spsc_len(n + i, s->max_len);
					tu_spsc_fill(bufs[i].data, n + i, bufs[i].len);
				}
				rc = shmbus_spsc_commit_bulk(q, bufs, (unsigned)k);
				if (rc)
					return tu_spsc_fail("producer", "commit_bulk", n, rc);
				n += k;
			}
			break;
		}
		if (rc == -EAGAIN && !s->blocking)
			tu_spsc_relax(&fails);
		else if (rc < 0)
			return tu_spsc_fail("producer", "reserve", n, rc);
	}
	return 0;
}

/* Consume and check s->count messages from @q; 0 or 1. */
static inline int tu_spsc_consume(const struct tu_spsc_stream *s, struct shmbus_spsc *q)
{
	static unsigned char tmp[1 << 16];
	struct shmbus_spsc_msg msgs[8];
	uint64_t n = 0, h, i;
	unsigned fails = 0;
	const void *d, *d2;
	size_t len, len2;
	int rc;

	while (n < s->count) {
		h = tu_spsc_mix(n ^ 0x99);
		switch (h % 4) {
		case 0:
			rc = s->blocking ? shmbus_spsc_pop(q, tmp, sizeof(tmp), s->timeout_ms)
					 : shmbus_spsc_pop_try(q, tmp, sizeof(tmp));
			if (rc >= 0) {
				if (!tu_spsc_check(tmp, (size_t)rc, n, s->max_len))
					return tu_spsc_fail("consumer", "bad message (pop)", n, 0);
				n++;
			}
			break;
		case 1:
		case 2:
			rc = s->blocking ? shmbus_spsc_peek(q, &d, &len, s->timeout_ms)
					 : shmbus_spsc_peek_try(q, &d, &len);
			if (rc == 0) {
				if (!tu_spsc_check(d, len, n, s->max_len))
					return tu_spsc_fail("consumer", "bad message (peek)", n, 0);
				if (h % 4 == 2) {
					/* peeking again gives the same message */
					rc = shmbus_spsc_peek_try(q, &d2, &len2);
					if (rc || d2 != d || len2 != len)
						return tu_spsc_fail("consumer", "second peek", n, rc);
				}
				rc = shmbus_spsc_release(q);
				if (rc)
					return tu_spsc_fail("consumer", "release", n, rc);
				n++;
			}
			break;
		default:
			rc = s->blocking
				     ? shmbus_spsc_peek_burst(q, msgs, 1 + (unsigned)((h >> 8) % 8),
							      s->timeout_ms)
				     : shmbus_spsc_peek_burst_try(q, msgs, 1 + (unsigned)((h >> 8) % 8));
			if (rc > 0) {
				uint64_t k = (h >> 16) % 2 && rc > 1 ? (uint64_t)rc / 2 : (uint64_t)rc;

				for (i = 0; i < (uint64_t)rc; i++)
					if (!tu_spsc_check(msgs[i].data, msgs[i].len, n + i, s->max_len))
						return tu_spsc_fail("consumer", "bad message (burst)", n + i, 0);
				rc = shmbus_spsc_release_burst(q, (unsigned)k);
				if (rc != (int)k)
					return tu_spsc_fail("consumer", "release_burst", n, rc);
				n += k;
			}
			break;
		}
		if (rc == -EAGAIN && !s->blocking)
			tu_spsc_relax(&fails);
		else if (rc < 0)
			return tu_spsc_fail("consumer", "take", n, rc);
	}
	/* nothing more than was sent */
	rc = shmbus_spsc_peek_try(q, &d, &len);
	if (rc != -EAGAIN)
		return tu_spsc_fail("consumer", "extra message after the last", n, rc);
	return 0;
}

#endif
