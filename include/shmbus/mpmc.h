/*
 * shmbus/mpmc.h - a bounded many-producer many-consumer ring of fixed-size
 * slots in a named block, that a killed process cannot wedge.
 *
 * Any number of producer and consumer processes (and threads) share one ring;
 * each message is taken by exactly one consumer.  A slot holds one message of
 * 0..slot_size bytes (its length is recorded).  Messages leave in the order
 * their slots were claimed, so one producer's messages reach any one consumer
 * in the order that producer sent them.
 *
 * Crash safety.  A producer or consumer may be killed at any instruction.  A
 * slot it had claimed and not finished with is recovered by whoever waits
 * for it, once that waiter has waited for the ring's liveness timeout and the
 * owner is dead (pid + start time, see shmbus/proc.h): a producer's
 * unpublished slot is skipped, a consumer's unreleased slot is freed.  Each
 * message lost that way is counted in `lost` (exactly, even if the recovering
 * process is killed too), each recovery of a dead participant in
 * `recovered`.  A live owner is never robbed, however slow it is.  A
 * published message is delivered exactly once, unless the consumer holding
 * it dies before releasing it (then it is counted lost); no message is ever
 * delivered twice.
 *
 * Handles.  A handle is one participant (producer or consumer) registered in
 * the block's participant table.  It must be used by one thread at a time:
 * open one handle per thread.  A handle does not survive fork(): the child
 * must open its own.  Liveness is per process: a process whose main thread
 * has exited (a zombie thread-group leader) counts as dead even if other
 * threads still run, so keep the main thread alive while handles are used.
 *
 * End of stream.  A producer calls shmbus_mpmc_close_stream() when it is
 * done.  The stream has ended once a producer has closed it and no live
 * producer holds it open any more: every producer that opened it (since it
 * last started) has closed it, closed its handle (which leaves the stream
 * without closing it) or died.  A dead producer that did not close counts
 * as closed: it can never push again; consumers find it dead within about
 * a liveness timeout (reading /proc), and its claimed, unpublished slot is
 * skipped and counted lost as ever.  The end is declared, never inferred
 * from crashes alone: if every producer dies or leaves without closing, the
 * stream stays open for the next producer that opens.  Consumers get every
 * message published before the end, then -SHMBUS_EEOS from every peek and
 * pop, _try and blocking, repeatably (consumers asleep are woken).  The
 * ended state is in the block and lasts: a producer that opens afterwards
 * gets -EPIPE from its pushes, as does one that closed, until it calls
 * shmbus_mpmc_reopen_stream(), which starts the stream again (consumers then
 * get new messages).  Consumers look at the state only when they find the
 * ring empty, so the busy path pays nothing for it.
 *
 * Corruption.  A slot word no transition can make (written by a buggy or
 * hostile process with write access) makes every call that reaches that
 * slot return -SHMBUS_ECORRUPT, in every process, for good: the ring cannot
 * tell which message, owner or lap was meant, and guessing could deliver a
 * message twice.  shmbus_mpmc_recover() does not repair it.  The way out is
 * to rebuild the ring: stop its users, remove it (shmbus_block_unlink(), or
 * `shmbus rm NAME`) and create it again (`shmbus create mpmc ...`); the
 * messages in it are lost.  `shmbus inspect` shows the count of invalid
 * slots and "corrupt": true.
 *
 * Zero-copy.  A producer reserves (claims) slots, writes in place and commits
 * them; a consumer peeks messages (each peek claims one for this handle
 * alone), reads in place and releases them.  A handle holds at most
 * SHMBUS_MPMC_BURST_MAX claims; they are finished oldest first.  The copying
 * calls (push/pop) need a handle that holds no claim.  Names and signatures
 * mirror shmbus/spsc.h.
 *
 * Suffixes: _try never blocks (-EAGAIN when it would); the other forms poll
 * briefly (see shmbus_mpmc_set_yields()), then sleep on a futex until woken
 * or until @timeout_ms passes (< 0: no limit; 0: do not wait, -ETIMEDOUT);
 * _burst takes what fits (at least one message for the blocking forms).
 *
 * Synchronisation table (one handle per thread; "any" = any calls on any
 * number of other handles, in this or other processes, at the same time):
 *
 *   call                               concurrently with  progress
 *   ---------------------------------  -----------------  ----------------------------
 *   create                             any                blocking (kernel calls)
 *   open, close                        any                blocking (kernel calls, one
 *                                                         pass over the slots)
 *   reserve*_try, push*_try            any                lock-free (a CAS can fail only
 *   peek*_try, pop*_try                                   because another call progressed)
 *   commit*, release*, cancel          any                wait-free, but for a wake-up
 *                                                         of sleepers: lock-free (its CAS
 *                                                         fails only when a sleeper came
 *                                                         or went)
 *   reserve, peek, push, pop, bursts   any                blocking, up to @timeout_ms
 *   close_stream                       any                lock-free RMW, then one pass
 *                                                         over the entries; reads /proc
 *                                                         of producers holding it open
 *   reopen_stream                      any                lock-free
 *   recover                            any                one pass; reads /proc
 *   stats, accessors                   any                wait-free
 *   set_yields                         any but on @h      wait-free
 *
 * Memory ordering: everything a producer wrote into a slot before commit is
 * visible to the consumer that peeks it; everything a consumer did with a
 * message before release happens before a producer reuses the slot.
 *
 * And everything a producer did before it closed the stream (or left it)
 * happens before a consumer's -SHMBUS_EEOS: a consumer that finds the ring
 * empty reads the ended state (acquire) and searches the ring once more
 * before it reports the end, so it never does while a message published
 * before the end is still in the ring.
 *
 * A waiter reads /proc/PID/stat of a slot's owner only on the slow path: when
 * it has been stuck on the same claimed slot for the liveness timeout; a
 * consumer that finds the ring empty after a producer closed the stream,
 * those of the producers still holding it open, at most once per timeout.
 */
