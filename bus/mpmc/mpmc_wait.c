/*
 * mpmc_wait.c - how mpmc calls wait: spin briefly, then sleep on the ring's
 * wait queue (waitq_internal.h); and how a waiter notices that the slot it
 * waits for is held by a dead process.
 *
 * Invariant: no sleep lasts longer than the ring's liveness timeout, and a
 * waiter that has seen the same claimed word at the same slot for that long
 * checks its owner in /proc (once per timeout, never on the fast path).  So
 * even a waiter that no wake-up will ever reach (its slot's owner died
 * between claim and publish, and claims do not wake) is back within one
 * timeout, and a dead owner stops others for at most about one timeout.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>

#include "relax_internal.h"
#include "futex_internal.h"
#include "mpmc_internal.h"

/*
 * How a blocking call polls before it sleeps on the futex (the numbers are
 * knobs, struct mpmc_knobs): first a pause phase of pauses_min + (random
 * below pauses_spread) polls with a pause between them, then h->yields polls
 * with sched_yield() between them.
 *
 * The yields: with more runnable processes than CPUs, the one we wait for
 * may be waiting for our CPU.  Pausing would keep it off for the rest of
 * our time slice; yielding hands the CPU over at once, with no futex sleep
 * and wake-up on either side.  Alone on its CPU, sched_yield() returns at
 * once and is just a slower poll.
 *
 * The random length of the pause phase: "full" and "empty" are events of
 * the whole ring, so processes on different CPUs that wait the same time
 * and then yield switch roles in lockstep - both CPUs produce, then both
 * consume - and fight over the same slots, instead of one producing while
 * the other consumes.  Waits of different lengths break the lockstep.
 *
 * Batch waits.  A consumer that finds the ring empty while a producer
 * streams into it would otherwise take each message the moment it is
 * published: it polls and claims the very slot the producer is writing,
 * each poll pulls that line away from the producer, and the two move in
 * lockstep, a slot apart, trading lines on every message.  (A producer on
 * a full ring does the same to the consumers.)
 *
 * So while the other side streams, a waiter first waits for a batch: it
 * polls the slot batch_max positions ahead (at most a quarter of the ring),
 * a line nobody else is using until the other side gets there, and resumes
 * once that slot changes: a batch is ready, and it works through it while
 * the other side works elsewhere.  It falls back to polling its own slot
 * after batch_window pauses, so the other side stopping costs it at most
 * that.
 *
 * "Streaming" means both: our last wait was short (it ended within
 * stream_polls polls, or when its batch came), and we moved at least
 * flow_run messages between the last two times we found the ring empty
 * (full) (h->run).  A waiter in a ping-pong moves one message a wait, and
 * one on sparse traffic waits long: both poll their own slot at once.
 * (Without the second test, a ping-pong's next wait would wait for a batch
 * that never comes.)
 */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A try call stopped at @why.  If the word there is a claim that has not
 * moved for the liveness timeout and its owner is dead, recover it.
 * Returns 1 if something was recovered (retry now), 0, -EDEADLK (the claim
 * is ours), or a recovery error.
 */
static int stalled(struct shmbus_mpmc *h, const struct mpmc_block_on *why)
{
	unsigned st = mpmc_word_state(why->word);
	uint64_t now;
	int rc;

	if (st != MPMC_WRITING && st != MPMC_READING) {
		/* Plain full or empty: waiting on nobody in particular. */
		h->stuck_valid = false;
		return 0;
	}
	if (mpmc_word_owner(why->word) == h->idx)
		return -EDEADLK; /* we hold the very slot we wait for */
	now = now_ns();
	if (!h->stuck_valid || h->stuck_word != why->word ||
	    h->stuck_pos != (why->pos & h->mask)) {
		h->stuck_valid = true;
		h->stuck_word = why->word;
		h->stuck_pos = why->pos & h->mask;
		h->stuck_since_ns = now;
		return 0;
	}
	if (now - h->stuck_since_ns < h->liveness_ns)
		return 0;
	rc = mpmc_recover_claim(h, why->word);
	/* Owner alive (or someone else recovered it): pay for the next /proc
	 * check only after another full timeout. */
	h->stuck_since_ns = now;
	if (rc > 0)
		h->stuck_valid = false;
	return rc;
}

