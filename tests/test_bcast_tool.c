/*
 * test_bcast_tool.c - the real `shmbus` tool on broadcast rings: create
 * broadcast (options, usage errors), inspect --json (and the JSON Schema),
 * two subs that each get the whole stream of one pub (where two subs of an
 * mpmc ring split it), end of stream (pub closes it, sub stops by itself;
 * --keep-open), late joiners (--from), a lossy ring's "dropped N" (at the
 * end of the stream and at SIGINT/SIGTERM), --from on
 * other kinds (status 2), and watch's lag per subscriber.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>

#include <jansson.h>

#include "testutil.h"

/* Run the tool with the given arguments, @in on stdin; returns its status. */
#define T0(in, out, err, ...) \
	tu_run((const char *const[]){ tu_tool(), __VA_ARGS__, NULL }, in, out, err)

/* `shmbus inspect NAME --json`, checked against the schema; its "ring". */
static json_t *inspect(const char *name, json_t **ring)
{
	char *out = NULL;
	json_t *doc;

	assert_int_equal(T0(NULL, &out, NULL, "inspect", name, "--json"), 0);
	assert_int_equal(tu_schema_check("inspect.schema.json", out), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	*ring = json_object_get(doc, "ring");
	assert_non_null(*ring);
	free(out);
	return doc;
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* A tool process running in the background, its output going to files. */
struct bg {
	pid_t pid;
	FILE *out, *err;
};

static void bg_start(struct bg *b, const char *const argv[])
{
	b->out = tmpfile();
	b->err = tmpfile();
	assert_non_null(b->out);
	assert_non_null(b->err);
	fflush(NULL);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		dup2(in, 0);
		dup2(fileno(b->out), 1);
		dup2(fileno(b->err), 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
}

static char *slurp(FILE *f)
{
	long n;
	char *s;

	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	s[n] = '\0';
	fclose(f);
	return s;
}

/* Wait up to @ms for the process to exit by itself (kill it and fail the
 * test if it does not); its status, stdout and stderr. */
static int bg_wait(struct bg *b, int ms, char **out, char **err)
{
	const struct timespec nap = { 0, 5000000 };
	int st, i;

	for (i = 0; i * 5 < ms; i++) {
		pid_t r = waitpid(b->pid, &st, WNOHANG);

		assert_true(r >= 0);
		if (r == b->pid)
			break;
		nanosleep(&nap, NULL);
	}
	if (i * 5 >= ms) {
		kill(b->pid, SIGKILL);
		tu_wait(b->pid);
		fail_msg("pid %d did not exit within %d ms", (int)b->pid, ms);
	}
	*out = slurp(b->out);
	*err = slurp(b->err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
}

/* Wait until ring @name has @n active subscribers (by inspect), and, with
 * @caught_up, every one of them has read everything (lag 0). */
static void await_ring(const char *name, size_t n, bool caught_up)
{
	const struct timespec nap = { 0, 10000000 };
	int tries;

	for (tries = 0; tries < 2000; tries++) {
		json_t *ring, *doc = inspect(name, &ring), *subs = json_object_get(ring, "subscribers");
		json_t *u;
		size_t i, active = 0, behind = 0;

		json_array_foreach(subs, i, u) {
			active += json_is_true(json_object_get(u, "active"));
			behind += caught_up && int_of(u, "lag_messages") != 0;
		}
		json_decref(doc);
		if (active == n && behind == 0)
			return;
		nanosleep(&nap, NULL);
	}
	fail_msg("%zu subscribers did not join %s%s", n, name, caught_up ? " and catch up" : "");
}

static void await_subscribers(const char *name, size_t n)
{
	await_ring(name, n, false);
}

/* "1\n2\n...\n@n\n" */
static char *numbers(int from, int to)
{
	size_t cap = (size_t)(to - from + 1) * 12 + 1, len = 0;
	char *s = malloc(cap);
	int i;

	assert_non_null(s);
	s[0] = '\0';
	for (i = from; i <= to; i++)
		len += (size_t)snprintf(s + len, cap - len, "%d\n", i);
	return s;
}

static void test_create_usage(void **state)
{
	const char *name = tu_name("cr");
	char *out = NULL, *err = NULL;
	json_t *doc, *ring;

	(void)state;
	assert_int_equal(T0(NULL, &out, NULL, "create", "broadcast", "--help"), 0);
	assert_non_null(strstr(out, "usage: shmbus create broadcast"));
	assert_non_null(strstr(out, "--policy"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "create", "--help"), 0);
	assert_non_null(strstr(out, "create broadcast"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "help"), 0);
	assert_non_null(strstr(out, "broadcast"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "pub", "--help"), 0);
	assert_non_null(strstr(out, "--keep-open"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "sub", "--help"), 0);
	assert_non_null(strstr(out, "--from"));
	assert_non_null(strstr(out, "dropped N"));
	free(out);

	/* bad usage: status 2 */
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name), 2); /* no capacity */
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "1000"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "32"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "2G"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K",
			    "--subscribers", "0"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K",
			    "--subscribers", "1025"), 2);
	assert_int_equal(T0(NULL, NULL, &err, "create", "broadcast", name, "--capacity", "4K",
			    "--policy", "sometimes"), 2);
	assert_non_null(strstr(err, "reliable or lossy"));
	free(err);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K",
			    "--liveness-ms", "0"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K",
			    "--mode", "600"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast"), 2);

	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "64K",
			    "--subscribers", "8", "--policy", "lossy", "--liveness-ms", "250",
			    "--mode", "0640"), 0);
	doc = inspect(name, &ring);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "broadcast");
	assert_string_equal(json_string_value(json_object_get(doc, "mode")), "0640");
	assert_string_equal(json_string_value(json_object_get(ring, "policy")), "lossy");
	assert_int_equal(int_of(ring, "capacity"), 65536);
	assert_int_equal(int_of(ring, "max_message"), 65536 - 16);
	assert_int_equal(int_of(ring, "subscribers_max"), 8);
	assert_int_equal(int_of(ring, "liveness_ms"), 250);
	assert_true(json_is_false(json_object_get(ring, "eos")));
	json_decref(doc);
	/* exists: status 1 */
	assert_int_equal(T0(NULL, NULL, &err, "create", "broadcast", name, "--capacity", "4K"), 1);
	assert_non_null(strstr(err, name));
	free(err);
	/* ls shows the kind */
	assert_int_equal(T0(NULL, &out, NULL, "ls"), 0);
	assert_non_null(strstr(out, "broadcast"));
	free(out);
	/* the defaults */
	name = tu_name("crd");
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K"), 0);
	doc = inspect(name, &ring);
	assert_string_equal(json_string_value(json_object_get(ring, "policy")), "reliable");
	assert_int_equal(int_of(ring, "subscribers_max"), SHMBUS_BCAST_SUBSCRIBERS_DEFAULT);
	assert_int_equal(int_of(ring, "liveness_ms"), SHMBUS_BCAST_LIVENESS_DEFAULT_MS);
	assert_string_equal(json_string_value(json_object_get(doc, "mode")), "0600");
	json_decref(doc);
}