#ifndef SHMBUS_MPMC_H
#define SHMBUS_MPMC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmbus_mpmc;

/* Limits and defaults of ring geometry. */
#define SHMBUS_MPMC_SLOTS_MIN 2u
#define SHMBUS_MPMC_SLOTS_MAX (1u << 24)
#define SHMBUS_MPMC_SLOT_SIZE_MAX (64u << 20)
#define SHMBUS_MPMC_LIVENESS_DEFAULT_MS 500u
#define SHMBUS_MPMC_LIVENESS_MAX_MS 60000u
#define SHMBUS_MPMC_PARTICIPANTS_DEFAULT 64u
#define SHMBUS_MPMC_PARTICIPANTS_MAX 4096u
/* Most reservations (or peeked messages) one handle may hold at once. */
#define SHMBUS_MPMC_BURST_MAX 64u
/* Default yield polls of a blocking call before it sleeps
 * (shmbus_mpmc_set_yields()). */
#define SHMBUS_MPMC_YIELDS_DEFAULT 100u

enum shmbus_mpmc_role {
	SHMBUS_MPMC_PRODUCER = 1,
	SHMBUS_MPMC_CONSUMER = 2,
};

/* Geometry of a new ring.  Zero fields take their default. */
struct shmbus_mpmc_params {
	uint32_t slots;        /* power of two, SLOTS_MIN..SLOTS_MAX; required */
	uint32_t slot_size;    /* largest message, 1..SLOT_SIZE_MAX bytes; required */
	uint32_t liveness_ms;  /* how long a waiter waits on a claimed slot before it
				* checks whether the owner is dead; 1..LIVENESS_MAX_MS,
				* 0: LIVENESS_DEFAULT_MS */
	uint32_t participants; /* producers + consumers registered at once;
				* 1..PARTICIPANTS_MAX, 0: PARTICIPANTS_DEFAULT */
	mode_t mode;           /* permission bits of the block, 0: 0600; OR
				* SHMBUS_MODE_EPHEMERAL for an ephemeral ring */
};

