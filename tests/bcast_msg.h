/*
 * bcast_msg.h - self-checking messages for the broadcast ring's tests: the
 * length, every byte and a checksum follow from the sequence number, so a
 * reader can tell an intact message from a torn one (bytes of two messages)
 * or a wrong one without any other knowledge.
 *
 * Layout of message @seq (bcast_msg_len(seq) bytes, 24..BCAST_MSG_MAX):
 *   [0, 8)          seq
 *   [8, len - 8)    byte i is (seq * 31 + i) & 0xff
 *   [len - 8, len)  FNV-1a 64 of bytes [0, len - 8), xor len
 *
 * And the two sides of the torn-read test (threads in
 * test_broadcast_threads.c, processes in mp_broadcast.c): a producer that
 * pushes such messages at full speed into a small lossy ring, and readers
 * that check every message the ring returns as valid.
 */
#ifndef SHMBUS_TEST_BCAST_MSG_H
#define SHMBUS_TEST_BCAST_MSG_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <shmbus/shmbus.h>

#define BCAST_MSG_MAX 64

static inline size_t bcast_msg_len(uint64_t seq)
{
	return 24 + (size_t)(seq * 7 % (BCAST_MSG_MAX - 23));
}

static inline uint64_t bcast_msg_sum(const unsigned char *b, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i + 8 < len; i++)
		h = (h ^ b[i]) * UINT64_C(0x100000001b3);
	return h ^ len;
}

/* Write message @seq into @b (BCAST_MSG_MAX bytes of room). */
static inline void bcast_msg_fill(unsigned char *b, uint64_t seq)
{
	size_t i, len = bcast_msg_len(seq);
	uint64_t sum;

	memcpy(b, &seq, 8);
	for (i = 8; i < len - 8; i++)
		b[i] = (unsigned char)(seq * 31 + i);
	sum = bcast_msg_sum(b, len);
	memcpy(b + len - 8, &sum, 8);
}

/* Whether @b (@len bytes) is message @seq, intact. */
static inline bool bcast_msg_ok(const unsigned char *b, size_t len, uint64_t seq)
{
	uint64_t s, sum;
	size_t i;

	if (len != bcast_msg_len(seq))
		return false;
	memcpy(&s, b, 8);
	if (s != seq)
		return false;
	for (i = 8; i < len - 8; i++)
		if (b[i] != (unsigned char)(seq * 31 + i))
			return false;
	memcpy(&sum, b + len - 8, 8);
	return sum == bcast_msg_sum(b, len);
}

/* Push messages 0..@count-1 as fast as the ring takes them (a lossy one
 * never waits), then close the stream.  0 or a negative error (printed). */
static inline int bcast_torn_produce(const char *name, uint64_t count)
{
	unsigned char buf[BCAST_MSG_MAX];
	struct shmbus_bcast *p;
	uint64_t seq;
	int rc = shmbus_bcast_open_producer(&p, name);

	for (seq = 0; rc == 0 && seq < count; seq++) {
		bcast_msg_fill(buf, seq);
		rc = shmbus_bcast_push(p, buf, bcast_msg_len(seq), 10000);
	}
	if (rc == 0)
		rc = shmbus_bcast_close_stream(p);
	shmbus_bcast_close(p);
	if (rc)
		fprintf(stderr, "torn producer: %s\n", shmbus_strerror(rc));
	return rc;
}

/* The test's own copy out of a message read in place: in a lossy ring it
 * races, by design, with the producer overwriting the bytes (release tells
 * whether it did).  Out of line so that tests/tsan.supp names this race. */
static __attribute__((noinline, unused)) void bcast_torn_copy(void *dst, const void *src,
							    size_t n)
{
	unsigned i;

	/* In two halves with a pause between: a wider window for the
	 * producer to overwrite the message mid-copy. */
	memcpy(dst, src, n / 2);
	for (i = 0; i < 64; i++)
		shmbus_cpu_relax();
	memcpy((char *)dst + n / 2, (const char *)src + n / 2, n - n / 2);
}

/* How a torn-read reader reads. */
enum bcast_torn_mode {
	BCAST_TORN_POP,     /* pop: a copy the ring checked */
	BCAST_TORN_PEEK,    /* peek in place, copy, release (-SHMBUS_ELAPPED) */
	BCAST_TORN_BURST,   /* peek_burst of 8, copy, release_burst */
};

struct bcast_torn_result {
	uint64_t valid;     /* messages the ring returned as valid */
	uint64_t elapsed;   /* releases that said -SHMBUS_ELAPPED */
	uint64_t torn;      /* of these, those whose copy was indeed torn */
	uint64_t dropped;   /* the ring's count for this subscriber, at the end */
};

static inline int bcast_torn_fail(const char *what, uint64_t seq, int rc)
{
	fprintf(stderr, "torn reader: %s at %llu: %s\n", what, (unsigned long long)seq,
		rc ? shmbus_strerror(rc) : "bad message");
	return rc ? rc : -EBADMSG;
}

