/*
 * pubsub.h - `shmbus pub` and `shmbus sub`: one front end and one pair of
 * loops (pub_lines(), sub_lines() in cmd_pubsub.c) for every ring kind.
 *
 * cmd_pubsub.c parses the options, finds out what kind of block NAME is and
 * calls that kind's entry point (a `case` per kind in pub_dispatch() and
 * sub_dispatch()).  A kind provides, in its own file (cmd_spsc.c,
 * cmd_mpmc.c), the entry points declared at the end of this file: they open
 * the ring and run the loops with the kind's push, peek and release.
 *
 * Framing, the same for every kind: pub sends each line of its input as one
 * message, without the newline (a last line without one is sent too; an
 * empty line is an empty message); sub prints each message followed by a
 * newline.  A message is released (consumed) only after it was written and
 * flushed: a sub killed before that has printed it, or not at all - the
 * spsc ring then delivers it again, the mpmc ring counts it lost (its
 * recovery frees a dead consumer's slot).
 */
#ifndef SHMBUS_TOOL_PUBSUB_H
#define SHMBUS_TOOL_PUBSUB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pubsub_opts {
	const char *name;
	uint64_t count;   /* sub: stop after this many messages; 0: no limit */
	int timeout_ms;   /* pub: longest wait for room per message;
			   * sub: longest wait for the next message (then stop);
			   * -1: no limit */
	FILE *in;         /* pub reads lines from it */
	FILE *out;        /* sub writes messages to it */
};

/*
 * pub_lines - the framing of pub, for every kind: send each line of o->in
 * through @push(@h, data, len, o->timeout_ms), which returns 0 or a negative
 * code.  Returns TOOL_OK, or TOOL_ERR after printing which line failed.
 */
int pub_lines(const struct pubsub_opts *o,
	      int (*push)(void *h, const void *data, size_t len, int timeout_ms), void *h);

/* One message seen in place, whatever the ring kind. */
struct pubsub_msg {
	const void *data;
	size_t len;
};

/* How sub_lines() takes messages from one kind of ring. */
struct sub_ops {
	/* At most @n messages in place, oldest first: a count, -EAGAIN
	 * (none now; @timeout_ms NULL: do not wait) / -ETIMEDOUT (none
	 * within *@timeout_ms), or an error. */
	int (*peek)(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms);
	/* Consume the @n oldest peeked messages: >= 0, or an error. */
	int (*release)(void *h, unsigned n);
	unsigned burst;   /* most messages per peek, <= SUB_BURST_MAX */
};

#define SUB_BURST_MAX 64

/*
 * sub_lines - the framing of sub, for every kind: print each message and a
 * newline, release messages only once they are flushed (see the top of this
 * file), stop after o->count or when o->timeout_ms passes with nothing.
 * Returns TOOL_OK, or TOOL_ERR after printing the error.
 */
int sub_lines(const struct pubsub_opts *o, const struct sub_ops *ops, void *h);

/*
 * The kinds' entry points.  They return TOOL_OK, or TOOL_ERR after printing
 * the error with tool_fail().  sub: running out of time is TOOL_OK without
 * --count, and an error ("timed out after K of N messages") with it.
 */
int spsc_pub(const struct pubsub_opts *o);
int spsc_sub(const struct pubsub_opts *o);
int mpmc_pub(const struct pubsub_opts *o);
int mpmc_sub(const struct pubsub_opts *o);

#endif