/* Counters and state, summed over every participant entry of the block. */
struct shmbus_mpmc_stats {
	uint32_t slots;
	uint32_t slot_size;
	uint32_t liveness_ms;
	uint32_t participants_max;
	uint32_t producers;     /* registered producer entries (alive or not) */
	uint32_t consumers;
	uint64_t head;          /* next position consumers claim (a moment's value) */
	uint64_t tail;          /* next position producers claim (a moment's value) */
	uint64_t occupancy;     /* tail - head, clamped to 0..slots */
	uint64_t msgs_in;       /* published (see below: a kill may drop one) */
	uint64_t msgs_out;      /* released by consumers (idem) */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t full_waits;    /* blocking producer calls that found the ring full */
	uint64_t empty_waits;   /* blocking consumer calls that found it empty */
	uint64_t wakes;         /* futex wake-ups issued */
	uint64_t lost;          /* messages lost with a dead holder (exact) */
	uint64_t recovered;     /* dead participants whose entry was taken over and
				 * cleaned, by a waiter or a new participant (a
				 * recoverer killed right after its takeover may
				 * leave one uncounted) */
	/* End of stream (see the file comment). */
	uint32_t producers_open;   /* producer entries holding the stream open, alive
				    * or dead (until a dead one's entry is recovered) */
	uint32_t producers_closed; /* shmbus_mpmc_close_stream() calls since the stream
				    * last started (saturates at 32767) */
	uint32_t ended;            /* 1: the stream has ended */
	uint32_t reopens;          /* times an ended stream was started again
				    * (modulo 65536) */
};

/*
 * shmbus_mpmc_create - make a new ring block @name (exclusive create).
 * Nobody is registered yet: producers and consumers shmbus_mpmc_open() it.
 * Returns 0, -EINVAL (bad name or geometry), -EEXIST, -ENOSPC, -EACCES, or
 * another -errno.  On failure nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_create(const char *name,
						     const struct shmbus_mpmc_params *params);

/*
 * shmbus_mpmc_open - attach ring @name and register as @role.
 * Registration takes a free participant entry, or one whose owner died (its
 * claims are then recovered here).  Also recovers, in one pass over the
 * slots, any claim left by an earlier owner of the entry taken.
 * A producer holds the stream open from here, unless the stream has ended:
 * then its pushes fail with -EPIPE until shmbus_mpmc_reopen_stream().
 * Returns 0 and fills @out, or -EINVAL, -ENOENT, -EACCES, -SHMBUS_EKIND (not
 * an mpmc ring), -SHMBUS_EVERSION, -SHMBUS_ECORRUPT, -SHMBUS_ENOTREADY,
 * -EUSERS (participant table full of live processes), -ESRCH (no /proc:
 * liveness cannot work), -ENOMEM.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_open(struct shmbus_mpmc **out, const char *name,
						   enum shmbus_mpmc_role role);

/*
 * shmbus_mpmc_close - give back outstanding claims (a producer's are
 * cancelled, a consumer's released), leave the participant table, detach.
 * A producer stops holding the stream open without closing it (if another
 * producer closed it, the stream may end here).  NULL is accepted.  Cannot
 * fail.
 */
SHMBUS_API void shmbus_mpmc_close(struct shmbus_mpmc *h);

/* Geometry of the ring behind @h. */
SHMBUS_API uint32_t shmbus_mpmc_slots(const struct shmbus_mpmc *h);
SHMBUS_API uint32_t shmbus_mpmc_slot_size(const struct shmbus_mpmc *h);
SHMBUS_API uint32_t shmbus_mpmc_liveness_ms(const struct shmbus_mpmc *h);
/* The participant entry @h registered in. */
SHMBUS_API uint32_t shmbus_mpmc_index(const struct shmbus_mpmc *h);