/* The bug report: two subs of one ring, one pub of 1000 lines.  On a
 * broadcast ring each sub prints all 1000, in order, and exits 0 by itself
 * at the end of the stream (no --count, no --timeout-ms): pub closed it. */
static void test_two_subs_get_everything(void **state)
{
	const char *name = tu_name("two");
	const char *argv[] = { tu_tool(), "sub", name, NULL };
	char *text = numbers(1, 1000), *out, *err;
	struct bg s1, s2;
	json_t *doc, *ring;

	(void)state;
	/* small enough that pub waits for the subs over and over */
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "1K"), 0);
	bg_start(&s1, argv);
	bg_start(&s2, argv);
	await_subscribers(name, 2);
	assert_int_equal(T0(text, NULL, NULL, "pub", name), 0);
	assert_int_equal(bg_wait(&s1, 20000, &out, &err), 0);
	assert_string_equal(out, text);
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(bg_wait(&s2, 20000, &out, &err), 0);
	assert_string_equal(out, text);
	assert_string_equal(err, "");
	free(out);
	free(err);
	doc = inspect(name, &ring);
	assert_true(json_is_true(json_object_get(ring, "eos")));
	assert_int_equal(int_of(ring, "msgs_in"), 1000);
	assert_int_equal(json_array_size(json_object_get(ring, "subscribers")), 0); /* both left */
	json_decref(doc);
	free(text);
}

/* pub closes the stream at the end of its input, unless --keep-open; a new
 * pub reopens it. */
