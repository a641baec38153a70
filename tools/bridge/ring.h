/*
 * ring.h - the bridge's view of a ring of any kind (spsc, mpmc, broadcast):
 * one handle that either takes messages out (consumer, or subscriber of a
 * broadcast ring) or puts them in (producer), through the public API only.
 *
 * Taking out is peek then release, so a message leaves the ring only once
 * the bridge has handed it on (at-least-once on the ring side; the NATS
 * side decides what the bridge promises).  A lossy broadcast ring cannot be
 * held back: its messages are copied out (pop) and the ring counts what the
 * bridge missed (bridge_ring_missed()).
 */
#ifndef SHMBUS_TOOL_BRIDGE_RING_H
#define SHMBUS_TOOL_BRIDGE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shmbus/shmbus.h"

#define BRIDGE_BURST 64

struct bridge_msg {
	const void *data;
	size_t len;
};

struct bridge_ring {
	const char *name;
	enum shmbus_kind kind;
	bool producer;
	void *h;        /* struct shmbus_spsc / shmbus_mpmc / shmbus_bcast */
	bool lossy;     /* a lossy broadcast ring: peek copies into buf */
	char *buf;
	size_t size;
};

/* Open ring @name as producer (@producer) or consumer/subscriber (a
 * broadcast subscriber joins at the next message).  0 or an error code. */
int bridge_ring_open(struct bridge_ring *r, const char *name, bool producer);
void bridge_ring_close(struct bridge_ring *r);

/* At most @n (<= BRIDGE_BURST) messages in place, waiting up to
 * @timeout_ms for the first: a count, -ETIMEDOUT, -SHMBUS_EEOS or an error. */
int bridge_ring_peek(struct bridge_ring *r, struct bridge_msg *msgs, unsigned n, int timeout_ms);
/* Consume the @n oldest peeked messages: >= 0 or an error. */
int bridge_ring_release(struct bridge_ring *r, unsigned n);
/* Messages this subscriber of a lossy broadcast ring missed; 0 otherwise. */
uint64_t bridge_ring_missed(struct bridge_ring *r);

/* Producer: one message, waiting up to @timeout_ms for room. */
int bridge_ring_push(struct bridge_ring *r, const void *data, size_t len, int timeout_ms);
/* Producer: the largest message the ring takes. */
size_t bridge_ring_max_msg(struct bridge_ring *r);
int bridge_ring_reopen_stream(struct bridge_ring *r);
int bridge_ring_close_stream(struct bridge_ring *r);

#endif
