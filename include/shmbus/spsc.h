/*
 * shmbus/spsc.h - a single-producer single-consumer ring of variable-length
 * messages in a named block, between processes (or threads), zero-copy.
 *
 * One process produces, one consumes; each opens the ring by name in its
 * role.  The producer asks for room (reserve), writes the message in place
 * and publishes it (commit); the consumer looks at the next message in place
 * (peek) and frees it (release).  Nothing is copied unless the caller asks
 * (push/pop are copying conveniences on top).  While both sides are busy no
 * call makes a system call; a side that has nothing to do may sleep on a
 * futex in the block, and the other side wakes it only if it sleeps.
 *
 * Messages: 0 to shmbus_spsc_max_msg() bytes (capacity - 8).  A message is
 * always contiguous in memory (never split at the end of the ring) and its
 * data is 8-byte aligned.  Each message costs its length rounded up to 8,
 * plus an 8-byte header, in the ring.  Messages arrive in order, each once.
 *
 * Roles: at most one live producer and one live consumer at a time; a second
 * one gets -EBUSY.  The role of a dead process (pid + start time recorded in
 * the block) is taken over by the next open.  Crash semantics:
 *  - a producer killed between reserve and commit leaves nothing visible;
 *  - a consumer killed between peek and release has not consumed the message:
 *    the next consumer gets it again (at-least-once across consumer crashes,
 *    exactly-once otherwise).
 *
 * End of stream: shmbus_spsc_close_stream() (producer), like closing the
 * write end of a pipe.  The consumer gets every message committed before
 * it, then -SHMBUS_EEOS from every peek, peek_burst and pop (_try and
 * blocking), repeatably; a consumer asleep in a blocking call is woken.
 * Reserving, committing or pushing on a closed stream fails with -EPIPE.
 * The closed state is in the block, so it outlives the producer: a process
 * that takes over the producer role of a closed ring (its closer exited or
 * died) gets -EPIPE too, until it calls shmbus_spsc_reopen_stream().  After
 * a reopen the consumer - even one that already got -SHMBUS_EEOS - simply
 * gets the new messages on its next call; there is no per-consumer state to
 * reset.  A consumer that looks while the stream is closed sees the end,
 * even if a reopen follows at once.
 *
 * Corruption: the block is shared memory, so every position and record
 * header read from it is checked.  An inconsistent value makes the call
 * return -SHMBUS_ECORRUPT, marks the ring corrupt in the block (inspection
 * shows it) and every later call on that handle fails the same way; the ring
 * cannot be repaired, only recreated.
 *
 * Suffixes (as everywhere in shmbus): _try never blocks; _burst takes what
 * fits.  Timeouts are in milliseconds: < 0 waits forever, 0 does not wait.
 * Blocking calls poll with a CPU pause for a while (see
 * shmbus_spsc_set_spin()), then sleep.
 *
 * Handles do not survive fork(): a child opens its own.
 *
 * Synchronisation table
 *   call                                  caller           may run concurrently with
 *   ------------------------------------  ---------------  -----------------------------------
 *   create                                anyone           everything (exclusive create)
 *   open                                  anyone           everything
 *   close                                 handle owner     every call on other handles
 *   reserve*, commit*, push*,             producer handle  every consumer call, stats,
 *   close_stream, reopen_stream           (one thread at   inspection; NOT with another
 *                                         a time)          producer call on the same handle
 *   peek*, release*, pop*                 consumer handle  every producer call, stats,
 *                                         (one thread at   inspection; NOT with another
 *                                         a time)          consumer call on the same handle
 *   stats, capacity, max_msg              any thread       everything except close
 *   set_spin                              handle owner     nothing on the same handle
 * Progress: _try calls, commit*, release*, close_stream and reopen_stream
 * are wait-free (a bounded number of steps, no locks; commit, release and
 * close_stream make one futex_wake system call when the other side sleeps),
 * but for that wake-up, which is lock-free (a CAS that fails only when the
 * sleeper came or went meanwhile).  stats is bounded (it reads two small
 * files of /proc to tell live roles from dead ones).  Calls with a timeout
 * are blocking.
 * Memory ordering: everything the producer wrote into a message before
 * commit is visible to the consumer that peeks it; everything the consumer
 * did with a message before release happens before the producer reuses its
 * bytes; everything the producer did before close_stream happens before the
 * consumer's -SHMBUS_EEOS.
 */
