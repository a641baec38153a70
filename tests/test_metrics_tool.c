/*
 * test_metrics_tool.c - the real `shmbus metrics` and `shmbus serve`: the
 * output of a live set of blocks (spsc, mpmc, broadcast with a subscriber,
 * a slot table, a raw block) passes `promtool check metrics` and shows the
 * counts that were made; HELP and TYPE once per family; label values
 * escaped; a named block that cannot be read; serve started for real on
 * 127.0.0.1 (port 0: it says which port it got), scraped with curl, 404
 * elsewhere, a fresh snapshot per scrape, status 0 on SIGINT and SIGTERM;
 * bad --listen values.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "shmbus/broadcast.h"
#include "testutil.h"

#define T0(in, out, err, ...) \
	tu_run((const char *const[]){ tu_tool(), __VA_ARGS__, NULL }, in, out, err)

/* The prefix of every block this process names (tu_name("")), copied. */
static char prefix[SHMBUS_NAME_MAX + 1];

/* @text passes `promtool check metrics` (which reads standard input). */
static void promtool_ok(const char *text)
{
	char *out = NULL, *err = NULL;
	int rc = tu_run((const char *const[]){ "promtool", "check", "metrics", NULL }, text, &out,
			&err);

	if (rc == 127)
		fail_msg("promtool not found (scripts/deps.sh installs Debian's prometheus)");
	if (rc != 0)
		fail_msg("promtool check metrics: status %d\n%s%s\n--- input:\n%s", rc, out, err,
			 text);
	free(out);
	free(err);
}

/* The sample line "FAMILY{name="NAME",kind="KIND"EXTRA} VALUE" is in @text. */
static void has_sample(const char *text, const char *family, const char *name,
		       const char *kind, const char *extra, long long value)
{
	char line[1024];

	snprintf(line, sizeof(line), "\n%s{name=\"%s\",kind=\"%s\"%s} %lld\n", family, name, kind,
		 extra ? extra : "", value);
	if (!strstr(text, line))
		fail_msg("missing sample:%s--- in:\n%s", line, text);
}

static size_t count_of(const char *text, const char *what)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The live set: what it holds is asserted by check_live_set(). */
struct live_set {
	char spsc[SHMBUS_NAME_MAX + 1], mpmc[SHMBUS_NAME_MAX + 1], bcast[SHMBUS_NAME_MAX + 1];
	char slots[SHMBUS_NAME_MAX + 1], raw[SHMBUS_NAME_MAX + 1];
	struct shmbus_bcast *sub; /* a subscriber that read 1 of 4 */
};