/* An area reserved for one message (producer side). */
struct shmbus_mpmc_buf {
	void *data;
	size_t len;
};

/* One message seen in place (consumer side). */
struct shmbus_mpmc_msg {
	const void *data;
	size_t len;
};

/*
 * shmbus_mpmc_set_yields - how many polls with sched_yield() between them a
 * blocking call of @h makes before it sleeps on a futex.  (Not the meaning
 * of shmbus_spsc_set_spin(), whose count is of polls with a CPU pause.)
 * Before its yields, a blocking call polls with a CPU pause between polls
 * for a short phase whose length is drawn at random for each wait (so that
 * processes sharing CPUs do not switch roles in lockstep); while the other
 * side streams, that phase first waits for a batch of messages rather than
 * the next one.  The yields then hand the CPU over at once to a process we
 * wait for that shares it.  @yields 0: no polls at all, neither pauses nor
 * yields: a blocking call sleeps at once.  Default
 * SHMBUS_MPMC_YIELDS_DEFAULT.  Not concurrently with calls on @h.
 * Wait-free.
 */
SHMBUS_API void shmbus_mpmc_set_yields(struct shmbus_mpmc *h, unsigned yields);

/* --- producer, zero-copy ------------------------------------------------- */

/*
 * shmbus_mpmc_reserve_try - claim the next free slot for a message of up to
 * @len bytes: *@data points to slot_size writable bytes (16-byte aligned),
 * invisible to consumers until shmbus_mpmc_commit() (or given back with
 * shmbus_mpmc_cancel()).  A handle may hold up to BURST_MAX reservations;
 * they are committed oldest first.
 * Returns 0, -EAGAIN (ring full, or the slot is still held by last lap's
 * holder), -EMSGSIZE (@len > slot_size), -EPERM (a consumer handle), -EPIPE
 * (this producer closed the stream, or opened after it ended),
 * -ENOBUFS (BURST_MAX reservations held), -EDEADLK (the slot needed is one
 * this handle holds: a full lap of reservations), -EINVAL, -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_reserve_try(struct shmbus_mpmc *h, size_t len,
							  void **data);
/* As _try, waiting up to @timeout_ms for room: -ETIMEDOUT instead of -EAGAIN. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_reserve(struct shmbus_mpmc *h, size_t len,
						      void **data, int timeout_ms);

/*
 * shmbus_mpmc_commit - publish the oldest reservation with its final length
 * @len (<= slot_size).
 * Returns 0, -EINVAL (nothing reserved, or @len > slot_size: the reservation
 * stays), -EPERM, -ECANCELED (the reservation had been recovered as if this
 * process were dead, so it is not published; cannot happen to a live
 * process unless the block was tampered with, see the file comment).
 * Wait-free but for the wake-up (see the table above).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_commit(struct shmbus_mpmc *h, size_t len);

/*
 * shmbus_mpmc_reserve_burst_try - reserve up to @n slots: bufs[i].len is the
 * length wanted (in), bufs[i].data the area (out).  Takes the longest prefix
 * that fits (and that the handle may still hold).
 * Returns how many (1..@n), 0 if @n is 0, or the errors of reserve_try for
 * the first one.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_reserve_burst_try(struct shmbus_mpmc *h,
								struct shmbus_mpmc_buf *bufs,
								unsigned n);
/* As above, waiting up to @timeout_ms until at least one fits. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_reserve_burst(struct shmbus_mpmc *h,
							    struct shmbus_mpmc_buf *bufs,
							    unsigned n, int timeout_ms);

/*
 * shmbus_mpmc_commit_bulk - publish exactly the @n oldest reservations (all
 * or nothing, but see -ECANCELED), with final
 * lengths bufs[i].len (NULL: the lengths reserved), with one wake-up.
 * Returns 0, -EINVAL (@n more than held, a length > slot_size: nothing is
 * published), -EPERM, -ECANCELED (as commit; the others are published).
 * Wait-free but for the wake-up (see the table above).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_commit_bulk(struct shmbus_mpmc *h,
							   const struct shmbus_mpmc_buf *bufs,
							   unsigned n);

/*
 * shmbus_mpmc_cancel - give back every reservation held, unpublished
 * (consumers skip those slots; nothing is counted lost).  Returns how many,
 * or -EPERM.
 */