#ifndef SHMBUS_SPSC_H
#define SHMBUS_SPSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/error.h"
#include "shmbus/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ring capacity limits, in bytes (a power of two in this range). */
#define SHMBUS_SPSC_CAPACITY_MIN 64u
#define SHMBUS_SPSC_CAPACITY_MAX (1u << 30)
/* Bytes of header in front of each message in the ring. */
#define SHMBUS_SPSC_RECORD_HEADER 8u
/* Default number of pause polls of a blocking call before it sleeps
 * (shmbus_spsc_set_spin()). */
#define SHMBUS_SPSC_SPIN_DEFAULT 2000u

/* Roles; the numbers are also the role codes in the participant table. */
enum shmbus_spsc_role {
	SHMBUS_SPSC_PRODUCER = 1,
	SHMBUS_SPSC_CONSUMER = 2,
};

struct shmbus_spsc;

/* An area reserved for one message (producer side). */
struct shmbus_spsc_buf {
	void *data;
	size_t len;
};

/* One message seen in place (consumer side). */
struct shmbus_spsc_msg {
	const void *data;
	size_t len;
};

/* A snapshot of a ring's state (shmbus_spsc_stats()). */
struct shmbus_spsc_stats {
	uint64_t capacity;      /* bytes of ring */
	uint64_t max_msg;       /* largest message, bytes */
	uint64_t head;          /* producer position (free-running bytes) */
	uint64_t tail;          /* consumer position (free-running bytes) */
	uint64_t used;          /* head - tail: bytes of records not yet released */
	uint64_t msgs_in;       /* messages committed */
	uint64_t bytes_in;      /* payload bytes committed */
	uint64_t msgs_out;      /* messages released */
	uint64_t bytes_out;     /* payload bytes released */
	uint64_t full_waits;    /* blocking producer calls that found the ring full */
	uint64_t empty_waits;   /* blocking consumer calls that found it empty */
	uint64_t wakes;         /* futex wakes issued (both sides) */
	shmbus_ident_t producer; /* holder of the role (maybe dead, until taken
				  * over), 0 if free */
	shmbus_ident_t consumer; /* the same for the consumer role */
	bool producer_alive;
	bool consumer_alive;
	bool corrupt;           /* the ring has been found corrupt */
	bool closed;            /* end of stream: shmbus_spsc_close_stream() */
};

/*
 * shmbus_spsc_create - create the block @name holding an empty ring of
 * @capacity bytes (a power of two, SHMBUS_SPSC_CAPACITY_MIN..MAX), and
 * detach.  @mode: permission bits, 0 for 0600, with SHMBUS_MODE_EPHEMERAL
 * OR-ed in for an ephemeral ring (block.h).  Nobody holds a role yet.
 * Returns 0, -EINVAL (bad name or capacity), -EEXIST, -ENOSPC, or another
 * code of shmbus_block_create().  On failure nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_create(const char *name, size_t capacity,
						     mode_t mode);

/*
 * shmbus_spsc_open - attach the ring @name and take @role in it.
 * Returns 0 and fills @out, or -EINVAL (bad role or name), -ENOENT,
 * -EBUSY (a live process holds the role; this includes the calling process),
 * -SHMBUS_EKIND (not an spsc ring), -SHMBUS_EVERSION, -SHMBUS_ENOTREADY,
 * -SHMBUS_ECORRUPT, -ENOMEM, -EACCES, -ESRCH (no /proc to name this
 * process).  If the role's previous owner is dead, it is taken over: the ring
 * continues from the positions in the block.
 * Side effect: the calling process registers for
 * membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) (once), which lets
 * commit and release skip a memory fence; without kernel support (or under
 * a seccomp filter that refuses membarrier) the ring still works: commit
 * and release then pay a locked instruction, and a blocking call of this
 * process sleeps in slices of 5 ms, so that a wake-up it misses costs it at
 * most that much latency (never a hang).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_open(struct shmbus_spsc **out, const char *name,
						   enum shmbus_spsc_role role);

/*
 * shmbus_spsc_close - give the role back and detach.  An uncommitted
 * reservation is dropped; a peeked, unreleased message stays in the ring.
 * NULL is accepted.  Cannot fail.
 */
SHMBUS_API void shmbus_spsc_close(struct shmbus_spsc *q);