static void make_live_set(struct live_set *s)
{
	char buf[64];
	int rc;

	snprintf(prefix, sizeof(prefix), "%s", tu_name(""));
	snprintf(s->spsc, sizeof(s->spsc), "%s", tu_name("spsc"));
	snprintf(s->mpmc, sizeof(s->mpmc), "%s", tu_name("mpmc"));
	snprintf(s->bcast, sizeof(s->bcast), "%s", tu_name("bcast"));
	snprintf(s->slots, sizeof(s->slots), "%s", tu_name("slots"));
	snprintf(s->raw, sizeof(s->raw), "%s", tu_name("raw"));
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", s->spsc, "--capacity", "4K"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "mpmc", s->mpmc, "--slots", "8",
			    "--slot-size", "64"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", s->bcast, "--capacity",
			    "4K"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "slots", s->slots, "--values",
			    "[1, \"two\"]"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "block", s->raw, "--size", "4K"), 0);

	/* spsc: 5 in (10 bytes), 2 out; the stream stays open */
	assert_int_equal(T0("m1\nm2\nm3\nm4\nm5\n", NULL, NULL, "pub", s->spsc, "--keep-open"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", s->spsc, "--count", "2"), 0);
	/* mpmc: 3 in, none out */
	assert_int_equal(T0("a\nbb\nccc\n", NULL, NULL, "pub", s->mpmc, "--keep-open"), 0);
	/* broadcast: this process subscribes, 4 in, it reads 1 */
	assert_int_equal(shmbus_bcast_subscribe(&s->sub, s->bcast, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(T0("w\nxx\nyyy\nzzzz\n", NULL, NULL, "pub", s->bcast, "--keep-open"), 0);
	rc = shmbus_bcast_pop_try(s->sub, buf, sizeof(buf), NULL);
	assert_int_equal(rc, 1);
}

static void check_live_set(const struct live_set *s, const char *out)
{
	char sub_label[64];

	/* spsc */
	has_sample(out, "shmbus_ring_in_messages_total", s->spsc, "spsc", NULL, 5);
	has_sample(out, "shmbus_ring_in_bytes_total", s->spsc, "spsc", NULL, 10);
	has_sample(out, "shmbus_ring_out_messages_total", s->spsc, "spsc", NULL, 2);
	has_sample(out, "shmbus_ring_out_bytes_total", s->spsc, "spsc", NULL, 4);
	has_sample(out, "shmbus_ring_capacity_bytes", s->spsc, "spsc", NULL, 4096);
	has_sample(out, "shmbus_ring_used_bytes", s->spsc, "spsc", NULL, 3 * 16);
	has_sample(out, "shmbus_ring_end_of_stream", s->spsc, "spsc", NULL, 0);
	has_sample(out, "shmbus_block_up", s->spsc, "spsc", NULL, 1);
	/* mpmc */
	has_sample(out, "shmbus_ring_in_messages_total", s->mpmc, "mpmc", NULL, 3);
	has_sample(out, "shmbus_ring_in_bytes_total", s->mpmc, "mpmc", NULL, 6);
	has_sample(out, "shmbus_ring_out_messages_total", s->mpmc, "mpmc", NULL, 0);
	has_sample(out, "shmbus_ring_used_slots", s->mpmc, "mpmc", NULL, 3);
	has_sample(out, "shmbus_ring_capacity_slots", s->mpmc, "mpmc", NULL, 8);
	has_sample(out, "shmbus_ring_lost_messages_total", s->mpmc, "mpmc", NULL, 0);
	/* broadcast, and its one subscriber */
	snprintf(sub_label, sizeof(sub_label), ",subscriber=\"%d\"", shmbus_bcast_index(s->sub));
	has_sample(out, "shmbus_ring_in_messages_total", s->bcast, "broadcast", NULL, 4);
	has_sample(out, "shmbus_ring_in_bytes_total", s->bcast, "broadcast", NULL, 10);
	has_sample(out, "shmbus_subscriber_out_messages_total", s->bcast, "broadcast", sub_label, 1);
	has_sample(out, "shmbus_subscriber_out_bytes_total", s->bcast, "broadcast", sub_label, 1);
	has_sample(out, "shmbus_subscriber_lag_messages", s->bcast, "broadcast", sub_label, 3);
	has_sample(out, "shmbus_subscriber_alive", s->bcast, "broadcast", sub_label, 1);
	has_sample(out, "shmbus_subscriber_dropped_messages_total", s->bcast, "broadcast",
		   sub_label, 0);
	/* slot table, raw block */
	has_sample(out, "shmbus_slots_items", s->slots, "slots", NULL, 2);
	has_sample(out, "shmbus_block_up", s->raw, "unknown", NULL, 1);
	has_sample(out, "shmbus_block_size_bytes", s->raw, "unknown", NULL, 4096);
}

static void test_live_set(void **state)
{
	struct live_set s;
	char *out = NULL;

	(void)state;
	make_live_set(&s);
	assert_int_equal(T0(NULL, &out, NULL, "metrics", "--prefix", prefix), 0);
	promtool_ok(out);
	check_live_set(&s, out);
	/* HELP and TYPE once per family, whatever the number of blocks */
	assert_int_equal(count_of(out, "# TYPE shmbus_ring_in_messages_total counter\n"), 1);
	assert_int_equal(count_of(out, "# HELP shmbus_ring_in_messages_total "), 1);
	assert_int_equal(count_of(out, "# TYPE shmbus_block_up gauge\n"), 1);
	/* only our blocks: 5 of them */
	assert_int_equal(count_of(out, "\nshmbus_block_up{"), 5);
	free(out);

	/* read-only: a second rendering shows the same counts, and the
	 * subscriber still has its 3 messages to read */
	assert_int_equal(T0(NULL, &out, NULL, "metrics", s.spsc, s.bcast), 0);
	has_sample(out, "shmbus_ring_out_messages_total", s.spsc, "spsc", NULL, 2);
	assert_int_equal(count_of(out, "\nshmbus_block_up{"), 2);
	free(out);
	assert_int_equal(shmbus_bcast_pop_try(s.sub, (char[8]){ 0 }, 8, NULL), 2);
	shmbus_bcast_close(s.sub);
}

/* Names are label values: '"', '\' and newline escaped; promtool agrees. */
static void test_label_escaping(void **state)
{
	const char *odd = tu_name("q\"b\\s\nn");
	char *out = NULL, want[512];

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "block", odd, "--size", "1K"), 0);
	assert_int_equal(T0(NULL, &out, NULL, "metrics", odd), 0);
	promtool_ok(out);
	snprintf(want, sizeof(want), "shmbus_block_size_bytes{name=\"%sq\\\"b\\\\s\\nn\","
		 "kind=\"unknown\"} 1024\n", tu_name(""));
	assert_non_null(strstr(out, want));
	free(out);
}

static void test_errors(void **state)
{
	const char *raw = tu_name("raw"), *gone = tu_name("gone");
	char *out = NULL, *err = NULL, want[512];

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "block", raw, "--size", "1K"), 0);
	/* a named block that is not there: the others still print, status 1 */
	assert_int_equal(T0(NULL, &out, &err, "metrics", raw, gone), 1);
	promtool_ok(out);
	has_sample(out, "shmbus_block_up", raw, "unknown", NULL, 1);
	has_sample(out, "shmbus_block_up", gone, "unknown", NULL, 0);
	snprintf(want, sizeof(want), "%s: cannot read", gone);
	assert_non_null(strstr(err, want));
	free(out);
	free(err);
	/* usage */
	assert_int_equal(T0(NULL, NULL, &err, "metrics", raw, "--prefix", "x"), 2);
	assert_non_null(strstr(err, "not both"));
	free(err);
	assert_int_equal(T0(NULL, NULL, NULL, "metrics", "--bogus"), 2);
	/* a prefix nothing has: empty output, status 0 */
	assert_int_equal(T0(NULL, &out, NULL, "metrics", "--prefix", tu_name("none_")), 0);
	assert_string_equal(out, "");
	free(out);
}