static void test_end_of_stream(void **state)
{
	const char *name = tu_name("eos");
	char *out = NULL, *err = NULL;
	json_t *doc, *ring;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K"), 0);
	assert_int_equal(T0("a\nb\n", NULL, NULL, "pub", name, "--keep-open"), 0);
	doc = inspect(name, &ring);
	assert_true(json_is_false(json_object_get(ring, "eos")));
	json_decref(doc);
	/* still open: a sub waits for more and runs out of time */
	assert_int_equal(T0(NULL, &out, &err, "sub", name, "--from", "oldest", "--count", "3",
			    "--timeout-ms", "200"), 1);
	assert_string_equal(out, "a\nb\n");
	assert_non_null(strstr(err, "timed out after 2 of 3 messages"));
	free(out);
	free(err);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--from", "oldest", "--timeout-ms", "50"),
			 0);
	assert_string_equal(out, "a\nb\n");
	free(out);
	/* this pub closes it: a sub stops after the last message, with
	 * status 0 even short of --count */
	assert_int_equal(T0("c\n", NULL, NULL, "pub", name), 0);
	doc = inspect(name, &ring);
	assert_true(json_is_true(json_object_get(ring, "eos")));
	json_decref(doc);
	assert_int_equal(T0(NULL, &out, &err, "sub", name, "--from", "oldest"), 0);
	assert_string_equal(out, "a\nb\nc\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--from", "oldest", "--count", "10"), 0);
	assert_string_equal(out, "a\nb\nc\n");
	free(out);
	/* joining next on a closed stream: nothing, at once */
	assert_int_equal(T0(NULL, &out, NULL, "sub", name), 0);
	assert_string_equal(out, "");
	free(out);
	/* a new pub reopens it (and closes it again) */
	assert_int_equal(T0("d\n", NULL, NULL, "pub", name), 0);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--from", "newest"), 0);
	assert_string_equal(out, "d\n");
	free(out);
	/* a failed pub leaves the stream open */
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", tu_name("eos2"), "--capacity",
			    "64"), 0);
	assert_int_equal(T0("fits\nthis line is longer than the largest message of 48 bytes\n",
			    NULL, &err, "pub", tu_name("eos2")), 1);
	assert_non_null(strstr(err, "cannot publish line 2"));
	free(err);
	doc = inspect(tu_name("eos2"), &ring);
	assert_true(json_is_false(json_object_get(ring, "eos")));
	assert_int_equal(int_of(ring, "msgs_in"), 1);
	json_decref(doc);
}

/* Where a sub joins: oldest gets what the ring still holds, newest the
 * last message, next only what comes after it joined. */
static void test_late_joiners(void **state)
{
	const char *name = tu_name("late");
	const char *argv[] = { tu_tool(), "sub", name, NULL };
	char *text = numbers(1, 10), *out = NULL, *err = NULL;
	struct bg next;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "4K"), 0);
	/* nobody subscribed: a reliable ring keeps them while there is room */
	assert_int_equal(T0(text, NULL, NULL, "pub", name, "--keep-open"), 0);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--from", "oldest", "--timeout-ms", "50"),
			 0);
	assert_string_equal(out, text);
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--from", "newest", "--timeout-ms", "50"),
			 0);
	assert_string_equal(out, "10\n");
	free(out);
	bg_start(&next, argv);
	await_subscribers(name, 1);
	assert_int_equal(T0("11\n12\n", NULL, NULL, "pub", name), 0);
	assert_int_equal(bg_wait(&next, 20000, &out, &err), 0);
	assert_string_equal(out, "11\n12\n");
	free(out);
	free(err);
	/* a bad --from, and --from on the other kinds: status 2 */
	assert_int_equal(T0(NULL, NULL, &err, "sub", name, "--from", "latest"), 2);
	assert_non_null(strstr(err, "bad --from 'latest'"));
	free(err);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", tu_name("q"), "--capacity", "4K"), 0);
	assert_int_equal(T0(NULL, &out, &err, "sub", tu_name("q"), "--from", "oldest",
			    "--timeout-ms", "10"), 2);
	assert_non_null(strstr(err, "--from is for broadcast rings"));
	assert_non_null(strstr(err, "spsc"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "mpmc", tu_name("m"), "--slots", "8",
			    "--slot-size", "64"), 0);
	assert_int_equal(T0(NULL, NULL, &err, "sub", tu_name("m"), "--from", "next",
			    "--timeout-ms", "10"), 2);
	assert_non_null(strstr(err, "--from is for broadcast rings"));
	free(err);
	free(text);
}

/* A lossy ring and a subscriber stopped while pub sends 1000 lines: it
 * gets the newest ones, in order, and says on stderr how many it missed,
 * exactly 1000 minus what it printed. */
static void test_lossy_dropped(void **state)
{
	const char *name = tu_name("lossy");
	const char *argv[] = { tu_tool(), "sub", name, NULL };
	char *text = numbers(1, 1000), *out, *err, *line, *save = NULL;
	unsigned long long dropped = 0;
	long got = 0, prev = 0, v;
	struct bg s;
	const char *at;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "1K",
			    "--policy", "lossy"), 0);
	bg_start(&s, argv);
	await_subscribers(name, 1);
	assert_int_equal(kill(s.pid, SIGSTOP), 0);
	assert_int_equal(T0(text, NULL, NULL, "pub", name), 0); /* never waits */
	assert_int_equal(kill(s.pid, SIGCONT), 0);
	assert_int_equal(bg_wait(&s, 20000, &out, &err), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		v = strtol(line, NULL, 10);
		assert_true(v > prev && v <= 1000); /* in order, none twice, none torn */
		prev = v;
		got++;
	}
	assert_int_equal(prev, 1000); /* the newest one was still there */
	at = strstr(err, "dropped ");
	assert_non_null(at);
	assert_int_equal(sscanf(at, "dropped %llu", &dropped), 1);
	assert_true(dropped > 0);
	assert_int_equal(dropped, 1000 - (unsigned long long)got);
	free(out);
	free(err);

	/* one that keeps up misses nothing and says nothing (on another
	 * ring: this stream is closed, a sub joining it next would stop at
	 * once) */
	name = tu_name("lossy2");
	argv[2] = name;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity", "1K",
			    "--policy", "lossy"), 0);
	bg_start(&s, argv);
	await_subscribers(name, 1);
	assert_int_equal(T0("x\ny\n", NULL, NULL, "pub", name), 0);
	assert_int_equal(bg_wait(&s, 20000, &out, &err), 0);
	assert_string_equal(out, "x\ny\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	free(text);
}