/* Capacity of the ring, and the largest message it takes (capacity - 8). */
SHMBUS_API size_t shmbus_spsc_capacity(const struct shmbus_spsc *q);
SHMBUS_API size_t shmbus_spsc_max_msg(const struct shmbus_spsc *q);

/*
 * shmbus_spsc_set_spin - how long the blocking calls of handle @q spin
 * before they sleep: once its first attempt found no room (no message), a
 * blocking call makes up to @spins polls, each one CPU pause instruction
 * (shmbus_cpu_relax(), shmbus/relax.h: x86 "pause", arm64 "yield") followed
 * by one load of the other side's position, and a new attempt as soon as
 * that position moved; only then does it sleep on the futex (and it never
 * spins again within that call).  No poll yields the CPU to the scheduler
 * or makes a system call, so spinning pays only while the other side runs
 * on another CPU.  0: sleep at once after the first attempt.  The default
 * is SHMBUS_SPSC_SPIN_DEFAULT.  The _try calls never spin.  (The MPMC ring's
 * shmbus_mpmc_set_yields() counts sched_yield() polls instead.)
 * Cannot fail; applies to the next blocking call.
 */
SHMBUS_API void shmbus_spsc_set_spin(struct shmbus_spsc *q, unsigned spins);

/*
 * shmbus_spsc_stats - a snapshot of the ring's positions and counters.
 * Counters are read one by one without a lock, so they may be a few messages
 * apart from each other; a side killed in the middle of a commit or release
 * may leave its counters one call behind its position.  Works on a handle of
 * either role.  Returns 0, or -EINVAL.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_stats(const struct shmbus_spsc *q,
						    struct shmbus_spsc_stats *out);

/* ---------------------------------------------------------------- producer */

/*
 * shmbus_spsc_reserve_try - room for a message of up to @len bytes.
 * On success *@data points to @len writable bytes (8-byte aligned) in the
 * ring, invisible to the consumer until shmbus_spsc_commit().  A new reserve
 * (of any form, even one that fails) replaces a reservation that was not
 * committed.
 * Returns 0, -EAGAIN (not enough room now), -EMSGSIZE (@len > max_msg: it can
 * never fit), -EPIPE (the stream is closed), -EPERM (not a producer handle),
 * -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_reserve_try(struct shmbus_spsc *q, size_t len,
							  void **data);
/* As shmbus_spsc_reserve_try(), waiting up to @timeout_ms for room;
 * -ETIMEDOUT instead of -EAGAIN. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_reserve(struct shmbus_spsc *q, size_t len,
						      void **data, int timeout_ms);

/*
 * shmbus_spsc_commit - publish the reserved message with its final length
 * @len (<= the length reserved; less is allowed).  After a burst
 * reservation, commits the first reserved message only.
 * Returns 0, -EINVAL (nothing reserved, or @len too long), -EPIPE (the
 * stream was closed: the reservation was dropped), -EPERM,
 * -SHMBUS_ECORRUPT.  Wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_commit(struct shmbus_spsc *q, size_t len);

/*
 * shmbus_spsc_reserve_burst_try - reserve room for up to @n messages at once:
 * bufs[i].len is the length wanted for message i (in), bufs[i].data receives
 * its area (out).  Takes the longest prefix that fits.
 * Returns how many (1..@n), 0 if @n is 0, -EAGAIN if not even the first
 * fits, -EMSGSIZE if the first can never fit, -EPIPE, -EPERM, -EINVAL,
 * -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_reserve_burst_try(struct shmbus_spsc *q,
								struct shmbus_spsc_buf *bufs,
								unsigned n);
/* As above, waiting up to @timeout_ms until at least one fits. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_reserve_burst(struct shmbus_spsc *q,
							    struct shmbus_spsc_buf *bufs,
							    unsigned n, int timeout_ms);

/*
 * shmbus_spsc_commit_bulk - publish exactly the first @n reserved messages
 * (all-or-nothing: on any error nothing is published), at once
 * (one position store, at most one wake-up).  @bufs: the array the
 * reservation filled, with each .len set to the final length (<= reserved);
 * NULL commits the reserved lengths.  Reserved messages after the first @n
 * are dropped.
 * Returns 0, -EINVAL (@n larger than the reservation, a length too long, a
 * data pointer that is not the reserved one), -EPIPE, -EPERM,
 * -SHMBUS_ECORRUPT.  Wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_commit_bulk(struct shmbus_spsc *q,
							   const struct shmbus_spsc_buf *bufs,
							   unsigned n);

/* shmbus_spsc_push_try / shmbus_spsc_push - copy @len bytes in as one
 * message (reserve + memcpy + commit).  Errors as reserve. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_push_try(struct shmbus_spsc *q, const void *data,
						       size_t len);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_push(struct shmbus_spsc *q, const void *data,
						   size_t len, int timeout_ms);

/*
 * shmbus_spsc_close_stream - end the stream after the messages committed so
 * far: drops an uncommitted reservation, marks the ring closed (in the
 * block) and wakes a sleeping consumer.  From then on this handle's
 * reserve*, commit* and push* return -EPIPE.  Idempotent.
 * Returns 0, -EPERM (not a producer handle), -EINVAL (@q NULL),
 * -SHMBUS_ECORRUPT.  Wait-free but for the wake-up (see Progress).
 *
 * shmbus_spsc_reopen_stream - let the stream go on: the producer may push
 * again and the consumer gets the new messages (-EAGAIN, not -SHMBUS_EEOS,
 * once it has read them).  The only way to reopen: opening the producer
 * role of a closed ring does not.  Idempotent (0 on an open stream).
 * Returns 0, -EPERM, -EINVAL, -SHMBUS_ECORRUPT.  Wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_close_stream(struct shmbus_spsc *q);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_reopen_stream(struct shmbus_spsc *q);

/* ---------------------------------------------------------------- consumer */

