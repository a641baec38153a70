/*
 * out_core.c - `shmbus bridge out` in core NATS mode: ring -> NATS,
 * at most once.
 *
 * A burst is taken from the ring in place, each message published with its
 * sequence header, then the burst is released: a message leaves the ring
 * only once libnats has it.  While the connection is down the bridge takes
 * nothing from the ring (the ring's producers wait, or a lossy broadcast
 * ring counts what this subscriber misses), so memory stays bounded by
 * libnats' buffers.  What libnats refuses (connection closed, message
 * larger than the server allows) is counted dropped; what a server that
 * dies takes with it is counted by `bridge in` from the sequence numbers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../tool.h"
#include "bridge.h"

#define POLL_MS 100

static natsStatus publish_one(natsConnection *nc, const char *subject, const char *hdr,
			      uint64_t seq, const void *data, size_t len)
{
	char value[24];
	natsMsg *m = NULL;
	natsStatus s;

	if (len > INT32_MAX)
		return NATS_MAX_PAYLOAD;
	s = natsMsg_Create(&m, subject, NULL, data, (int)len);
	if (s != NATS_OK)
		return s;
	snprintf(value, sizeof(value), "%" PRIu64, seq);
	s = natsMsgHeader_Set(m, hdr, value);
	if (s == NATS_OK)
		s = natsConnection_PublishMsg(nc, m);
	natsMsg_Destroy(m);
	return s;
}

/* Wait while libnats reconnects, so the ring keeps what it cannot send. */
static bool wait_connected(natsConnection *nc)
{
	const struct timespec nap = { 0, 20 * 1000000 };

	while (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
		if (natsConnection_IsClosed(nc) || bridge_stopping())
			return false;
		nanosleep(&nap, NULL);
	}
	return true;
}

int bridge_out_core(const struct bridge_opts *o, struct bridge_ring *r, natsConnection *nc,
		    struct bridge_counters *c)
{
	struct bridge_msg msgs[BRIDGE_BURST];
	uint64_t seq = 0, missed0 = bridge_ring_missed(r);
	natsStatus s;
	int k, i, rc = TOOL_OK;

	while (!bridge_stopping()) {
		if (!wait_connected(nc)) {
			if (!bridge_stopping())
				rc = bridge_nats_fail(o, "NATS connection closed",
						      NATS_CONNECTION_CLOSED);
			break;
		}
		k = bridge_ring_peek(r, msgs, BRIDGE_BURST, POLL_MS);
		if (k == -ETIMEDOUT || k == -EINTR)
			continue;
		if (k == -SHMBUS_EEOS) {
			s = publish_one(nc, o->subject, BRIDGE_HDR_EOS, seq, NULL, 0);
			if (s == NATS_OK)
				s = natsConnection_FlushTimeout(nc, 5000);
			if (s != NATS_OK) {
				bridge_nats_fail(o, "cannot send the end of stream", s);
				rc = TOOL_ERR;
			}
			break;
		}
		if (k < 0) {
			rc = tool_fail(o->ring, "cannot consume", k);
			break;
		}
		for (i = 0; i < k; i++) {
			s = publish_one(nc, o->subject, BRIDGE_HDR_SEQ, ++seq, msgs[i].data,
					msgs[i].len);
			if (s == NATS_OK)
				c->forwarded++;
			else
				c->dropped++;
		}
		k = bridge_ring_release(r, (unsigned)k);
		if (k < 0) {
			rc = tool_fail(o->ring, "cannot consume", k);
			break;
		}
	}
	/* Hand what libnats holds to the server before closing. */
	if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
		(void)natsConnection_FlushTimeout(nc, 5000);
	c->dropped += bridge_ring_missed(r) - missed0;
	return rc;
}