/* The server a test started, killed by serve_teardown() if a failed
 * assertion left it running (it would hold ctest's output pipe open). */
static pid_t running_server;

static int serve_teardown(void **state)
{
	if (running_server > 0) {
		kill(running_server, SIGKILL);
		tu_wait(running_server);
		running_server = 0;
	}
	return tu_teardown(state);
}

/* A running `shmbus serve`: its pid and URL. */
struct server {
	pid_t pid;
	char url[256];
};

/* Start serve on 127.0.0.1:0 for this test's blocks; false if the tool was
 * built without libmicrohttpd. */
static bool serve_start(struct server *s)
{
	int fds[2];
	char line[512];
	FILE *f;

	assert_int_equal(pipe(fds), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(tu_tool(), tu_tool(), "serve", "--listen", "127.0.0.1:0", "--prefix", prefix,
		      (char *)NULL);
		_exit(127);
	}
	running_server = s->pid;
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		running_server = 0;
		assert_int_equal(tu_wait(s->pid), 1); /* built without it: says so */
		return false;
	}
	fclose(f);
	assert_int_equal(sscanf(line, "shmbus serve: listening on %255s", s->url), 1);
	assert_non_null(strstr(s->url, "http://127.0.0.1:"));
	return true;
}

/* GET @url with curl: its body, and the HTTP status in *@code. */
static char *curl_get(const char *url, int *code)
{
	char *out = NULL, *nl;
	int rc = tu_run((const char *const[]){ "curl", "-sS", "-w", "\n%{http_code}", url, NULL },
			NULL, &out, NULL);

	if (rc == 127)
		fail_msg("curl not found (scripts/deps.sh installs it)");
	assert_int_equal(rc, 0);
	nl = strrchr(out, '\n');
	assert_non_null(nl);
	*code = atoi(nl + 1);
	nl[1] = '\0'; /* keep the body's own last newline */
	if (nl == out || nl[-1] == '\n')
		*nl = '\0';
	return out;
}

