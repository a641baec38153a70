/*
 * shmbus/broadcast.h - one stream, many readers: a ring of variable-length
 * messages in a named block that one producer appends to and that every
 * subscriber reads in full, in place, at its own pace.
 *
 * One process produces; up to `subscribers` processes (or threads, one
 * handle each) subscribe, each with its own cursor in the block.  Every
 * message carries its sequence number (0, 1, 2, ... in commit order).  The
 * producer reserves room, writes in place and commits (or pushes a copy);
 * a subscriber peeks the next message in place and releases it (or pops a
 * copy).  Messages: 0 to shmbus_bcast_max_msg() bytes (capacity - 16),
 * contiguous, 8-byte aligned; each costs its length rounded up to 8 plus a
 * 16-byte header in the ring.
 *
 * Policy, fixed at creation:
 *  - SHMBUS_BCAST_RELIABLE: the producer never overwrites a message that a
 *    live subscriber has not read; when the slowest one is a ring behind,
 *    the producer waits (the _try calls return -EAGAIN).  A subscriber
 *    whose process died stops holding the producer back once the producer
 *    has been held by it for the liveness timeout (its entry is then
 *    freed).  With no subscriber at all the producer never waits: messages
 *    are kept until their room is needed, so a subscriber that joins at the
 *    oldest message gets what is still there.
 *  - SHMBUS_BCAST_LOSSY: the producer never waits.  A subscriber that the
 *    producer laps finds out by the sequence numbers, counts exactly how
 *    many messages it missed (`dropped`, in its cursor in the block and in
 *    shmbus_bcast_msg.dropped of the next message it gets) and resumes at
 *    the oldest message still in the ring.  Reads in place are validated
 *    after the read (a seqlock): pop never returns a torn or overwritten
 *    message, and release returns -SHMBUS_ELAPPED when the message the
 *    caller read in place was overwritten meanwhile (discard what was read).
 * In both policies the producer retires old messages a little ahead of need
 * (up to an eighth of the ring at a time), never the newest one unless a
 * message needs the whole ring.
 *
 * Joining: SHMBUS_BCAST_FROM_NEWEST starts at the most recent committed
 * message still in the ring (the next one if there is none);
 * SHMBUS_BCAST_FROM_OLDEST at the oldest still in the ring;
 * SHMBUS_BCAST_FROM_NEXT with the first message committed after the join.
 * The subscriber learns at the join the sequence number it starts at, so
 * `dropped` counts every message lost from there on, including those lost
 * before its first read (and, at the end of the stream, after its last).
 *
 * End of stream: shmbus_bcast_close_stream() (producer).  Subscribers get
 * every message committed before it, then -SHMBUS_EEOS from every peek and
 * pop (repeatably; blocking calls asleep are woken).  Pushing on a closed
 * stream fails with -EPIPE.  The closed state is in the block: a producer
 * that takes over the role does not reopen it; only
 * shmbus_bcast_reopen_stream() does (then subscribers get new messages
 * again).
 *
 * Roles and crashes: one live producer (-EBUSY for a second; the role of a
 * dead one, by pid + start time, is taken over by the next open, which
 * continues from the positions in the block).  A producer killed between
 * reserve and commit leaves nothing visible; one killed anywhere leaves the
 * committed messages readable.  A subscriber killed anywhere leaves its
 * entry, which holds a reliable producer for at most the liveness timeout.
 *
 * Corruption: every position, record header, sequence number and cursor read
 * from the block is checked before use; an inconsistent value makes the call
 * return -SHMBUS_ECORRUPT, marks the ring corrupt in the block and fails
 * every later call on that handle.
 *
 * Suffixes (as everywhere in shmbus): _try never blocks (-EAGAIN); the other
 * forms spin a little, then sleep on a futex in the block, up to @timeout_ms
 * (< 0: forever, 0: do not wait; -ETIMEDOUT instead of -EAGAIN); _burst takes
 * what fits.  Handles do not survive fork().
 *
 * Synchronisation table
 *   call                              caller             may run concurrently with
 *   --------------------------------  -----------------  ------------------------------
 *   create                            anyone             everything (exclusive create)
 *   open_producer, subscribe          anyone             everything
 *   close                             handle owner       every call on other handles
 *   reserve*, commit, push*,          producer handle    every subscriber call, stats,
 *   close_stream, reopen_stream       (one thread)       inspection
 *   peek*, release*, pop*             subscriber handle  every producer call, other
 *                                     (one thread)       subscribers, stats, inspection
 *   stats, sub_stats, accessors       any thread         everything but close of @b
 * Progress: the producer's _try calls and commit are lock-free in lossy
 * mode and in reliable mode when no subscriber is a ring behind (they make a
 * futex_wake system call only when a subscriber sleeps); a reliable
 * producer's _try call that finds the ring full reads each subscriber's
 * cursor, and /proc once it has been held for the liveness timeout.
 * Subscriber _try calls and release are wait-free in reliable mode and
 * lock-free in lossy mode (a read overwritten meanwhile is retried).
 * subscribe scans the subscriber table; stats read /proc.  Calls with a
 * timeout are blocking.
 * Memory ordering: everything the producer wrote into a message before
 * commit is visible to a subscriber that peeks it; in reliable mode
 * everything a subscriber did with a message before release happens before
 * the producer reuses its bytes.
 */
