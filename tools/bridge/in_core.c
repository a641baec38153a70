/*
 * in_core.c - `shmbus bridge in` in core NATS mode: NATS -> ring, at most
 * once.
 *
 * A synchronous subscription with bounded pending limits: when the ring is
 * full the bridge waits on it, libnats queues up to the limits and then
 * drops (natsSubscription_GetDropped), so memory stays bounded and the loss
 * is counted.  Gaps in the sequence header (a server restart, a
 * disconnect) are counted dropped as well; a sequence that goes back is a
 * new run of `bridge out` and starts counting again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../tool.h"
#include "bridge.h"

#define POLL_MS 100
#define PENDING_MSGS_MAX 65536
#define PENDING_BYTES_MAX (64 * 1024 * 1024)
/* On SIGINT/SIGTERM, how long a message already received may wait for
 * room in the ring before it is counted dropped. */
#define DRAIN_PUSH_MS 1000

/* The value of header @key as a number; false if absent or not a number. */
static bool header_u64(natsMsg *m, const char *key, uint64_t *v)
{
	const char *s = NULL;
	char *end;

	if (natsMsgHeader_Get(m, key, &s) != NATS_OK || !s || !*s)
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* Where the receiving side stands: the subscription, the last sequence
 * number seen, and how many of libnats' slow-consumer drops are already
 * counted (a gap in the sequence numbers covers the drops inside it). */
struct in_state {
	natsSubscription *sub;
	uint64_t last;
	int64_t nats_dropped;
};

/* libnats' drops since the last call. */
static uint64_t nats_drops(struct in_state *st)
{
	int64_t d = 0;

	if (natsSubscription_GetDropped(st->sub, &d) != NATS_OK || d <= st->nats_dropped)
		return 0;
	d -= st->nats_dropped;
	st->nats_dropped += d;
	return (uint64_t)d;
}

/* Count what went missing before message @m: from its sequence number if it
 * has one (the gap includes libnats' drops), else libnats' drops.  Returns
 * whether @m is the end of the stream. */
static bool account(struct in_state *st, natsMsg *m, struct bridge_counters *c)
{
	uint64_t drops = nats_drops(st), seq;

	if (header_u64(m, BRIDGE_HDR_EOS, &seq)) {
		if (seq >= st->last) /* sent and never came */
			c->dropped += seq - st->last;
		st->last = seq;
		return true;
	}
	if (!header_u64(m, BRIDGE_HDR_SEQ, &seq)) {
		c->dropped += drops;
		return false;
	}
	if (seq <= st->last) /* a new run of bridge out */
		st->last = seq - 1;
	c->dropped += seq - st->last - 1;
	st->last = seq;
	return false;
}

/* Push into the ring, waiting for room while not stopping (then for
 * @stop_ms more): 0, -ETIMEDOUT, or an error. */
static int push_wait(struct bridge_ring *r, const void *data, size_t len, int stop_ms)
{
	for (;;) {
		int rc = bridge_ring_push(r, data, len, bridge_stopping() ? stop_ms : POLL_MS);

		if (rc != -ETIMEDOUT && rc != -EINTR)
			return rc;
		if (bridge_stopping() && rc == -ETIMEDOUT)
			return rc;
	}
}

/* One message from NATS into the ring: 1 to go on, 0 at the end of the
 * stream, -1 after printing an error. */
static int deliver(const struct bridge_opts *o, struct bridge_ring *r, natsMsg *m,
		   struct bridge_counters *c, struct in_state *st)
{
	const void *data = natsMsg_GetData(m);
	int len = natsMsg_GetDataLength(m);
	int rc;

	if (account(st, m, c))
		return 0;
	if (len < 0 || (size_t)len > bridge_ring_max_msg(r)) {
		c->dropped++;
		return 1;
	}
	rc = push_wait(r, data ? data : "", (size_t)len, DRAIN_PUSH_MS);
	if (rc == 0) {
		c->forwarded++;
		return 1;
	}
	c->dropped++;
	if (rc == -ETIMEDOUT)
		return 1;
	tool_fail(o->ring, "cannot produce", rc);
	return -1;
}

/* Stopping: deliver what libnats has queued already (each waiting at most
 * DRAIN_PUSH_MS for room), then stop interest. */
static int drain(const struct bridge_opts *o, struct bridge_ring *r, struct in_state *st,
		 struct bridge_counters *c)
{
	int n = 0, go = 1;
	natsMsg *m;

	if (natsSubscription_GetPending(st->sub, &n, NULL) != NATS_OK)
		n = 0;
	while (n-- > 0 && go > 0 && natsSubscription_NextMsg(&m, st->sub, 1) == NATS_OK) {
		go = deliver(o, r, m, c, st);
		natsMsg_Destroy(m);
	}
	return go < 0 ? TOOL_ERR : TOOL_OK;
}

int bridge_in_core(const struct bridge_opts *o, struct bridge_ring *r, natsConnection *nc,
		   struct bridge_counters *c)
{
	struct in_state st = { 0 };
	int queued = 0;
	natsMsg *m;
	natsStatus s;
	int rc = TOOL_OK, go = 1;

	s = natsConnection_SubscribeSync(&st.sub, nc, o->subject);
	if (s == NATS_OK)
		s = natsSubscription_SetPendingLimits(st.sub, PENDING_MSGS_MAX, PENDING_BYTES_MAX);
	if (s == NATS_OK)
		s = natsConnection_FlushTimeout(nc, 5000);
	if (s != NATS_OK) {
		rc = bridge_nats_fail(o, "cannot subscribe", s);
		goto out;
	}
	/* A new bridge starts a new stream, as `shmbus pub` does. */
	rc = bridge_ring_reopen_stream(r);
	if (rc) {
		rc = tool_fail(o->ring, "cannot reopen the stream", rc);
		goto out;
	}
	while (go > 0 && !bridge_stopping()) {
		s = natsSubscription_NextMsg(&m, st.sub, POLL_MS);
		if (s == NATS_TIMEOUT || s == NATS_SLOW_CONSUMER)
			continue;
		if (s != NATS_OK) {
			if (natsConnection_IsClosed(nc))
				rc = bridge_nats_fail(o, "NATS connection closed", s);
			else
				rc = bridge_nats_fail(o, "cannot receive", s);
			goto out;
		}
		go = deliver(o, r, m, c, &st);
		natsMsg_Destroy(m);
	}
	if (go < 0) {
		rc = TOOL_ERR;
	} else if (go == 0) {
		int err = bridge_ring_close_stream(r);

		if (err)
			rc = tool_fail(o->ring, "cannot close the stream", err);
	} else {
		rc = drain(o, r, &st, c);
	}
out:
	/* libnats' drops after the last message, and whatever is still queued:
	 * both are lost with the subscription. */
	if (st.sub) {
		c->dropped += nats_drops(&st);
		if (natsSubscription_GetPending(st.sub, &queued, NULL) == NATS_OK && queued > 0)
			c->dropped += (uint64_t)queued;
		(void)natsSubscription_Unsubscribe(st.sub);
	}
	natsSubscription_Destroy(st.sub);
	return rc;
}
