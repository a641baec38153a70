/*
 * bridge.h - `shmbus bridge out|in`: rings to NATS and back (built only
 * with libnats; cmd_bridge.c parses the command line either way).
 *
 * Wire format, the same in every mode: one NATS message per ring message,
 * its payload the ring message byte for byte, with a header
 * `Shmbus-Seq: N` (1, 2, ... per run of `bridge out`), so the far side can
 * count what the network lost.  The end of the ring's stream is one more
 * message with an empty payload and a header `Shmbus-Eos: N` (N: the last
 * sequence number sent): `bridge in` closes its ring's stream on it, after
 * counting any messages missing before it.
 *
 * Threads: the bridge's own loop runs in the calling thread; libnats runs
 * its own threads, which touch only the atomic counters (reconnects) and the
 * connection state.
 */
#ifndef SHMBUS_TOOL_BRIDGE_H
#define SHMBUS_TOOL_BRIDGE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "ring.h"

#define BRIDGE_HDR_SEQ "Shmbus-Seq"
#define BRIDGE_HDR_EOS "Shmbus-Eos"

struct bridge_opts {
	bool out;               /* out: ring -> NATS; in: NATS -> ring */
	const char *ring;
	const char *url;
	const char *subject;
	const char *stream;     /* JetStream stream; NULL: core NATS */
	const char *durable;    /* in, JetStream: durable consumer name */
	bool quiet;             /* no summary line at the end */
};

/* What the bridge counts (see the README's bridge section). */
struct bridge_counters {
	uint64_t forwarded;     /* messages handed on (to NATS / into the ring) */
	uint64_t acknowledged;  /* JetStream: acks sent (in) or received (out) */
	uint64_t pending;       /* out: published and not acknowledged yet */
	uint64_t redelivered;   /* in, JetStream: messages the server sent again */
	uint64_t dropped;       /* could not be delivered, counted, never silent */
	atomic_uint_fast64_t reconnects; /* written by libnats' threads */
};

/* A connection to NATS with the bridge's options: reconnect forever with a
 * growing delay, count reconnects in @c.  Returns 0, or prints why it
 * failed (bad URL, unreachable, auth) and returns TOOL_ERR. */
int bridge_connect(const struct bridge_opts *o, struct bridge_counters *c,
		   natsConnection **nc);
/* Print "shmbus: RING: WHAT: text (libnats detail)" and return TOOL_ERR. */
int bridge_nats_fail(const struct bridge_opts *o, const char *what, natsStatus s);

/* SIGINT / SIGTERM ask the loops to stop; bridge_stopping() tells them. */
void bridge_catch_signals(void);
bool bridge_stopping(void);

/* The loops: TOOL_OK or TOOL_ERR (after printing the error). */
int bridge_out_core(const struct bridge_opts *o, struct bridge_ring *r, natsConnection *nc,
		    struct bridge_counters *c);
int bridge_in_core(const struct bridge_opts *o, struct bridge_ring *r, natsConnection *nc,
		   struct bridge_counters *c);

/* Entry point for cmd_bridge.c: open the ring, connect, run the loop,
 * print the counters. */
int bridge_run(const struct bridge_opts *o);

#endif