#ifndef SHMBUS_BROADCAST_H
#define SHMBUS_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/error.h"
#include "shmbus/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits and defaults. */
#define SHMBUS_BCAST_CAPACITY_MIN 64u
#define SHMBUS_BCAST_CAPACITY_MAX (1u << 30)
#define SHMBUS_BCAST_SUBSCRIBERS_DEFAULT 64u
#define SHMBUS_BCAST_SUBSCRIBERS_MAX 1024u
#define SHMBUS_BCAST_LIVENESS_DEFAULT_MS 500u
#define SHMBUS_BCAST_LIVENESS_MAX_MS 60000u
/* Bytes of header in front of each message in the ring. */
#define SHMBUS_BCAST_RECORD_HEADER 16u

enum shmbus_bcast_policy {
	SHMBUS_BCAST_RELIABLE = 1,
	SHMBUS_BCAST_LOSSY = 2,
};

/* Where a new subscriber starts (see the top of this file). */
enum shmbus_bcast_from {
	SHMBUS_BCAST_FROM_NEWEST = 1,
	SHMBUS_BCAST_FROM_OLDEST = 2,
	SHMBUS_BCAST_FROM_NEXT = 3,
};

/* Roles; also the role codes in the participant table. */
enum shmbus_bcast_role {
	SHMBUS_BCAST_PRODUCER = 1,
	SHMBUS_BCAST_SUBSCRIBER = 2,
};

struct shmbus_bcast;

/* Geometry and policy of a new ring.  Zero fields take their default. */
struct shmbus_bcast_params {
	uint64_t capacity;     /* ring bytes, power of two, CAPACITY_MIN..MAX; required */
	uint32_t subscribers;  /* most subscribers at once, 1..SUBSCRIBERS_MAX,
				* 0: SUBSCRIBERS_DEFAULT */
	uint32_t policy;       /* enum shmbus_bcast_policy; 0: RELIABLE */
	uint32_t liveness_ms;  /* how long a reliable producer is held by one
				* subscriber before it checks whether that one is
				* dead; 1..LIVENESS_MAX_MS, 0: LIVENESS_DEFAULT_MS */
	mode_t mode;           /* permission bits, 0: 0600; OR SHMBUS_MODE_EPHEMERAL
				* for an ephemeral ring (block.h) */
};

/* One message seen by a subscriber. */
struct shmbus_bcast_msg {
	const void *data;      /* in place (peek) or the caller's buffer (pop) */
	size_t len;
	uint64_t seq;          /* its sequence number */
	uint64_t dropped;      /* lossy: messages lost just before this one */
};

/* One message to push (push_burst). */
struct shmbus_bcast_buf {
	const void *data;
	size_t len;
};

