/*
 * cmd_bcast.c - the broadcast ring in the tool: `shmbus create broadcast`
 * and the loops behind `shmbus pub` / `shmbus sub` for broadcast blocks
 * (see pubsub.h).
 *
 * One pub and any number of subs share a broadcast ring; every sub gets
 * every message, from where it joined (--from).  On a reliable ring a sub
 * reads in place and releases after printing, as on the other kinds.  On a
 * lossy ring the producer may overwrite a message while a sub reads it, so
 * a sub copies messages out with pop (which never returns a torn one) and
 * prints the copies; at exit it says how many messages it missed, also
 * when SIGINT or SIGTERM ends it (it then dies by that signal, as without
 * the report).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "pubsub.h"
#include "shmbus/broadcast.h"
#include "tool.h"

#define SUB_BURST 64
_Static_assert(SUB_BURST <= SUB_BURST_MAX, "sub_lines() takes at most SUB_BURST_MAX at once");

static const struct tool_cmd create_bcast_cmd = {
	.name = "create broadcast",
	.usage = "usage: shmbus create broadcast NAME --capacity BYTES [--subscribers N]\n"
		 "                               [--policy reliable|lossy] [--liveness-ms MS]\n"
		 "                               [--mode 0600] [--ephemeral]\n\n"
		 "Create an empty broadcast ring: one producer, and subscribers that each\n"
		 "read every message at their own pace.\n"
		 "  --capacity BYTES  ring size: a power of two from 64 to 1G, with an\n"
		 "                    optional K, M or G suffix; the largest message is\n"
		 "                    BYTES - 16\n"
		 "  --subscribers N   subscribers at once, 1 to 1024 (default 64)\n"
		 "  --policy POLICY   reliable (default): the producer waits for the slowest\n"
		 "                    live subscriber; lossy: it never waits, and a subscriber\n"
		 "                    it laps misses messages (and counts them)\n"
		 "  --liveness-ms MS  how long a reliable producer is held by one subscriber\n"
		 "                    before it checks whether that one died (and if so stops\n"
		 "                    waiting for it): 1 to 60000 (default 500)\n"
		 "  --mode MODE       permission bits, octal (default 0600)\n"
		 "  --ephemeral       gc removes it once its creator and every participant\n"
		 "                    are dead (default: persistent, see shmbus gc --help)\n",
};

static bool parse_policy(const char *s, uint32_t *policy)
{
	if (strcmp(s, "reliable") == 0)
		*policy = SHMBUS_BCAST_RELIABLE;
	else if (strcmp(s, "lossy") == 0)
		*policy = SHMBUS_BCAST_LOSSY;
	else
		return false;
	return true;
}

int tool_create_bcast(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "subscribers", required_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'p' },
		{ "liveness-ms", required_argument, NULL, 'l' },
		{ "mode", required_argument, NULL, 'm' },
		{ "ephemeral", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct shmbus_bcast_params p = { 0 };
	uint64_t mode = 0;
	bool ephemeral = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":c:s:p:l:m:he", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!tool_parse_size(optarg, &p.capacity) ||
			    p.capacity < SHMBUS_BCAST_CAPACITY_MIN ||
			    p.capacity > SHMBUS_BCAST_CAPACITY_MAX || (p.capacity & (p.capacity - 1)))
				return tool_usage_error(&create_bcast_cmd,
							"bad --capacity '%s' (a power of two, 64 to 1G)",
							optarg);
			break;
		case 's':
			if (!tool_parse_u32(optarg, 1, SHMBUS_BCAST_SUBSCRIBERS_MAX, &p.subscribers))
				return tool_usage_error(&create_bcast_cmd,
							"bad --subscribers '%s' (1 to 1024)", optarg);
			break;
		case 'p':
			if (!parse_policy(optarg, &p.policy))
				return tool_usage_error(&create_bcast_cmd,
							"bad --policy '%s' (reliable or lossy)", optarg);
			break;
		case 'l':
			if (!tool_parse_u32(optarg, 1, SHMBUS_BCAST_LIVENESS_MAX_MS, &p.liveness_ms))
				return tool_usage_error(&create_bcast_cmd,
							"bad --liveness-ms '%s' (1 to 60000)", optarg);
			break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&create_bcast_cmd,
							"bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'e':
			ephemeral = true;
			break;
		case 'h':
			return tool_help(&create_bcast_cmd);
		default:
			return tool_bad_option(&create_bcast_cmd, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&create_bcast_cmd, "expected one block name");
	if (tool_check_name(&create_bcast_cmd, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	if (!p.capacity)
		return tool_usage_error(&create_bcast_cmd, "--capacity is required");
	p.mode = (mode_t)mode | (ephemeral ? SHMBUS_MODE_EPHEMERAL : 0);
	rc = shmbus_bcast_create(argv[optind], &p);
	if (rc)
		return tool_fail(argv[optind], "cannot create", rc);
	return TOOL_OK;
}

static int bcast_push(void *h, const void *data, size_t len, int timeout_ms)
{
	return shmbus_bcast_push(h, data, len, timeout_ms);
}

static int bcast_reopen_stream(void *h)
{
	return shmbus_bcast_reopen_stream(h);
}

static int bcast_close_stream(void *h)
{
	return shmbus_bcast_close_stream(h);
}

int bcast_pub(const struct pubsub_opts *o)
{
	static const struct pub_ops ops = {
		.push = bcast_push,
		.reopen_stream = bcast_reopen_stream,
		.close_stream = bcast_close_stream,
	};
	struct shmbus_bcast *b;
	int rc;

	rc = shmbus_bcast_open_producer(&b, o->name);
	if (rc)
		return tool_fail(o->name, "cannot publish", rc);
	rc = pub_lines(o, &ops, b);
	shmbus_bcast_close(b);
	return rc;
}

/* A subscriber handle, and for a lossy ring where pop copies messages to. */
struct bcast_sub {
	struct shmbus_bcast *b;
	char *buf;      /* lossy: holds a burst, at most the ring's capacity */
	size_t size;
};

