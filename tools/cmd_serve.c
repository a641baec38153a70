/*
 * cmd_serve.c - `shmbus serve --listen ADDR:PORT [NAME...] [--prefix P]`:
 * the output of `shmbus metrics` over HTTP at /metrics, for Prometheus.
 *
 * libmicrohttpd runs in its external-select mode: no thread of its own, this
 * process's only thread waits in pselect(2) on its descriptors and lets it
 * handle what is ready.  Every scrape renders a fresh set of snapshots
 * (metrics.c), read-only.  SIGINT and SIGTERM are blocked except inside
 * pselect(), so one that arrives at any moment ends the wait at once and the
 * loop exits cleanly (status 0): no signal is lost between the check and the
 * wait.  The listening socket is ours (made before the daemon starts), so a
 * bad address or a port in use is reported with its real cause.
 *
 * libmicrohttpd is optional (tools/CMakeLists.txt): without it, `serve`
 * says how to get it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

#ifdef SHMBUS_HAVE_MHD
#include <netdb.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics.h"

/* What every scrape renders: the command line's selection. */
struct serve_ctx {
	char *const *names;
	size_t count;
	const char *prefix;
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ok;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

#define TEXT_PLAIN "text/plain; charset=utf-8"

static char not_found[] = "not found: metrics are at /metrics\n";
static char not_allowed[] = "method not allowed: use GET or HEAD\n";
static char failed[] = "cannot render the metrics (see the server's standard error)\n";

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	const struct serve_ctx *ctx = cls;
	char *body = NULL;
	size_t len = 0, nfailed;
	FILE *mem;
	int rc;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, TEXT_PLAIN, not_found,
			     sizeof(not_found) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT_PLAIN, not_allowed,
			     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT);
	mem = open_memstream(&body, &len);
	if (!mem)
		return MHD_NO;
	rc = metrics_render(mem, ctx->names, ctx->count, ctx->prefix, stderr, &nfailed);
	if (fclose(mem) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc) {
		free(body);
		tool_fail(SHMBUS_SHM_DIR, "cannot render the metrics", rc);
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT_PLAIN, failed,
			     sizeof(failed) - 1, MHD_RESPMEM_PERSISTENT);
	}
	return reply(conn, MHD_HTTP_OK, METRICS_CONTENT_TYPE, body, len, MHD_RESPMEM_MUST_FREE);
}

/*
 * Split "ADDR:PORT" ("[v6]:PORT" for IPv6; ADDR empty: every address) and
 * resolve it.  Returns 0, or -EINVAL with *@why set (bad form) or a
 * getaddrinfo() failure with *@why its text.
 */
static int parse_listen(const char *s, struct addrinfo **ai, const char **why)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	const char *colon = strrchr(s, ':');
	char host[256], *end;
	size_t hlen;
	long port;
	int rc;

	*why = "expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464";
	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || errno || port > 65535) {
		*why = "the port is not a number from 0 to 65535";
		return -EINVAL;
	}
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	} else if (memchr(s, ':', hlen)) {
		*why = "write an IPv6 address in brackets, e.g. [::1]:9464";
		return -EINVAL;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	rc = getaddrinfo(hlen ? host : NULL, colon + 1, &hints, ai);
	if (rc) {
		*why = gai_strerror(rc);
		return -EINVAL;
	}
	return 0;
}

/* A listening socket on the first address of @ai that takes one. */
static int listen_on(const struct addrinfo *ai, int *fd_out)
{
	int err = -EADDRNOTAVAIL, one = 1;

	for (; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

		if (fd < 0) {
			err = -errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
			*fd_out = fd;
			return 0;
		}
		err = -errno;
		close(fd);
	}
	return err;
}

/* "http://ADDR:PORT/metrics" of the socket, on standard output. */
static void say_where(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];
	bool v6;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	v6 = ss.ss_family == AF_INET6;
	printf("shmbus serve: listening on http://%s%s%s:%s/metrics\n", v6 ? "[" : "", host,
	       v6 ? "]" : "", port);
	fflush(stdout);
}

/* Longest wait before the stop flag is looked at again, whatever pselect()
 * does: ThreadSanitizer runs signal handlers late (at its next intercepted
 * call), so an interrupted pselect() may find the flag not yet set. */