/* The ring as the producer's side of the block shows it. */
struct shmbus_bcast_stats {
	uint64_t capacity;
	uint64_t max_msg;
	uint32_t policy;        /* enum shmbus_bcast_policy */
	uint32_t subscribers_max;
	uint32_t subscribers;   /* entries in use (alive or not) */
	uint32_t liveness_ms;
	uint64_t head;          /* position of the oldest message kept (bytes) */
	uint64_t tail;          /* position after the newest message (bytes) */
	uint64_t seq;           /* sequence number of the next message = messages
				 * committed so far (one more if the producer died
				 * inside a commit: that one is never published) */
	uint64_t msgs_in;
	uint64_t bytes_in;
	uint64_t full_waits;    /* blocking producer calls that had to wait */
	uint64_t wakes;         /* futex wakes issued (all sides) */
	uint64_t evicted;       /* dead subscribers the producer stopped waiting for */
	shmbus_ident_t producer;
	bool producer_alive;
	bool closed;            /* end of stream */
	bool corrupt;
};

/* One subscriber's cursor. */
struct shmbus_bcast_sub_stats {
	uint32_t index;
	shmbus_ident_t ident;
	bool alive;
	uint64_t position;      /* next record it reads (bytes) */
	uint64_t next_seq;      /* sequence number it expects next */
	uint64_t lag_messages;  /* seq - next_seq */
	uint64_t lag_bytes;     /* tail - position */
	uint64_t msgs_out;
	uint64_t bytes_out;
	uint64_t dropped;
	uint64_t waits;         /* blocking calls that had to wait */
};

/*
 * shmbus_bcast_create - create the block @name with an empty ring as
 * @params says, and detach.  Returns 0, -EINVAL (bad name or params),
 * -EEXIST, -ENOSPC, or another code of shmbus_block_create().  On failure
 * nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_create(const char *name,
						      const struct shmbus_bcast_params *params);

/*
 * shmbus_bcast_open_producer - attach @name and take the producer role.
 * Returns 0 and fills @out, or -EINVAL, -ENOENT, -EBUSY (a live producer,
 * this process included), -SHMBUS_EKIND, -SHMBUS_EVERSION,
 * -SHMBUS_ENOTREADY, -SHMBUS_ECORRUPT, -ENOMEM, -EACCES, -ESRCH.  A dead
 * producer's role is taken over; the stream stays closed if it was.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_open_producer(struct shmbus_bcast **out,
							     const char *name);

/*
 * shmbus_bcast_subscribe - attach @name and join as a subscriber starting
 * @from.  Returns 0 and fills @out, or -EINVAL, -ENOSPC (every subscriber
 * entry has a live owner), and the errors of open_producer but -EBUSY.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_subscribe(struct shmbus_bcast **out,
							 const char *name,
							 enum shmbus_bcast_from from);

/* shmbus_bcast_close - leave (subscriber) or give the role back (producer)
 * and detach.  An uncommitted reservation is dropped.  NULL is accepted. */
SHMBUS_API void shmbus_bcast_close(struct shmbus_bcast *b);

/* Accessors; cannot fail. */
SHMBUS_API size_t shmbus_bcast_capacity(const struct shmbus_bcast *b);
SHMBUS_API size_t shmbus_bcast_max_msg(const struct shmbus_bcast *b);
SHMBUS_API enum shmbus_bcast_policy shmbus_bcast_policy(const struct shmbus_bcast *b);
/* The subscriber entry of a subscriber handle, -EPERM on a producer one. */
SHMBUS_API int shmbus_bcast_index(const struct shmbus_bcast *b);

/*
 * shmbus_bcast_stats - the ring's positions and counters (either role).
 * shmbus_bcast_sub_stats - subscriber entry @index (0..subscribers_max-1):
 * -ENOENT if nobody holds it.  Counters are read one by one, without a lock.
 * Both return 0, -EINVAL.  Neither allocates (sub_stats reads that one
 * entry and the producer's positions); both read /proc for liveness.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_stats(const struct shmbus_bcast *b,
						     struct shmbus_bcast_stats *out);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_sub_stats(const struct shmbus_bcast *b,
							 unsigned index,
							 struct shmbus_bcast_sub_stats *out);

/* ---------------------------------------------------------------- producer */