SHMBUS_API int shmbus_mpmc_cancel(struct shmbus_mpmc *h);

/* shmbus_mpmc_push_try / shmbus_mpmc_push - copy @len bytes in as one
 * message (reserve + memcpy + commit).  Errors as reserve, and -EBUSY if
 * the handle holds reservations. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_push_try(struct shmbus_mpmc *h, const void *data,
						       size_t len);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_push(struct shmbus_mpmc *h, const void *data,
						   size_t len, int timeout_ms);
/*
 * shmbus_mpmc_push_burst_try / shmbus_mpmc_push_burst - copy in up to @n
 * messages (msgs[i].data, msgs[i].len), with one wake-up.  Returns how many
 * (1..@n; the blocking form waits for the first), or the errors of push for
 * the first one.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_push_burst_try(struct shmbus_mpmc *h,
							     const struct shmbus_mpmc_msg *msgs,
							     unsigned n);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_push_burst(struct shmbus_mpmc *h,
							 const struct shmbus_mpmc_msg *msgs,
							 unsigned n, int timeout_ms);

/* --- consumer, zero-copy ------------------------------------------------- */

/*
 * shmbus_mpmc_peek_try - take the next message: it is now this handle's
 * alone (no other consumer sees it); *@data points to it in place (stable
 * until released), *@len is its length.  Read it, then shmbus_mpmc_release().
 * A handle may hold up to BURST_MAX messages; each peek takes the next one,
 * and they are released oldest first.
 * Returns 0, -EAGAIN (empty, or the next message is still being written),
 * -SHMBUS_EEOS (the stream has ended and every message before the end has
 * been taken), -EPERM (a producer handle), -ENOBUFS (BURST_MAX messages held), -EDEADLK
 * (the slot needed is one this handle holds), -EINVAL, -SHMBUS_ECORRUPT (the
 * slot's length is impossible: that message is dropped and counted lost).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_peek_try(struct shmbus_mpmc *h,
						       const void **data, size_t *len);
/* As above, waiting up to @timeout_ms; -ETIMEDOUT instead of -EAGAIN. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_peek(struct shmbus_mpmc *h, const void **data,
						   size_t *len, int timeout_ms);

/*
 * shmbus_mpmc_release - free the slot of the oldest message held.
 * Returns 0, -EAGAIN (none held), -EPERM, -ECANCELED (it had been recovered
 * as if this process were dead).  Wait-free but for the wake-up (see the
 * table above).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_release(struct shmbus_mpmc *h);

/*
 * shmbus_mpmc_peek_burst_try - take up to @n messages, oldest first, into
 * @msgs.  Returns how many (1..@n), 0 if @n is 0, or the errors of peek_try.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_peek_burst_try(struct shmbus_mpmc *h,
							     struct shmbus_mpmc_msg *msgs,
							     unsigned n);
/* As above, waiting up to @timeout_ms for at least one message. */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_peek_burst(struct shmbus_mpmc *h,
							 struct shmbus_mpmc_msg *msgs,
							 unsigned n, int timeout_ms);