struct wait_arg {
	struct shmbus_mpmc *h;
	_Atomic uint64_t *hint;
	const struct mpmc_block_on *why;
	_Atomic uint64_t *stream;       /* consumers: the stream word, else NULL */
};

/*
 * Ready when the word we stopped at changed, or the hint moved past its
 * position (passed: others claimed, skipped or freed it).  A hint below it
 * says nothing: hints lag (I5 in mpmc_claim_internal.h).  A consumer is
 * also ready when the stream word moved since its last look at the end
 * (mpmc_stream_at_empty()): the end wakes it even if the waker's wake-up
 * missed it (C6 is seq_cst, A6 in mpmc_wake()).
 */
static bool changed(void *arg)
{
	const struct wait_arg *a = arg;

	/* Acquire: as A1-A4 (mpmc_produce.c, mpmc_consume.c), and A10 for the
	 * stream word (mpmc_stream.c); the caller retries its try call. */
	return (int64_t)(atomic_load_explicit(a->hint, memory_order_acquire) - a->why->pos) > 0 ||
	       atomic_load_explicit(&mpmc_slot_at(a->h, a->why->pos)->word,
				    memory_order_acquire) != a->why->word ||
	       (a->stream &&
		atomic_load_explicit(a->stream, memory_order_acquire) != a->h->stream_seen);
}

/* What @h waits for, having stopped at @why: its side's hint and slot. */
static struct wait_arg wait_arg_of(struct shmbus_mpmc *h, const struct mpmc_block_on *why)
{
	return (struct wait_arg){
		.h = h,
		.hint = h->role == SHMBUS_MPMC_PRODUCER ? &h->ctl->tail.value :
							   &h->ctl->head.value,
		.why = why,
		.stream = h->role == SHMBUS_MPMC_CONSUMER ? &h->ctl->stream.value : NULL,
	};
}

/* Sleep until @why changes, the deadline passes, or a liveness period
 * ends (whichever first); the caller re-checks. */
static void sleep_on(struct shmbus_mpmc *h, const struct mpmc_block_on *why,
		     const struct timespec *deadline)
{
	bool producer = h->role == SHMBUS_MPMC_PRODUCER;
	struct wait_arg a = wait_arg_of(h, why);
	struct mpmc_wq *wq = producer ? &h->ctl->not_full : &h->ctl->not_empty;
	struct timespec buf;

	/* Its result is not needed: the caller retries its attempt whatever
	 * woke us, and checks the deadline itself. */
	(void)waitq_wait_marked(&wq->q, changed, &a,
				waitq_cap(deadline, (int)h->liveness_ms, &buf), &h->mine->asleep,
				producer ? MPMC_ASLEEP_NOT_FULL : MPMC_ASLEEP_NOT_EMPTY);
}

/* xorshift32 (Marsaglia 2003): the handle's own stream, for the pause
 * phase's length; not shared, not secret. */
static uint32_t next_random(struct shmbus_mpmc *h)
{
	uint32_t x = h->rnd;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	h->rnd = x;
	return x;
}

/*
 * The batch to wait for (see the top of this file): the position batch_max
 * (at most a quarter of the ring) past the one we stopped at, and the word
 * there now.  Returns false (no batch wait) unless that word shows the
 * other side has not got there yet: for a producer, last lap's message
 * still in it; for a consumer, no message of this lap claimed there.
 */
static bool batch_target(struct shmbus_mpmc *h, const struct mpmc_block_on *why,
			 struct mpmc_block_on *batch)
{
	uint32_t n = h->nslots / 4 < mpmc_knobs.batch_max ? h->nslots / 4 : mpmc_knobs.batch_max;
	unsigned st;
	int64_t d;

	if (n < 2)
		return false;
	batch->pos = why->pos + n;
	/* Acquire: as in changed(). */
	batch->word = atomic_load_explicit(&mpmc_slot_at(h, batch->pos)->word,
					   memory_order_acquire);
	d = mpmc_lap_diff(mpmc_word_lap(batch->word), mpmc_pos_lap(h, batch->pos));
	st = mpmc_word_state(batch->word);
	if (h->role == SHMBUS_MPMC_PRODUCER)
		return d == -1 && st != MPMC_EMPTY;
	return (d == 0 && st == MPMC_EMPTY) || (d == -1 && st == MPMC_READING);
}