#define STOP_CHECK_MS 200

/* Serve until SIGINT or SIGTERM; returns TOOL_OK or TOOL_ERR. */
static int serve_loop(struct MHD_Daemon *d, const sigset_t *waitmask)
{
	while (!stop_signal) {
		fd_set rs, ws, es;
		MHD_socket max = 0;
		MHD_UNSIGNED_LONG_LONG ms = STOP_CHECK_MS;
		struct timespec ts;

		FD_ZERO(&rs);
		FD_ZERO(&ws);
		FD_ZERO(&es);
		if (MHD_get_fdset(d, &rs, &ws, &es, &max) != MHD_YES)
			return tool_fail(NULL, "serve: cannot wait for connections", -EMFILE);
		if (MHD_get_timeout(d, &ms) != MHD_YES || ms > STOP_CHECK_MS)
			ms = STOP_CHECK_MS;
		ts.tv_sec = (time_t)(ms / 1000);
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		if (pselect(max + 1, &rs, &ws, &es, &ts, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			return tool_fail(NULL, "serve: cannot wait for connections", -errno);
		}
		MHD_run_from_select(d, &rs, &ws, &es);
	}
	return TOOL_OK;
}

static int serve(const char *listen_arg, struct serve_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct MHD_Daemon *d = NULL;
	struct addrinfo *ai = NULL;
	sigset_t block, orig;
	const char *why;
	int fd = -1, rc;

	if (parse_listen(listen_arg, &ai, &why))
		return tool_usage_error(&cmd_serve, "bad --listen '%s': %s", listen_arg, why);
	rc = listen_on(ai, &fd);
	freeaddrinfo(ai);
	if (rc)
		return tool_fail(listen_arg, "cannot listen", rc);
	/* Blocked but for pselect(): see the top of this file. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, ctx,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!d) {
		close(fd);
		return tool_fail(listen_arg, "cannot start the HTTP server", -EIO);
	}
	say_where(fd);
	rc = serve_loop(d, &orig);
	/* MHD_stop_daemon() closes the listening socket it was given. */
	MHD_stop_daemon(d);
	return rc;
}
#endif /* SHMBUS_HAVE_MHD */

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *listen_arg = NULL, *prefix = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "l:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_arg = optarg; break;
		case 'p': prefix = optarg; break;
		case 'h': return tool_help(&cmd_serve);
		default: return tool_usage_error(&cmd_serve, "bad option");
		}
	}
	if (!listen_arg)
		return tool_usage_error(&cmd_serve, "--listen ADDR:PORT is required");
	if (prefix && optind < argc)
		return tool_usage_error(&cmd_serve, "give block names or --prefix, not both");
#ifdef SHMBUS_HAVE_MHD
	{
		struct serve_ctx ctx = { argv + optind, (size_t)(argc - optind), prefix };

		return serve(listen_arg, &ctx);
	}
#else
	fprintf(stderr, "shmbus serve: this shmbus was built without libmicrohttpd; install it\n"
			"(Debian: apt-get install libmicrohttpd-dev) and rebuild, or use\n"
			"'shmbus metrics' (same output, once, on standard output)\n");
	return TOOL_ERR;
#endif
}

const struct tool_cmd cmd_serve = {
	.name = "serve",
	.summary = "serve `shmbus metrics` over HTTP for Prometheus",
	.usage = "usage: shmbus serve --listen ADDR:PORT [NAME...] [--prefix P]\n\n"
		 "Serve the output of 'shmbus metrics' (the same blocks: every block, the\n"
		 "blocks NAME..., or those whose name starts with P) over HTTP at /metrics,\n"
		 "a fresh read-only snapshot per request; any other path is 404.\n"
		 "  --listen ADDR:PORT  where to listen: 127.0.0.1:9464, [::1]:9464,\n"
		 "                      :9464 (every address); port 0 picks a free port\n"
		 "Says where it listens on standard output (\"listening on http://...\"),\n"
		 "then runs until SIGINT or SIGTERM (status 0).  Needs libmicrohttpd at\n"
		 "build time.\n",
	.run = run,
};