/*
 * bcast_torn_read - join @name from the oldest message (before the producer
 * starts, so the first expected seq is 0), wait until the producer is
 * @lap_msgs messages in (more than the ring holds: this reader is lapped
 * for sure), then read to the end of the stream in @mode.  Every message
 * the ring returns as valid must be intact (bcast_msg_ok()) and its seq
 * strictly above the last one's, the gap equal to its `dropped`; at the end
 * valid + the ring's dropped count == @count, and dropped > 0.  0 or a
 * negative error (printed).  @joined (may be NULL) is set once joined.
 */
static inline int bcast_torn_read(const char *name, uint64_t count, uint64_t lap_msgs,
				  enum bcast_torn_mode mode, _Atomic int *joined,
				  struct bcast_torn_result *res)
{
	unsigned char copy[8][BCAST_MSG_MAX];
	struct shmbus_bcast_msg ms[8];
	struct shmbus_bcast_sub_stats ss;
	struct shmbus_bcast_stats st;
	struct shmbus_bcast *s;
	uint64_t next = 0, seen_dropped = 0;
	int rc = shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_OLDEST), n, i;

	memset(res, 0, sizeof(*res));
	if (rc)
		return bcast_torn_fail("subscribe", 0, rc);
	if (joined)
		atomic_store(joined, 1);
	do {
		usleep(200);
		rc = shmbus_bcast_stats(s, &st);
	} while (rc == 0 && st.seq < lap_msgs && !st.closed);
	for (; rc == 0;) {
		uint64_t gap;

		if (mode == BCAST_TORN_POP) {
			n = shmbus_bcast_pop(s, copy[0], BCAST_MSG_MAX, &ms[0], 10000);
			if (n >= 0) {
				ms[0].len = (size_t)n;
				n = 1;
			}
		} else {
			n = mode == BCAST_TORN_PEEK ? shmbus_bcast_peek(s, &ms[0], 10000) :
						      shmbus_bcast_peek_burst(s, ms, 8, 10000);
			if (n == 0 && mode == BCAST_TORN_PEEK)
				n = 1;
			/* Copy out what may be being overwritten; release
			 * says whether it was. */
			for (i = 0; i < n; i++)
				bcast_torn_copy(copy[i], ms[i].data,
						ms[i].len < BCAST_MSG_MAX ? ms[i].len : BCAST_MSG_MAX);
		}
		if (n == -SHMBUS_EEOS)
			break;
		if (n < 0)
			return bcast_torn_fail("read", next, n);
		/* The seq and the gap were validated at the read. */
		if (ms[0].seq < next || ms[0].seq - next != ms[0].dropped)
			return bcast_torn_fail("sequence", ms[0].seq, 0);
		gap = ms[0].dropped;
		for (i = 1; i < n; i++)
			if (ms[i].seq != ms[0].seq + (uint64_t)i || ms[i].dropped)
				return bcast_torn_fail("burst sequence", ms[i].seq, 0);
		next = ms[n - 1].seq + 1;
		if (mode != BCAST_TORN_POP) {
			rc = mode == BCAST_TORN_PEEK ? shmbus_bcast_release(s) :
						       shmbus_bcast_release_burst(s, (unsigned)n);
			if (rc == -SHMBUS_ELAPPED) {
				/* Overwritten while read: all of it dropped. */
				res->elapsed++;
				for (i = 0; i < n; i++)
					if (ms[i].len > BCAST_MSG_MAX ||
					    !bcast_msg_ok(copy[i], ms[i].len, ms[i].seq)) {
						res->torn++;
						break;
					}
				seen_dropped += gap + (uint64_t)n;
				rc = 0;
				continue;
			}
			if (rc < 0)
				return bcast_torn_fail("release", next, rc);
			rc = 0;
		}
		for (i = 0; i < n; i++)
			if (ms[i].len > BCAST_MSG_MAX || !bcast_msg_ok(copy[i], ms[i].len, ms[i].seq))
				return bcast_torn_fail("torn message returned as valid", ms[i].seq,
						       0);
		res->valid += (uint64_t)n;
		seen_dropped += gap;
	}
	if (rc == 0)
		rc = shmbus_bcast_sub_stats(s, (unsigned)shmbus_bcast_index(s), &ss);
	shmbus_bcast_close(s);
	if (rc)
		return bcast_torn_fail("stats", next, rc);
	res->dropped = ss.dropped;
	/* What was lost after the last one read counts at the end too. */
	if (ss.msgs_out != res->valid || res->valid + ss.dropped != count ||
	    ss.dropped < seen_dropped || ss.dropped == 0)
		return bcast_torn_fail("valid + dropped != sent, or nothing dropped", res->valid,
				       0);
	return 0;
}

#endif