/*
 * shmbus_bcast_reserve_try - room for a message of up to @len bytes at
 * *@data (8-byte aligned), invisible until commit.  A new reserve replaces an
 * uncommitted one.  Returns 0, -EAGAIN (reliable: the slowest live subscriber
 * holds the room), -EMSGSIZE (@len > max_msg), -EPIPE (stream closed), -EPERM
 * (not the producer handle), -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_reserve_try(struct shmbus_bcast *b, size_t len,
							   void **data);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_reserve(struct shmbus_bcast *b, size_t len,
						       void **data, int timeout_ms);

/*
 * shmbus_bcast_commit - publish the reserved message with its final length
 * @len (<= reserved).  Returns 0, -EINVAL (nothing reserved, @len too long),
 * -EPERM, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_commit(struct shmbus_bcast *b, size_t len);

/* Copy @len bytes in as one message.  Errors as reserve. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_push_try(struct shmbus_bcast *b, const void *data,
							size_t len);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_push(struct shmbus_bcast *b, const void *data,
						    size_t len, int timeout_ms);

/*
 * shmbus_bcast_push_burst_try - copy in the longest prefix of @msgs[0..@n)
 * that fits, published at once (one position store, at most one wake-up).
 * Returns how many (1..@n), 0 if @n is 0, or the error of the first
 * message as push_try.  The blocking form waits until at least one fits.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_push_burst_try(struct shmbus_bcast *b,
							      const struct shmbus_bcast_buf *msgs,
							      unsigned n);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_push_burst(struct shmbus_bcast *b,
							  const struct shmbus_bcast_buf *msgs,
							  unsigned n, int timeout_ms);

/*
 * shmbus_bcast_close_stream - end of stream after the messages committed so
 * far (drops an uncommitted reservation) and wake every sleeping subscriber.
 * shmbus_bcast_reopen_stream - let the stream go on.  Both return 0, -EPERM,
 * -SHMBUS_ECORRUPT; idempotent.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_close_stream(struct shmbus_bcast *b);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_reopen_stream(struct shmbus_bcast *b);

/* -------------------------------------------------------------- subscriber */

/*
 * shmbus_bcast_peek_try - the next message, in place, into @msg.  Peeking
 * again without releasing returns the same message.  In lossy mode the bytes
 * may be overwritten while read: release says whether they were.
 * Returns 0, -EAGAIN (nothing new), -SHMBUS_EEOS (closed and all read),
 * -EPERM (not a subscriber handle), -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_peek_try(struct shmbus_bcast *b,
							struct shmbus_bcast_msg *msg);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_peek(struct shmbus_bcast *b,
						    struct shmbus_bcast_msg *msg, int timeout_ms);

/*
 * shmbus_bcast_release - done with the peeked message.  Returns 0,
 * -SHMBUS_ELAPPED (lossy: it was overwritten while read; discard what was
 * read; it counts as dropped and the cursor moves on), -EAGAIN (nothing
 * peeked), -EPERM, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_release(struct shmbus_bcast *b);

/*
 * shmbus_bcast_peek_burst_try - up to @n next messages in place, oldest
 * first.  Returns how many (1..@n), 0 if @n is 0, or the errors of peek_try.
 * shmbus_bcast_release_burst - release the first @n peeked ones (at most
 * what the last peek_burst returned): returns @n, or -SHMBUS_ELAPPED (lossy:
 * at least one was overwritten while read; all @n count as dropped), -EAGAIN,
 * -EINVAL, -EPERM, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_peek_burst_try(struct shmbus_bcast *b,
							      struct shmbus_bcast_msg *msgs,
							      unsigned n);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_peek_burst(struct shmbus_bcast *b,
							  struct shmbus_bcast_msg *msgs,
							  unsigned n, int timeout_ms);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_release_burst(struct shmbus_bcast *b, unsigned n);

/*
 * shmbus_bcast_pop_try - copy the next message into @buf (@size bytes) and
 * release it; @info (may be NULL) gets its seq and dropped count (data =
 * @buf).  A message overwritten during the copy is never returned: it is
 * counted as dropped and the next one is tried.  Returns its length (>= 0),
 * -EAGAIN / -ETIMEDOUT, -SHMBUS_EEOS, -EMSGSIZE (longer than @size: it stays,
 * use peek), -EPERM, -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_pop_try(struct shmbus_bcast *b, void *buf,
						       size_t size, struct shmbus_bcast_msg *info);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_bcast_pop(struct shmbus_bcast *b, void *buf, size_t size,
						   struct shmbus_bcast_msg *info, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_BROADCAST_H */