static void test_serve(void **state)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct live_set s;
	struct server srv;
	char *body, other[300];
	int code;
	size_t i;

	(void)state;
	make_live_set(&s);
	for (i = 0; i < 2; i++) {
		if (!serve_start(&srv)) {
			shmbus_bcast_close(s.sub);
			skip();
		}
		body = curl_get(srv.url, &code);
		assert_int_equal(code, 200);
		promtool_ok(body);
		if (i == 0) /* the next steps change the spsc ring's counts */
			check_live_set(&s, body);
		free(body);
		/* a fresh snapshot per scrape */
		assert_int_equal(T0("m6\n", NULL, NULL, "pub", s.spsc, "--keep-open"), 0);
		body = curl_get(srv.url, &code);
		has_sample(body, "shmbus_ring_in_messages_total", s.spsc, "spsc", NULL, 6 + i);
		free(body);
		assert_int_equal(T0(NULL, NULL, NULL, "sub", s.spsc, "--count", "1"), 0);
		/* anything but /metrics is 404 */
		snprintf(other, sizeof(other), "%.*s/other", (int)(strlen(srv.url) - 8), srv.url);
		body = curl_get(other, &code);
		assert_int_equal(code, 404);
		free(body);
		/* a clean exit on SIGINT and on SIGTERM */
		assert_int_equal(kill(srv.pid, sigs[i]), 0);
		running_server = 0;
		assert_int_equal(tu_wait(srv.pid), 0);
	}
	shmbus_bcast_close(s.sub);
}

static void test_serve_bad_listen(void **state)
{
	static const char *const bad[] = { "nocolon", "127.0.0.1:", "127.0.0.1:70000",
					   "127.0.0.1:x", "::1:80", "no.such.host.invalid:80" };
	struct server srv;
	char *err = NULL, addr[300];
	size_t i;

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s", tu_name(""));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = T0(NULL, NULL, &err, "serve", "--listen", bad[i]);

		if (rc == 1 && strstr(err, "without libmicrohttpd")) {
			free(err);
			skip();
		}
		assert_int_equal(rc, 2);
		assert_non_null(strstr(err, "bad --listen"));
		free(err);
	}
	assert_int_equal(T0(NULL, NULL, &err, "serve"), 2);
	assert_non_null(strstr(err, "--listen"));
	free(err);
	/* a port in use: status 1, and why */
	if (!serve_start(&srv))
		skip();
	snprintf(addr, sizeof(addr), "%s", srv.url + strlen("http://"));
	*strchr(addr, '/') = '\0';
	assert_int_equal(T0(NULL, NULL, &err, "serve", "--listen", addr), 1);
	assert_non_null(strstr(err, "cannot listen"));
	assert_non_null(strstr(err, "in use"));
	free(err);
	assert_int_equal(kill(srv.pid, SIGTERM), 0);
	running_server = 0;
	assert_int_equal(tu_wait(srv.pid), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_live_set, tu_teardown),
		cmocka_unit_test_teardown(test_label_escaping, tu_teardown),
		cmocka_unit_test_teardown(test_errors, tu_teardown),
		cmocka_unit_test_teardown(test_serve, serve_teardown),
		cmocka_unit_test_teardown(test_serve_bad_listen, serve_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
