/*
 * mp_bridge.c - `shmbus bridge` against a real nats-server started here on
 * 127.0.0.1 (free ports), stopped at the end of each test even when it fails:
 * shmbus pub -> ring -> bridge out -> NATS -> bridge in -> ring -> shmbus sub,
 * byte for byte, with the end of the stream; the errors (unreachable, bad
 * URL, auth); SIGTERM; a server restart (loss counted exactly).
 *
 * Skipped (77) when nats-server is not installed or the tool was built
 * without libnats.  Waiting for `bridge in` to subscribe is done by asking
 * the server (its monitoring port, /subsz), never by sleeping.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"

static const char *nats_server;

struct server {
	pid_t pid;
	int port, mport;
	int own_subs;   /* subscriptions of the server itself, once ready */
	char url[64];
	char dir[64];
};

/* A free TCP port on 127.0.0.1 (bound to port 0, read back, released). */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void nap_ms(int ms)
{
	struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* GET @path from the monitoring port; the body in @buf ("" on failure). */
static void http_get(int port, const char *path, char *buf, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[128];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	buf[0] = '\0';
	if (fd < 0)
		return;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		while (got + 1 < size && (n = read(fd, buf + got, size - got - 1)) > 0)
			got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
}

/* A number from the server's monitoring page @path, after "@key": (-1
 * while it does not answer). */
static int monitor(const struct server *s, const char *path, const char *key)
{
	char body[8192], quoted[64];
	const char *at;

	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	http_get(s->mport, path, body, sizeof(body));
	at = strstr(body, quoted);
	return at ? atoi(at + strlen(quoted)) : -1;
}

/* Subscriptions beyond the server's own (its system account has some). */
static int subscriptions(const struct server *s)
{
	int n = monitor(s, "/subsz", "num_subscriptions");

	return n < 0 ? n : n - s->own_subs;
}

/* Whether the client port takes connections. */
static bool client_port_up(const struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool up;

	if (fd < 0)
		return false;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return up;
}

/* Start nats-server on s->port (a new free one if 0) with @extra args
 * (NULL-terminated, may be NULL); wait until it answers. */
static void server_start(struct server *s, const char *const *extra)
{
	const char *argv[24] = { nats_server, "-a", "127.0.0.1", "-p", NULL, "-m", NULL };
	char port[16], mport[16];
	int n = 7, tries;

	if (!s->port) {
		s->port = free_port();
		do
			s->mport = free_port();
		while (s->mport == s->port);
	}
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(mport, sizeof(mport), "%d", s->mport);
	argv[4] = port;
	argv[6] = mport;
	while (extra && *extra && n < 22)
		argv[n++] = *extra++;
	argv[n] = NULL;
	snprintf(s->url, sizeof(s->url), "nats://127.0.0.1:%d", s->port);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int null = open(getenv("MP_BRIDGE_SERVER_LOG") ? getenv("MP_BRIDGE_SERVER_LOG") : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(null, 1);
		dup2(null, 2);
		execv(nats_server, (char *const *)argv);
		_exit(127);
	}
	s->own_subs = 0;
	for (tries = 0; subscriptions(s) < 0 || !client_port_up(s); tries++) {
		assert_true(tries < 1000); /* 10 s: a server that never starts */
		nap_ms(10);
	}
	s->own_subs = subscriptions(s);
}

/* Stop the server (SIGKILL: the tests never need a clean shutdown). */
static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* The servers of the running test, stopped by the teardown even after a
 * failed assertion (cmocka longjmps out of the test). */
static struct server servers[2];

static int teardown(void **state)
{
	server_stop(&servers[0]);
	server_stop(&servers[1]);
	memset(servers, 0, sizeof(servers));
	return tu_teardown(state);
}

/* A background command, its stderr to @errfile (may be NULL), stdin /dev/null,
 * stdout to @outfile (may be NULL: /dev/null). */
static pid_t spawn(const char *const argv[], const char *outfile, const char *errfile)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(outfile ? outfile : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int err = errfile ? open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;

		dup2(in, 0);
		dup2(out, 1);
		if (err >= 0)
			dup2(err, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void tmpfile_name(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "/tmp/%s.%s", tu_name("bridge"), what);
}

/* The counter @name from a bridge's last stderr line; asserts it is there. */
static unsigned long long counter(const char *err, const char *name)
{
	char key[48];
	const char *at;

	snprintf(key, sizeof(key), "%s ", name);
	at = strstr(err, "bridge ");
	assert_non_null(at);
	at = strstr(at, key);
	assert_non_null(at);
	return strtoull(at + strlen(key), NULL, 10);
}

/* Wait for @n subscriptions (a `bridge in` subscribed) or, with @conns,
 * @n client connections (a `bridge out` connected). */
static void wait_server(const struct server *s, int n, bool conns)
{
	int tries;

	for (tries = 0; (conns ? monitor(s, "/connz", "num_connections") : subscriptions(s)) < n;
	     tries++) {
		assert_true(tries < 2000); /* 20 s */
		nap_ms(10);
	}
}

static void wait_subscriptions(const struct server *s, int n)
{
	wait_server(s, n, false);
}

/* Lines "m-1-xxxx" ... with lengths that vary (an empty line too). */
static char *make_input(unsigned n)
{
	size_t size = (size_t)n * 64 + 1, used = 0;
	char *buf = malloc(size);
	unsigned i;

	assert_non_null(buf);
	for (i = 1; i <= n; i++)
		used += (size_t)snprintf(buf + used, size - used, i % 97 == 0 ? "\n" : "m-%u-%.*s\n",
					 i, (int)(i % 40), "abcdefghijklmnopqrstuvwxyz0123456789ABCD");
	return buf;
}

/*
 * pub -> @src -> bridge out -> NATS -> bridge in -> @dst -> sub, @n
 * messages; both bridges and sub exit 0 at the end of the stream and sub
 * prints exactly what pub read.
 */
static void round_trip(const char *src, const char *dst, unsigned n)
{
	const char *tool = tu_tool();
	char in_err[128], out_err[128], sub_out[128], *input, *got, *err;
	const char *in_argv[] = { tool, "bridge", "in", dst, "--nats", servers[0].url,
				  "--subject", "sbt.rt", NULL };
	const char *out_argv[] = { tool, "bridge", "out", src, "--nats", servers[0].url,
				   "--subject", "sbt.rt", NULL };
	const char *sub_argv[] = { tool, "sub", dst, NULL };
	const char *pub_argv[] = { tool, "pub", src, NULL };
	pid_t in, out, sub;

	tmpfile_name(in_err, sizeof(in_err), "in.err");
	tmpfile_name(out_err, sizeof(out_err), "out.err");
	tmpfile_name(sub_out, sizeof(sub_out), "sub.out");
	in = spawn(in_argv, NULL, in_err);
	wait_subscriptions(&servers[0], 1);
	sub = spawn(sub_argv, sub_out, NULL);
	out = spawn(out_argv, NULL, out_err);
	/* Connected means subscribed to its ring: out joins it first. */
	wait_server(&servers[0], 2, true);
	input = make_input(n);
	assert_int_equal(tu_run(pub_argv, input, NULL, NULL), 0);
	assert_int_equal(tu_wait(out), 0);
	assert_int_equal(tu_wait(in), 0);
	assert_int_equal(tu_wait(sub), 0);
	got = tu_read_file(sub_out, NULL);
	assert_string_equal(got, input);
	err = tu_read_file(out_err, NULL);
	assert_int_equal(counter(err, "forwarded"), n);
	assert_int_equal(counter(err, "dropped"), 0);
	free(err);
	err = tu_read_file(in_err, NULL);
	assert_int_equal(counter(err, "forwarded"), n);
	assert_int_equal(counter(err, "dropped"), 0);
	free(err);
	free(got);
	free(input);
	unlink(in_err);
	unlink(out_err);
	unlink(sub_out);
}

static unsigned load(void)
{
	return tu_sanitized() ? 5000 : 100000;
}

static void test_spsc_round_trip(void **state)
{
	const char *a = tu_name("a"), *b = tu_name("b");

	(void)state;
	server_start(&servers[0], NULL);
	assert_int_equal(shmbus_spsc_create(a, 1 << 16, 0), 0);
	assert_int_equal(shmbus_spsc_create(b, 1 << 16, 0), 0);
	round_trip(a, b, load());
}

/* A broadcast ring's subscriber on the near side, an mpmc ring far. */
static void test_bcast_to_mpmc(void **state)
{
	struct shmbus_bcast_params bp = { .capacity = 1 << 16, .policy = SHMBUS_BCAST_RELIABLE };
	struct shmbus_mpmc_params mp = { .slots = 1024, .slot_size = 256 };
	const char *a = tu_name("a"), *b = tu_name("b");

	(void)state;
	server_start(&servers[0], NULL);
	assert_int_equal(shmbus_bcast_create(a, &bp), 0);
	assert_int_equal(shmbus_mpmc_create(b, &mp), 0);
	round_trip(a, b, load() / 10);
}

/* Run `bridge out RING --nats URL`; expect status 1 and @words on stderr. */
static void expect_connect_error(const char *ring, const char *url, const char *words)
{
	const char *argv[] = { tu_tool(), "bridge", "out", ring, "--nats", url,
			       "--subject", "sbt.x", NULL };
	char *err = NULL;

	assert_int_equal(tu_run(argv, NULL, NULL, &err), 1);
	if (!strstr(err, words))
		fail_msg("expected '%s' in: %s", words, err);
	free(err);
}

static void test_errors(void **state)
{
	const char *const auth[] = { "--user", "sbt", "--pass", "secret", NULL };
	const char *a = tu_name("a");
	char url[96];

	(void)state;
	assert_int_equal(shmbus_spsc_create(a, 4096, 0), 0);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", free_port());
	expect_connect_error(a, url, "cannot reach the NATS server");
	expect_connect_error(a, "nats://127.0.0.1:notaport", "bad --nats URL");
	server_start(&servers[0], auth);
	expect_connect_error(a, servers[0].url, "refused the credentials");
	snprintf(url, sizeof(url), "nats://sbt:wrong@127.0.0.1:%d", servers[0].port);
	expect_connect_error(a, url, "refused the credentials");
}

/* SIGTERM stops both bridges with status 0 and their counters. */
static void test_sigterm(void **state)
{
	const char *tool = tu_tool(), *a = tu_name("a"), *b = tu_name("b");
	char err_file[128], *err;
	pid_t in, out;

	(void)state;
	server_start(&servers[0], NULL);
	assert_int_equal(shmbus_spsc_create(a, 4096, 0), 0);
	assert_int_equal(shmbus_spsc_create(b, 4096, 0), 0);
	tmpfile_name(err_file, sizeof(err_file), "in.err");
	{
		const char *in_argv[] = { tool, "bridge", "in", b, "--nats", servers[0].url,
					  "--subject", "sbt.t", NULL };
		const char *out_argv[] = { tool, "bridge", "out", a, "--nats", servers[0].url,
					   "--subject", "sbt.t", "--quiet", NULL };

		in = spawn(in_argv, NULL, err_file);
		wait_subscriptions(&servers[0], 1);
		out = spawn(out_argv, NULL, NULL);
		wait_server(&servers[0], 2, true);
	}
	kill(out, SIGTERM);
	kill(in, SIGTERM);
	assert_int_equal(tu_wait(out), 0);
	assert_int_equal(tu_wait(in), 0);
	err = tu_read_file(err_file, NULL);
	assert_int_equal(counter(err, "forwarded"), 0);
	free(err);
	unlink(err_file);
}

/*
 * Core mode across a server restart: what the far side got plus what it
 * counted dropped is exactly what was sent, and each message came once,
 * in order.  The near side is fed after the restart, so some loss is
 * possible (the far bridge resubscribes after the near one reconnects).
 */
static void test_server_restart(void **state)
{
	const char *tool = tu_tool(), *a = tu_name("a"), *b = tu_name("b");
	char in_err[128], out_err[128], sub_out[128], *err, *got, *line;
	unsigned n = tu_sanitized() ? 500 : 5000, i, seen = 0, prev = 0;
	char *first, *second;
	pid_t in, out, sub;

	(void)state;
	server_start(&servers[0], NULL);
	assert_int_equal(shmbus_spsc_create(a, 1 << 16, 0), 0);
	assert_int_equal(shmbus_spsc_create(b, 1 << 20, 0), 0);
	tmpfile_name(in_err, sizeof(in_err), "in.err");
	tmpfile_name(out_err, sizeof(out_err), "out.err");
	tmpfile_name(sub_out, sizeof(sub_out), "sub.out");
	{
		const char *in_argv[] = { tool, "bridge", "in", b, "--nats", servers[0].url,
					  "--subject", "sbt.r", NULL };
		const char *out_argv[] = { tool, "bridge", "out", a, "--nats", servers[0].url,
					   "--subject", "sbt.r", NULL };
		const char *sub_argv[] = { tool, "sub", b, NULL };
		const char *pub_argv[] = { tool, "pub", a, "--keep-open", NULL };
		const char *pub_close[] = { tool, "pub", a, NULL };

		in = spawn(in_argv, NULL, in_err);
		wait_subscriptions(&servers[0], 1);
		out = spawn(out_argv, NULL, out_err);
		wait_server(&servers[0], 2, true);
		sub = spawn(sub_argv, sub_out, NULL);
		/* Two halves, numbered 1..n, the server restarted between. */
		first = malloc((size_t)n * 16);
		second = malloc((size_t)n * 16);
		assert_non_null(first);
		assert_non_null(second);
		first[0] = second[0] = '\0';
		for (i = 1; i <= n; i++)
			sprintf((i <= n / 2 ? first : second) + strlen(i <= n / 2 ? first : second),
				"%u\n", i);
		assert_int_equal(tu_run(pub_argv, first, NULL, NULL), 0);
		server_stop(&servers[0]);
		server_start(&servers[0], NULL);
		/* The far side back before the end of the stream is sent, else
		 * core NATS may lose that too and sub would wait for ever. */
		wait_subscriptions(&servers[0], 1);
		assert_int_equal(tu_run(pub_close, second, NULL, NULL), 0);
	}
	/* The end of the stream is sent once the near side is back. */
	assert_int_equal(tu_wait(out), 0);
	assert_int_equal(tu_wait(in), 0);
	assert_int_equal(tu_wait(sub), 0);
	got = tu_read_file(sub_out, NULL);
	for (line = strtok(got, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned v = (unsigned)strtoul(line, NULL, 10);

		assert_true(v > prev); /* in order, never twice */
		prev = v;
		seen++;
	}
	err = tu_read_file(in_err, NULL);
	assert_int_equal(seen + counter(err, "dropped"), n);
	free(err);
	err = tu_read_file(out_err, NULL);
	assert_true(counter(err, "reconnects") >= 1);
	free(err);
	free(got);
	free(first);
	free(second);
	unlink(in_err);
	unlink(out_err);
	unlink(sub_out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spsc_round_trip, teardown),
		cmocka_unit_test_teardown(test_bcast_to_mpmc, teardown),
		cmocka_unit_test_teardown(test_errors, teardown),
		cmocka_unit_test_teardown(test_sigterm, teardown),
		cmocka_unit_test_teardown(test_server_restart, teardown),
	};
	const char *help[] = { tu_tool(), "bridge", "out", "x", "--nats", "nats://127.0.0.1:1",
			       "--subject", "s", NULL };
	char *err = NULL;

	if (access("/usr/sbin/nats-server", X_OK) == 0)
		nats_server = "/usr/sbin/nats-server";
	else if (access("/usr/bin/nats-server", X_OK) == 0)
		nats_server = "/usr/bin/nats-server";
	if (!nats_server) {
		printf("skipped: nats-server is not installed (scripts/deps.sh)\n");
		return TU_SKIP;
	}
	tu_run(help, NULL, NULL, &err);
	if (err && strstr(err, "built without libnats")) {
		printf("skipped: shmbus was built without libnats (scripts/deps.sh)\n");
		free(err);
		return TU_SKIP;
	}
	free(err);
	signal(SIGPIPE, SIG_IGN);
	if (getenv("MP_BRIDGE_ONLY")) /* one test by name, when debugging */
		cmocka_set_test_filter(getenv("MP_BRIDGE_ONLY"));
	return cmocka_run_group_tests_name("bridge", tests, NULL, NULL);
}
