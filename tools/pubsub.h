/*
 * pubsub.h - `shmbus pub` and `shmbus sub`: one front end and one pair of
 * loops (pub_lines(), sub_lines() in cmd_pubsub.c) for every ring kind.
 *
 * cmd_pubsub.c parses the options, finds out what kind of block NAME is and
 * calls that kind's entry point (a `case` per kind in pub_dispatch() and
 * sub_dispatch()).  A kind provides, in its own file (cmd_spsc.c,
 * cmd_mpmc.c, cmd_bcast.c), the entry points declared at the end of this
 * file: they open the ring and run the loops with the kind's push, close,
 * peek and release.
 *
 * Framing, the same for every kind: pub sends each line of its input as one
 * message, without the newline (a last line without one is sent too; an
 * empty line is an empty message), then closes the stream (unless
 * --keep-open); sub prints each message followed by a newline and stops
 * with status 0 at the end of the stream.  A message is released (consumed)
 * only after it was written and flushed: a sub killed before that has
 * printed it, or not at all - the spsc ring then delivers it again, the mpmc
 * ring counts it lost (its recovery frees a dead consumer's slot), and on a
 * broadcast ring every subscriber has its own cursor anyway.
 * With --framing len32 (framing.h) each message is a 4-byte little-endian
 * length and its bytes instead of a line, both ways: binary-safe.
 */
#ifndef SHMBUS_TOOL_PUBSUB_H
#define SHMBUS_TOOL_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

#include "recfile.h"

struct pubsub_opts {
	const char *name;
	uint64_t count;   /* sub: stop after this many messages; 0: no limit */
	int timeout_ms;   /* pub: longest wait for room per message;
			   * sub: longest wait for the next message (then stop);
			   * -1: no limit */
	bool keep_open;   /* pub: do not close the stream at the end of input */
	int from;         /* sub, broadcast rings only: where to join, an enum
			   * shmbus_bcast_from; 0: not given (FROM_NEXT) */
	int framing;      /* enum framing (framing.h): lines (0) or len32 */
	struct rec_reader *rec_in;  /* replay: messages from a record file */
	struct rec_writer *rec_out; /* record: messages to a record file */
	const volatile sig_atomic_t *stop; /* sub: stop waiting once it is set
					    * (checked every STOP_POLL_MS) */
	FILE *in;         /* pub reads lines from it */
	FILE *out;        /* sub writes messages to it */
};

/* How pub_lines() gives messages to one kind of ring. */
struct pub_ops {
	/* Send one message, waiting up to @timeout_ms for room: 0 or an error. */
	int (*push)(void *h, const void *data, size_t len, int timeout_ms);
	/* Start the stream again if an earlier pub closed it: 0 or an error. */
	int (*reopen_stream)(void *h);
	/* End of stream after the messages sent: 0 or an error. */
	int (*close_stream)(void *h);
};

/*
 * pub_lines - the framing of pub, for every kind: reopen the stream (a new
 * pub starts a new stream, whether or not the last one was closed), send
 * each line of o->in through @ops->push, then, at the end of the input and
 * unless o->keep_open, close the stream (on an error it stays open).
 * Returns TOOL_OK, or TOOL_ERR after printing which line, the reopen or the
 * close failed.
 */
int pub_lines(const struct pubsub_opts *o, const struct pub_ops *ops, void *h);

/* One message seen in place, whatever the ring kind. */
struct pubsub_msg {
	const void *data;
	size_t len;
};

/* How sub_lines() takes messages from one kind of ring. */
struct sub_ops {
	/* At most @n messages in place, oldest first: a count, -EAGAIN
	 * (none now; @timeout_ms NULL: do not wait) / -ETIMEDOUT (none
	 * within *@timeout_ms), -SHMBUS_EEOS (end of stream), -EINTR (a
	 * stop signal the kind catches: sub stops as at the end of the
	 * stream), or an error. */
	int (*peek)(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms);
	/* Consume the @n oldest peeked messages: >= 0, or an error. */
	int (*release)(void *h, unsigned n);
	unsigned burst;   /* most messages per peek, <= SUB_BURST_MAX */
};

#define SUB_BURST_MAX 64
#define STOP_POLL_MS 100

/* `--from WHERE` as an enum shmbus_bcast_from; 0 if it is none. */
int pubsub_parse_from(const char *s);

/* pub (sub == false) or sub on block @o->name, whatever its kind: TOOL_*. */
int pubsub_run(bool sub, const struct pubsub_opts *o);

/*
 * sub_lines - the framing of sub, for every kind: print each message and a
 * newline, release messages only once they are flushed (see the top of this
 * file), stop after o->count, at the end of the stream, or when
 * o->timeout_ms passes with nothing.  Returns TOOL_OK, or TOOL_ERR after
 * printing the error.
 */
int sub_lines(const struct pubsub_opts *o, const struct sub_ops *ops, void *h);

/*
 * The kinds' entry points.  They return TOOL_OK, or TOOL_ERR after printing
 * the error with tool_fail().  sub: running out of time is TOOL_OK without
 * --count, and an error ("timed out after K of N messages") with it; the
 * end of the stream is TOOL_OK, with or without --count.
 */
int spsc_pub(const struct pubsub_opts *o);
int spsc_sub(const struct pubsub_opts *o);
int mpmc_pub(const struct pubsub_opts *o);
int mpmc_sub(const struct pubsub_opts *o);
int bcast_pub(const struct pubsub_opts *o);
int bcast_sub(const struct pubsub_opts *o);

#endif