/* A lossy sub ended by SIGINT or SIGTERM (the stream still open) says what
 * it missed, exactly, and then dies by that signal. */
static void test_lossy_dropped_on_signal(void **state)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	char *text = numbers(1, 1000);
	unsigned i;

	(void)state;
	for (i = 0; i < 2; i++) {
		const char *name = tu_name(i == 0 ? "lossyint" : "lossyterm");
		const char *argv[] = { tu_tool(), "sub", name, NULL };
		char *out, *err, *line, *save = NULL;
		unsigned long long dropped = 0;
		long got = 0, prev = 0, v;
		struct bg s;
		const char *at;

		assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", name, "--capacity",
				    "1K", "--policy", "lossy"), 0);
		bg_start(&s, argv);
		await_subscribers(name, 1);
		assert_int_equal(kill(s.pid, SIGSTOP), 0);
		assert_int_equal(T0(text, NULL, NULL, "pub", name, "--keep-open"), 0);
		assert_int_equal(kill(s.pid, SIGCONT), 0);
		await_ring(name, 1, true); /* then it sleeps: only the signal ends it */
		assert_int_equal(kill(s.pid, sigs[i]), 0);
		assert_int_equal(bg_wait(&s, 20000, &out, &err), 1000 + sigs[i]);
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			v = strtol(line, NULL, 10);
			assert_true(v > prev && v <= 1000);
			prev = v;
			got++;
		}
		assert_int_equal(prev, 1000);
		at = strstr(err, "dropped ");
		assert_non_null(at);
		assert_int_equal(sscanf(at, "dropped %llu", &dropped), 1);
		assert_true(dropped > 0); /* a 1 KiB ring holds ~40 of them */
		assert_int_equal(dropped, 1000 - (unsigned long long)got);
		free(out);
		free(err);
	}
	free(text);
}

/* watch: a line per subscriber with its lag, the slowest first. */
static void test_watch_lag(void **state)
{
	struct shmbus_bcast_params params = { .capacity = 4096 };
	const char *name = tu_name("watch");
	struct shmbus_bcast *p, *slow, *fast;
	struct shmbus_bcast_msg m;
	char *out = NULL, *first, *second;

	(void)state;
	assert_int_equal(shmbus_bcast_create(name, &params), 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&fast, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_subscribe(&slow, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_push_try(p, "abc", 3), 0);
	assert_int_equal(shmbus_bcast_push_try(p, "def", 3), 0);
	assert_int_equal(shmbus_bcast_push_try(p, "ghi", 3), 0);
	assert_int_equal(shmbus_bcast_peek_try(fast, &m), 0);
	assert_int_equal(shmbus_bcast_release(fast), 0);
	assert_int_equal(T0(NULL, &out, NULL, "watch", name, "--count", "1"), 0);
	assert_non_null(strstr(out, "kind broadcast"));
	assert_non_null(strstr(out, "(72 / 4096 bytes)")); /* 3 x (16 + 8) */
	assert_non_null(strstr(out, "totals    in 3  out 1  reliable"));
	first = strstr(out, "lag 3 msgs / 72 B  dropped 0");
	second = strstr(out, "lag 2 msgs / 48 B  dropped 0");
	assert_non_null(first);
	assert_non_null(second);
	assert_true(first < second);
	free(out);
	shmbus_bcast_close(slow);
	shmbus_bcast_close(fast);
	shmbus_bcast_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_usage, tu_teardown),
		cmocka_unit_test_teardown(test_two_subs_get_everything, tu_teardown),
		cmocka_unit_test_teardown(test_end_of_stream, tu_teardown),
		cmocka_unit_test_teardown(test_late_joiners, tu_teardown),
		cmocka_unit_test_teardown(test_lossy_dropped, tu_teardown),
		cmocka_unit_test_teardown(test_lossy_dropped_on_signal, tu_teardown),
		cmocka_unit_test_teardown(test_watch_lag, tu_teardown),
	};

	return cmocka_run_group_tests_name("bcast_tool", tests, NULL, NULL);
}
