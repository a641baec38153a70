/*
 * conn.c - the bridge's NATS connection (options, reconnection with
 * back-off, errors in words), its signals, and bridge_run(), which ties
 * the ring, the connection and a loop together.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../tool.h"
#include "bridge.h"

/* Reconnect delay: 50 ms doubling up to 2 s, so a restarted server is found
 * quickly and a long outage costs a connect attempt every 2 s. */
#define RECONNECT_FIRST_MS 50
#define RECONNECT_MAX_MS 2000

static atomic_bool stop_requested;

/* Relaxed: a flag polled by the loop at least every 100 ms; nothing is
 * published through it. */
static void on_signal(int sig)
{
	(void)sig;
	atomic_store_explicit(&stop_requested, true, memory_order_relaxed);
}

void bridge_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool bridge_stopping(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

int bridge_nats_fail(const struct bridge_opts *o, const char *what, natsStatus s)
{
	const char *detail = nats_GetLastError(NULL);

	fprintf(stderr, "shmbus: %s: %s: %s", o->ring, what, natsStatus_GetText(s));
	if (detail && *detail && !strstr(detail, natsStatus_GetText(s)))
		fprintf(stderr, " (%s)", detail);
	fputc('\n', stderr);
	return TOOL_ERR;
}

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
	int64_t ms = RECONNECT_FIRST_MS;

	(void)nc;
	(void)closure;
	while (attempts-- > 1 && ms < RECONNECT_MAX_MS)
		ms *= 2;
	return ms < RECONNECT_MAX_MS ? ms : RECONNECT_MAX_MS;
}

/* Relaxed: a statistic, read once the connection is closed or for display. */
static void on_reconnected(natsConnection *nc, void *closure)
{
	struct bridge_counters *c = closure;

	(void)nc;
	atomic_fetch_add_explicit(&c->reconnects, 1, memory_order_relaxed);
}

/* Slow consumer and other asynchronous errors: what they lose is counted by
 * the subscription (natsSubscription_GetDropped); libnats' default handler
 * would print to stderr from its thread, so this one says nothing. */
static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err,
			   void *closure)
{
	(void)nc;
	(void)sub;
	(void)err;
	(void)closure;
}

/* Why the first connect failed, in the user's terms. */
static const char *connect_what(natsStatus s)
{
	switch (s) {
	case NATS_NO_SERVER:
		return "cannot reach the NATS server";
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		return "NATS server refused the credentials";
	case NATS_INVALID_ARG:
	case NATS_ADDRESS_MISSING:
		return "bad --nats URL";
	default:
		return "cannot connect to NATS";
	}
}

int bridge_connect(const struct bridge_opts *o, struct bridge_counters *c, natsConnection **nc)
{
	natsOptions *no = NULL;
	natsStatus s;
	char name[128];

	snprintf(name, sizeof(name), "shmbus bridge %s %s", o->out ? "out" : "in", o->ring);
	s = natsOptions_Create(&no);
	if (s == NATS_OK)
		s = natsOptions_SetURL(no, o->url);
	if (s != NATS_OK) {
		natsOptions_Destroy(no);
		return bridge_nats_fail(o, "bad --nats URL", s);
	}
	s = natsOptions_SetName(no, name);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(no, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(no, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(no, reconnect_delay, NULL);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(no, on_reconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(no, on_async_error, NULL);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, no);
	natsOptions_Destroy(no);
	if (s != NATS_OK)
		return bridge_nats_fail(o, connect_what(s), s);
	return 0;
}

static void print_counters(const struct bridge_opts *o, const struct bridge_counters *c)
{
	fprintf(stderr,
		"shmbus: %s: bridge %s: forwarded %llu, acknowledged %llu, pending %llu, "
		"redelivered %llu, dropped %llu, reconnects %llu\n",
		o->ring, o->out ? "out" : "in", (unsigned long long)c->forwarded,
		(unsigned long long)c->acknowledged, (unsigned long long)c->pending,
		(unsigned long long)c->redelivered, (unsigned long long)c->dropped,
		(unsigned long long)atomic_load_explicit(&c->reconnects, memory_order_relaxed));
}

int bridge_run(const struct bridge_opts *o)
{
	struct bridge_counters c = { 0 };
	natsConnection *nc = NULL;
	struct bridge_ring r;
	int rc;

	rc = bridge_ring_open(&r, o->ring, !o->out);
	if (rc)
		return tool_fail(o->ring, o->out ? "cannot consume" : "cannot produce", rc);
	bridge_catch_signals();
	if (bridge_connect(o, &c, &nc) != 0) {
		rc = TOOL_ERR;
		goto out;
	}
	if (o->stream) {
		fprintf(stderr, "shmbus: %s: --jetstream is not available yet\n", o->ring);
		rc = TOOL_ERR;
	} else if (o->out) {
		rc = bridge_out_core(o, &r, nc, &c);
	} else {
		rc = bridge_in_core(o, &r, nc, &c);
	}
	natsConnection_Close(nc);
	if (!o->quiet)
		print_counters(o, &c);
out:
	natsConnection_Destroy(nc);
	bridge_ring_close(&r);
	nats_Close();
	return rc;
}