/*
 * shmbus_spsc_peek_try - the oldest message not yet released, in place.
 * *@data stays valid (and unchanged) until that message is released.  Peeking
 * again without releasing returns the same message.
 * Returns 0, -EAGAIN (empty), -SHMBUS_EEOS (empty and the stream closed:
 * every message before the close has been released), -EPERM (not a
 * consumer handle), -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_peek_try(struct shmbus_spsc *q,
						       const void **data, size_t *len);
/* As above, waiting up to @timeout_ms; -ETIMEDOUT instead of -EAGAIN.  A
 * close of the stream while it waits ends the wait with -SHMBUS_EEOS. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_peek(struct shmbus_spsc *q, const void **data,
						   size_t *len, int timeout_ms);

/*
 * shmbus_spsc_release - free the oldest message (the one peek returns).
 * Returns 0, -EAGAIN (there is none, closed stream or not), -EPERM,
 * -SHMBUS_ECORRUPT.  Wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_release(struct shmbus_spsc *q);

/*
 * shmbus_spsc_peek_burst_try - the oldest @n (or fewer) messages in place,
 * oldest first, into @msgs.
 * Returns how many (1..@n), 0 if @n is 0, -EAGAIN (empty), -SHMBUS_EEOS
 * (empty and closed, as peek), -EPERM, -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_peek_burst_try(struct shmbus_spsc *q,
							     struct shmbus_spsc_msg *msgs,
							     unsigned n);
/* As above, waiting up to @timeout_ms for at least one message (or the
 * end of the stream). */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_peek_burst(struct shmbus_spsc *q,
							 struct shmbus_spsc_msg *msgs,
							 unsigned n, int timeout_ms);

/*
 * shmbus_spsc_release_burst - free up to @n of the oldest messages at once
 * (one position store, at most one wake-up); like every _burst call it takes
 * what there is: usually the @n that peek_burst returned, but messages not
 * yet peeked count too.
 * Returns how many were freed (1..@n), 0 if @n is 0, -EAGAIN (there is
 * none), -EPERM, -SHMBUS_ECORRUPT.  Wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_release_burst(struct shmbus_spsc *q, unsigned n);

/*
 * shmbus_spsc_pop_try / shmbus_spsc_pop - copy the oldest message into @buf
 * (@size bytes) and release it.  Returns its length (>= 0), -EAGAIN /
 * -ETIMEDOUT, -SHMBUS_EEOS (as peek), -EMSGSIZE (longer than @size: it
 * stays in the ring, use peek), -EPERM, -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_pop_try(struct shmbus_spsc *q, void *buf,
						      size_t size);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_spsc_pop(struct shmbus_spsc *q, void *buf, size_t size,
						  int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_SPSC_H */
