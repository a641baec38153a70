/*
 * testutil.c - helpers shared by the tests (see testutil.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static void prefix(char *buf, size_t n)
{
	const char *tag = getenv("SHMBUS_TEST_TAG");

	snprintf(buf, n, "sbt_%s_%d_", tag ? tag : "t", (int)getpid());
}

const char *tu_name(const char *what)
{
	static char bufs[8][SHMBUS_NAME_MAX + 1];
	static unsigned next;
	char *b = bufs[next++ % 8];
	char p[128];

	prefix(p, sizeof(p));
	snprintf(b, SHMBUS_NAME_MAX + 1, "%s%s", p, what);
	return b;
}

void tu_cleanup(void)
{
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	char p[128];

	if (!d)
		return;
	prefix(p, sizeof(p));
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, p, strlen(p)) == 0)
			if (shmbus_block_unlink(e->d_name)) { /* already gone */ }
	}
	closedir(d);
}

int tu_teardown(void **state)
{
	(void)state;
	tu_cleanup();
	return 0;
}

pid_t tu_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int tu_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* Append what @fd has to *@buf; returns 0 at EOF, 1 if more may come. */
static int drain(int fd, char **buf, size_t *len)
{
	char chunk[65536];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && errno == EINTR)
		return 1;
	if (n <= 0)
		return 0;
	*buf = realloc(*buf, *len + (size_t)n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, chunk, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = '\0';
	return 1;
}

int tu_run(const char *const argv[], const char *input, char **out, char **err)
{
	int pin[2], pout[2], perr[2];
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0, ilen = input ? strlen(input) : 0, ioff = 0;
	struct pollfd pf[3];
	pid_t pid;

	assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
	assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
	assert_int_equal(pipe2(perr, O_CLOEXEC), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	signal(SIGPIPE, SIG_IGN);
	if (ilen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	for (;;) {
		int nfds = 0, i;

		if (pin[1] >= 0)
			pf[nfds++] = (struct pollfd){ .fd = pin[1], .events = POLLOUT };
		if (pout[0] >= 0)
			pf[nfds++] = (struct pollfd){ .fd = pout[0], .events = POLLIN };
		if (perr[0] >= 0)
			pf[nfds++] = (struct pollfd){ .fd = perr[0], .events = POLLIN };
		if (nfds == 0)
			break;
		if (poll(pf, (nfds_t)nfds, -1) < 0) {
			assert_int_equal(errno, EINTR);
			continue;
		}
		for (i = 0; i < nfds; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == pin[1]) {
				ssize_t n = write(pin[1], input + ioff, ilen - ioff);

				if (n > 0)
					ioff += (size_t)n;
				if (n < 0 || ioff == ilen) {
					close(pin[1]);
					pin[1] = -1;
				}
			} else if (pf[i].fd == pout[0]) {
				if (!drain(pout[0], &obuf, &olen)) {
					close(pout[0]);
					pout[0] = -1;
				}
			} else if (!drain(perr[0], &ebuf, &elen)) {
				close(perr[0]);
				perr[0] = -1;
			}
		}
	}
	if (out)
		*out = obuf ? obuf : strdup("");
	else
		free(obuf);
	if (err)
		*err = ebuf ? ebuf : strdup("");
	else
		free(ebuf);
	return tu_wait(pid);
}

const char *tu_tool(void)
{
	return SHMBUS_TOOL_PATH;
}

const char *tu_python(void)
{
	const char *env = getenv("SHMBUS_PYTHON3");

	if (env && *env)
		return env;
	return SHMBUS_PYTHON3[0] ? SHMBUS_PYTHON3 : NULL;
}

static int can_import(const char *python, const char *module)
{
	char stmt[128];
	const char *argv[] = { python, "-c", stmt, NULL };

	snprintf(stmt, sizeof(stmt), "import %s", module);
	return access(python, X_OK) == 0 && tu_run(argv, NULL, NULL, NULL) == 0;
}

const char *tu_python_with(const char *module)
{
	const char *py = tu_python();

	if (py && can_import(py, module))
		return py;
	if (can_import("/usr/bin/python3", module))
		return "/usr/bin/python3";
	return NULL;
}

int tu_schema_check(const char *schema, const char *doc)
{
	/* Found once per test process: each look starts python3 twice. */
	static const char *py;
	static bool looked;
	char path[512];
	const char *argv[] = { NULL, SHMBUS_TEST_SRCDIR "/py/validate_schema.py", path, NULL };
	char *out, *err;
	int rc;

	if (!looked) {
		py = tu_python_with("jsonschema");
		looked = true;
	}
	if (!py)
		fail_msg("no python3 with jsonschema (Debian: python3-jsonschema)");
	argv[0] = py;
	snprintf(path, sizeof(path), "%s/../tools/schema/%s", SHMBUS_TEST_SRCDIR, schema);
	rc = tu_run(argv, doc, &out, &err);
	if (rc)
		fprintf(stderr, "%s: %s%s\n", schema, out, err);
	free(out);
	free(err);
	return rc;
}

int tu_sanitized(void)
{
#ifdef SHMBUS_SANITIZED
	return 1;
#else
	return 0;
#endif
}

int tu_cli(char **out, char **err, ...)
{
	const char *argv[16] = { tu_tool() };
	va_list ap;
	int i = 1;

	va_start(ap, err);
	while (i < 15 && (argv[i] = va_arg(ap, const char *)))
		i++;
	va_end(ap);
	argv[i] = NULL;
	return tu_run(argv, NULL, out, err);
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

unsigned tu_torture_seconds(void)
{
	const char *env = getenv("SHMBUS_TORTURE_SECONDS");

	return env && *env ? (unsigned)strtoul(env, NULL, 10) : 0;
}

uint64_t tu_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void tu_torture_stall(struct tu_torture *t, uint64_t ms)
{
	if (ms > t->stall_ms)
		t->stall_ms = ms;
}

void tu_torture_print(const char *kind, const struct tu_torture *t)
{
	printf("torture %s: rounds %llu kills %llu messages %llu lost %llu duplicates %llu "
	       "longest_stall_ms %llu\n",
	       kind, (unsigned long long)t->rounds, (unsigned long long)t->kills,
	       (unsigned long long)t->messages, (unsigned long long)t->lost,
	       (unsigned long long)t->duplicates, (unsigned long long)t->stall_ms);
	fflush(stdout);
}