/*
 * shmbus_mpmc_release_burst - free up to @n of the oldest messages held,
 * with one wake-up; like every _burst call it takes what there is (as
 * shmbus_spsc_release_burst()).  Returns how many were freed (1..@n), 0 if
 * @n is 0, -EAGAIN (none held), -EPERM, -ECANCELED (one of them had been
 * recovered, as release; the others are freed).  Wait-free but for the
 * wake-up (see the table above).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_release_burst(struct shmbus_mpmc *h, unsigned n);

/*
 * shmbus_mpmc_pop_try / shmbus_mpmc_pop - copy the next message into @buf
 * (@size bytes) and release it.  Returns its length (>= 0), -EAGAIN /
 * -ETIMEDOUT, -EMSGSIZE (longer than @size: it is not taken and stays in the
 * ring for another call), -EBUSY (the handle holds messages), and the errors
 * of peek.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_pop_try(struct shmbus_mpmc *h, void *buf,
						      size_t size);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_pop(struct shmbus_mpmc *h, void *buf, size_t size,
						  int timeout_ms);
/*
 * shmbus_mpmc_pop_burst_try / shmbus_mpmc_pop_burst - copy out up to @n
 * messages: bufs[i] has @size bytes, lens[i] receives the length.  Stops
 * before a message longer than @size.  Returns how many (1..@n), or the
 * errors of pop for the first one.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_pop_burst_try(struct shmbus_mpmc *h,
							    void *const *bufs, size_t size,
							    size_t *lens, unsigned n);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_pop_burst(struct shmbus_mpmc *h,
							void *const *bufs, size_t size,
							size_t *lens, unsigned n, int timeout_ms);

/* --- end of stream ------------------------------------------------------ */

/*
 * shmbus_mpmc_close_stream - producer @h is done: it no longer holds the
 * stream open (its reservations are cancelled, unpublished), and its pushes
 * fail with -EPIPE.  If it was the last live producer holding the stream
 * open, the stream ends here: consumers asleep are woken, and get
 * -SHMBUS_EEOS once they have taken every message.  Idempotent.  Returns
 * 0, or -EPERM (a consumer handle).
 *
 * shmbus_mpmc_reopen_stream - producer @h holds the stream open again: if
 * the stream had ended, it starts again (consumers get new messages, no
 * -SHMBUS_EEOS); if not, @h simply rejoins it.  The only way a producer that
 * closed, or that opened after the end, may push again.  Idempotent.
 * Returns 0, or -EPERM (a consumer handle).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_close_stream(struct shmbus_mpmc *h);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_reopen_stream(struct shmbus_mpmc *h);

/* --- maintenance and statistics ----------------------------------------- */

/*
 * shmbus_mpmc_recover - recover, now, every slot claimed by a dead process
 * (without waiting for the liveness timeout: it checks each owner in /proc),
 * settle the count of any recovery whose recoverer was killed half-way,
 * recover the entries of participants that died asleep (their count in a
 * wait queue goes with the next wake-up anyway), and move the head and tail
 * hints over claimed slots.  For watchdogs and tests; waiters do all this on
 * their own.  Returns how many slots it recovered, or
 * -SHMBUS_ECORRUPT.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_mpmc_recover(struct shmbus_mpmc *h);

/*
 * shmbus_mpmc_stats - counters and positions into @out, summed over all
 * participant entries (the sum is not one atomic snapshot).  `lost` is
 * exact, even under kills (it is journalled).  msgs_in/bytes_in and
 * msgs_out/bytes_out are exact while nobody is killed; each is counted just
 * after the publish (release) CAS that makes the message count, so a
 * process killed between that CAS and its count leaves one message
 * uncounted: under kills they may fall short by at most one per killed
 * producer (consumer).  Journalling them as `lost` is would cost every
 * message two more stores; the counters are statistics, and delivery
 * itself (exactly once, or counted lost) does not depend on them.  The same reading of the block as `shmbus inspect` shows.
 * Cannot fail.  Wait-free.
 */
SHMBUS_API void shmbus_mpmc_stats(const struct shmbus_mpmc *h, struct shmbus_mpmc_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_MPMC_H */