/* Whether poll number @polls may still wait for a batch: only pausing,
 * never yielding (a yield can give the CPU away for a whole slice). */
static bool in_batch_window(const struct shmbus_mpmc *h, unsigned polls)
{
	return polls < mpmc_knobs.batch_window && polls < h->pauses;
}

/*
 * Poll for a change before paying for a futex sleep: wait for a batch if
 * the other side streams, pause, then yield (see the top of this file), but
 * not past @deadline (NULL: none).  *@polls counts the polls of this wait
 * over however many calls (0 starts a wait and draws its pause phase): a
 * change may be somebody else's win, after which the caller polls on where
 * it left off.
 */
static bool spin(struct shmbus_mpmc *h, const struct mpmc_block_on *why, unsigned *polls,
		 const struct timespec *deadline)
{
	struct wait_arg a = wait_arg_of(h, why);
	struct mpmc_block_on batch;
	struct wait_arg b = wait_arg_of(h, &batch);
	bool batching;

	if (h->yields == 0)
		return false;
	if (*polls == 0) {
		h->pauses = mpmc_knobs.pauses_min + next_random(h) % mpmc_knobs.pauses_spread;
		h->batch_wait = h->short_wait && h->run >= mpmc_knobs.flow_run;
	}
	batching = h->batch_wait && in_batch_window(h, *polls) && batch_target(h, why, &batch);
	for (; *polls < h->pauses + h->yields; ++*polls) {
		if (batching) {
			if (changed(&b))
				return true; /* the batch is there: still streaming */
			batching = in_batch_window(h, *polls + 1);
		} else if (changed(&a)) {
			h->short_wait = *polls < mpmc_knobs.stream_polls;
			return true;
		}
		if (*polls < h->pauses) {
			relax_cpu();
		} else {
			/* A yield may give the CPU away for a whole slice. */
			if (deadline_passed(deadline)) {
				h->short_wait = false;
				return false;
			}
			sched_yield();
		}
	}
	h->short_wait = false;
	return false;
}

void shmbus_mpmc_set_yields(struct shmbus_mpmc *h, unsigned yields)
{
	h->yields = yields;
}

int mpmc_try_stalled(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg,
		     struct mpmc_block_on *why)
{
	int st = stalled(h, why), rc;

	if (st < 0)
		return st;
	if (st > 0) {
		rc = attempt(h, arg, why);
		if (rc != -EAGAIN)
			return rc;
	}
	if (h->role == SHMBUS_MPMC_CONSUMER)
		return mpmc_stream_at_empty(h, attempt, arg, why);
	return -EAGAIN;
}

int mpmc_blocking(struct shmbus_mpmc *h, mpmc_attempt_fn attempt, void *arg, int timeout_ms)
{
	struct timespec deadline;
	struct mpmc_block_on why;
	bool has_deadline = deadline_after(timeout_ms, &deadline) > 0;
	bool counted = false;
	unsigned polls = 0;
	int rc;

	for (;;) {
		rc = attempt(h, arg, &why);
		if (rc != -EAGAIN)
			return rc;
		if (h->role == SHMBUS_MPMC_CONSUMER) {
			/* Also sets what a wait below compares the stream word
			 * to (changed()). */
			rc = mpmc_stream_at_empty(h, attempt, arg, &why);
			if (rc != -EAGAIN)
				return rc;
		}
		if (!counted) {
			mpmc_count(h->role == SHMBUS_MPMC_PRODUCER ? &h->mine->full_waits :
								      &h->mine->empty_waits, 1);
			counted = true;
		}
		rc = stalled(h, &why);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		if (timeout_ms == 0 || (has_deadline && deadline_passed(&deadline)))
			return -ETIMEDOUT;
		if (spin(h, &why, &polls, has_deadline ? &deadline : NULL))
			continue;
		sleep_on(h, &why, has_deadline ? &deadline : NULL);
		/* A truncation under a sleeper faults nobody: look. */
		rc = shmbus_block_check(h->block);
		if (rc)
			return rc;
		polls = 0; /* woken (or a liveness check is due): poll again */
	}
}