/* Reliable: at most @n messages in place; waits up to *@timeout_ms if
 * there are none (NULL: does not wait).  The producer does not overwrite
 * them before release. */
static int reliable_peek(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms)
{
	struct bcast_sub *s = h;
	struct shmbus_bcast_msg m[SUB_BURST_MAX];
	int k, i;

	if (n > SUB_BURST_MAX) /* the array above */
		n = SUB_BURST_MAX;
	k = timeout_ms ? shmbus_bcast_peek_burst(s->b, m, n, *timeout_ms) :
			 shmbus_bcast_peek_burst_try(s->b, m, n);
	for (i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int reliable_release(void *h, unsigned n)
{
	struct bcast_sub *s = h;

	return shmbus_bcast_release_burst(s->b, n);
}

/* Lossy: SIGINT or SIGTERM caught (its number), so that the sub can say
 * what it missed before it dies by it. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* pop, waiting up to @timeout_ms (< 0: forever) in slices, so that a stop
 * signal ends the wait: -EINTR then. */
static int lossy_pop_wait(struct bcast_sub *s, char *at, size_t size, int timeout_ms)
{
	int left = timeout_ms, slice, rc;

	for (;;) {
		if (stop_signal)
			return -EINTR;
		slice = left < 0 || left > STOP_POLL_MS ? STOP_POLL_MS : left;
		rc = shmbus_bcast_pop(s->b, at, size, NULL, slice);
		if (rc != -ETIMEDOUT)
			return rc;
		if (left >= 0 && (left -= slice) <= 0)
			return rc;
	}
}

/* Lossy: copies of at most @n messages, each checked whole by pop, packed
 * in s->buf (8-byte aligned, as in the ring, so what one peek could hold
 * fits).  Waits only for the first.  -EINTR once a stop signal came. */
static int lossy_peek(void *h, struct pubsub_msg *msgs, unsigned n, const int *timeout_ms)
{
	struct bcast_sub *s = h;
	size_t used = 0;
	unsigned k;
	int len;

	if (stop_signal)
		return -EINTR;
	for (k = 0; k < n; k++) {
		char *at = s->buf + used;

		len = k == 0 && timeout_ms ? lossy_pop_wait(s, at, s->size - used, *timeout_ms) :
					     shmbus_bcast_pop_try(s->b, at, s->size - used, NULL);
		if (len < 0 && k > 0) /* what we have first; the error comes again */
			break;
		if (len < 0)
			return len;
		msgs[k].data = at;
		msgs[k].len = (size_t)len;
		used += ((size_t)len + 7) & ~(size_t)7;
		if (used >= s->size)
			break;
	}
	return (int)k;
}

/* Lossy: pop has released them already. */
static int lossy_release(void *h, unsigned n)
{
	(void)h;
	return (int)n;
}

/* Lossy: "dropped N" on stderr if this subscriber missed messages. */
static void report_dropped(const struct pubsub_opts *o, struct shmbus_bcast *b)
{
	struct shmbus_bcast_sub_stats st;
	int index = shmbus_bcast_index(b);

	if (index < 0 || shmbus_bcast_sub_stats(b, (unsigned)index, &st) != 0)
		return;
	if (st.dropped)
		fprintf(stderr, "shmbus: %s: dropped %llu messages (lossy ring: overwritten before "
			"they were read)\n", o->name, (unsigned long long)st.dropped);
}

int bcast_sub(const struct pubsub_opts *o)
{
	static const struct sub_ops reliable = {
		.peek = reliable_peek,
		.release = reliable_release,
		.burst = SUB_BURST,
	};
	static const struct sub_ops lossy = {
		.peek = lossy_peek,
		.release = lossy_release,
		.burst = SUB_BURST,
	};
	struct bcast_sub s = { 0 };
	bool is_lossy;
	int rc;

	rc = shmbus_bcast_subscribe(&s.b, o->name,
				    o->from ? (enum shmbus_bcast_from)o->from : SHMBUS_BCAST_FROM_NEXT);
	if (rc)
		return tool_fail(o->name, "cannot subscribe", rc);
	is_lossy = shmbus_bcast_policy(s.b) == SHMBUS_BCAST_LOSSY;
	if (is_lossy) {
		struct sigaction sa = { .sa_handler = on_stop };

		/* No SA_RESTART: a blocked write to stdout returns too. */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		s.size = shmbus_bcast_capacity(s.b);
		s.buf = malloc(s.size);
		if (!s.buf) {
			rc = tool_fail(o->name, "cannot subscribe", -ENOMEM);
			goto out;
		}
	}
	rc = sub_lines(o, is_lossy ? &lossy : &reliable, &s);
	if (is_lossy)
		report_dropped(o, s.b);
out:
	free(s.buf);
	shmbus_bcast_close(s.b);
	if (stop_signal) {
		/* Die by it, as a sub without the handler would have. */
		signal(stop_signal, SIG_DFL);
		raise(stop_signal);
	}
	return rc;
}
