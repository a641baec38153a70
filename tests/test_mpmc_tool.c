/*
 * test_mpmc_tool.c - the mpmc ring through the shmbus tool, as real
 * processes: `create mpmc` (options, usage errors, exit codes), `pub`/`sub`
 * with several publishers and subscribers at once (every line exactly once,
 * each publisher's lines in order within each subscriber), end of stream
 * (pub closes it, sub stops; --keep-open), and `inspect --json` (ring fields, participants, the JSON Schema).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

/* Run the tool with the arguments that follow, up to a NULL. */
static int tool(const char *input, char **out, char **err, ...)
{
	const char *argv[16] = { tu_tool() };
	unsigned n = 1;
	va_list ap;

	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return tu_run(argv, input, out, err);
}

/* Start the tool in the background with stdin from /dev/null and stdout to
 * @outfile; returns its pid. */
static pid_t tool_bg(const char *outfile, const char *a1, const char *a2, const char *a3,
		     const char *a4, const char *a5)
{
	const char *argv[] = { tu_tool(), a1, a2, a3, a4, a5, NULL };
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);
		int out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static void test_create_usage(void **state)
{
	const char *name = tu_name("create");
	char *out, *err;

	(void)state;
	assert_int_equal(tool(NULL, &out, NULL, "create", "mpmc", "--help", NULL), 0);
	assert_non_null(strstr(out, "usage: shmbus create mpmc"));
	free(out);
	assert_int_equal(tool(NULL, &out, NULL, "create", "--help", NULL), 0);
	assert_non_null(strstr(out, "shmbus create mpmc NAME"));
	free(out);
	assert_int_equal(tool(NULL, NULL, &err, "create", "mpmc", name, "--slots", "8", NULL), 2);
	assert_non_null(strstr(err, "--slot-size are required"));
	free(err);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "6",
			      "--slot-size", "8", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "0", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "8", "--liveness-ms", "0", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "8", "--bogus", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", "--slots", "8", "--slot-size",
			      "8", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "1K", "--liveness-ms", "40", NULL), 0);
	assert_int_equal(tool(NULL, NULL, &err, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "8", NULL), 1);
	assert_non_null(strstr(err, "cannot create"));
	free(err);
}

/* Lines "P-N\n" for N in 1..@n. */
static char *lines(char p, int n)
{
	char *buf = malloc((size_t)n * 16 + 1), *w = buf;
	int i;

	assert_non_null(buf);
	for (i = 1; i <= n; i++)
		w += sprintf(w, "%c-%d\n", p, i);
	return buf;
}

/* Check one subscriber's output: each line once overall (@seen), and each
 * publisher's numbers increasing within this output. */
static int check_output(char *text, unsigned char seen[2][1001])
{
	int last[2] = { 0, 0 }, count = 0;
	char *save, *line;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int p = line[0] - 'a', n = atoi(line + 2);

		assert_true(p == 0 || p == 1);
		assert_true(n >= 1 && n <= 1000);
		assert_true(n > last[p]);
		last[p] = n;
		assert_int_equal(seen[p][n]++, 0);
		count++;
	}
	return count;
}

static void test_pub_sub_many(void **state)
{
	const char *name = tu_name("pubsub");
	char *in_a = lines('a', 1000), *in_b = lines('b', 1000);
	char f1[] = "/tmp/sbt_mpmc_sub1_XXXXXX", f2[] = "/tmp/sbt_mpmc_sub2_XXXXXX";
	unsigned char seen[2][1001] = { { 0 } };
	pid_t s1, s2, pa;
	char *o1, *o2;
	int fd, n;

	(void)state;
	assert_true((fd = mkstemp(f1)) >= 0);
	close(fd);
	assert_true((fd = mkstemp(f2)) >= 0);
	close(fd);
	/* A ring far smaller than the traffic: pubs wait for subs. */
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "16",
			      "--slot-size", "16", NULL), 0);
	s1 = tool_bg(f1, "sub", name, NULL, NULL, NULL);
	s2 = tool_bg(f2, "sub", name, NULL, NULL, NULL);
	/* Both pubs keep the stream open (one may finish before the other
	 * opens: its close would end the stream); an empty pub after both
	 * ends it, and the subs stop by themselves. */
	pa = fork();
	assert_true(pa >= 0);
	if (pa == 0)
		_exit(tool(in_a, NULL, NULL, "pub", name, "--keep-open", NULL));
	assert_int_equal(tool(in_b, NULL, NULL, "pub", name, "--keep-open", NULL), 0);
	assert_int_equal(tu_wait(pa), 0);
	assert_int_equal(tool("", NULL, NULL, "pub", name, NULL), 0);
	assert_int_equal(tu_wait(s1), 0);
	assert_int_equal(tu_wait(s2), 0);
	o1 = tu_read_file(f1, NULL);
	o2 = tu_read_file(f2, NULL);
	n = check_output(o1, seen) + check_output(o2, seen);
	assert_int_equal(n, 2000);
	unlink(f1);
	unlink(f2);
	free(o1);
	free(o2);
	free(in_a);
	free(in_b);
}

/* End of stream: it ends when the last pub holding it open closes it; sub
 * then stops (status 0) after every message; --keep-open holds it open; a
 * later pub starts it again. */
static void test_end_of_stream(void **state)
{
	const char *name = tu_name("eos");
	char f[] = "/tmp/sbt_mpmc_eos_XXXXXX";
	char *out, *err;
	pid_t sub;
	int fd;

	(void)state;
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "8",
			      "--slot-size", "16", NULL), 0);
	assert_int_equal(tool("a\nb\n", NULL, NULL, "pub", name, NULL), 0);
	assert_int_equal(tool(NULL, &out, &err, "sub", name, NULL), 0); /* no count, no timeout */
	assert_string_equal(out, "a\nb\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(tool(NULL, &out, NULL, "sub", name, "--count", "3", NULL), 0);
	assert_string_equal(out, "");
	free(out);
	/* a later pub reopens it; --keep-open leaves it open */
	assert_int_equal(tool("c\n", NULL, NULL, "pub", name, "--keep-open", NULL), 0);
	assert_int_equal(tool(NULL, &out, &err, "sub", name, "--count", "2", "--timeout-ms", "100",
			      NULL), 1);
	assert_string_equal(out, "c\n");
	assert_non_null(strstr(err, "timed out after 1 of 2"));
	free(out);
	free(err);
	/* a sub asleep when the stream ends is woken and stops */
	assert_true((fd = mkstemp(f)) >= 0);
	close(fd);
	sub = tool_bg(f, "sub", name, NULL, NULL, NULL);
	usleep(100000);
	assert_int_equal(tool("d\n", NULL, NULL, "pub", name, NULL), 0);
	assert_int_equal(tu_wait(sub), 0);
	out = tu_read_file(f, NULL);
	assert_string_equal(out, "d\n");
	free(out);
	unlink(f);
}

static void test_pub_errors_and_count(void **state)
{
	const char *name = tu_name("errs");
	char *out, *err;

	(void)state;
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "4",
			      "--slot-size", "8", NULL), 0);
	assert_int_equal(tool("short\nthis line is too long\n", NULL, &err, "pub", name, NULL), 1);
	assert_non_null(strstr(err, "cannot publish line 2"));
	free(err);
	/* Full: a pub with a timeout gives up. */
	assert_int_equal(tool("1\n2\n3\n4\n5\n", NULL, &err, "pub", name, "--timeout-ms", "50", NULL), 1);
	free(err);
	assert_int_equal(tool(NULL, &out, NULL, "sub", name, "--count", "3", NULL), 0);
	assert_string_equal(out, "short\n1\n2\n");
	free(out);
	assert_int_equal(tool(NULL, &out, &err, "sub", name, "--count", "5", "--timeout-ms", "50",
			      NULL), 1);
	assert_string_equal(out, "3\n");
	assert_non_null(strstr(err, "timed out after 1 of 5"));
	free(out);
	free(err);
}

static void validate_schema(const char *doc)
{
	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
}

static void test_inspect(void **state)
{
	const char *name = tu_name("insp");
	char f[] = "/tmp/sbt_mpmc_insp_XXXXXX";
	json_t *doc, *ring, *parts;
	json_error_t jerr;
	char *out;
	pid_t sub;
	int fd, i;

	(void)state;
	assert_true((fd = mkstemp(f)) >= 0);
	close(fd);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "mpmc", name, "--slots", "32",
			      "--slot-size", "100", "--liveness-ms", "250", NULL), 0);
	assert_int_equal(tool("x\ny\nz\n", NULL, NULL, "pub", name, "--keep-open", NULL), 0);
	/* A subscriber waiting for a 4th message is a live participant. */
	sub = tool_bg(f, "sub", name, "--count", "4", NULL);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(tool(NULL, &out, NULL, "inspect", name, "--json", NULL), 0);
		doc = json_loads(out, 0, &jerr);
		assert_non_null(doc);
		parts = json_object_get(doc, "participants");
		if (json_array_size(parts) == 1 &&
		    json_integer_value(json_object_get(json_object_get(doc, "ring"), "msgs_out")) == 3)
			break;
		json_decref(doc);
		free(out);
		usleep(1000);
	}
	assert_true(i < 2000);
	validate_schema(out);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "mpmc");
	assert_string_equal(json_string_value(json_object_get(json_array_get(parts, 0), "role")),
			    "consumer");
	assert_true(json_is_true(json_object_get(json_array_get(parts, 0), "alive")));
	ring = json_object_get(doc, "ring");
	assert_int_equal(json_integer_value(json_object_get(ring, "slots")), 32);
	assert_int_equal(json_integer_value(json_object_get(ring, "slot_size")), 100);
	assert_int_equal(json_integer_value(json_object_get(ring, "liveness_ms")), 250);
	assert_int_equal(json_integer_value(json_object_get(ring, "msgs_in")), 3);
	assert_int_equal(json_integer_value(json_object_get(ring, "occupancy")), 0);
	assert_int_equal(json_integer_value(json_object_get(ring, "lost")), 0);
	assert_non_null(json_object_get(ring, "recovered"));
	assert_non_null(json_object_get(ring, "full_waits"));
	assert_non_null(json_object_get(ring, "empty_waits"));
	assert_non_null(json_object_get(ring, "wakes"));
	json_decref(doc);
	free(out);
	assert_int_equal(tool("w\n", NULL, NULL, "pub", name, NULL),
			 0);
	assert_int_equal(tu_wait(sub), 0);
	out = tu_read_file(f, NULL);
	assert_string_equal(out, "x\ny\nz\nw\n");
	free(out);
	unlink(f);
	/* The text form renders the same document. */
	assert_int_equal(tool(NULL, &out, NULL, "inspect", name, NULL), 0);
	assert_non_null(strstr(out, "kind: mpmc"));
	assert_non_null(strstr(out, "liveness_ms: 250"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_usage, tu_teardown),
		cmocka_unit_test_teardown(test_pub_sub_many, tu_teardown),
		cmocka_unit_test_teardown(test_end_of_stream, tu_teardown),
		cmocka_unit_test_teardown(test_pub_errors_and_count, tu_teardown),
		cmocka_unit_test_teardown(test_inspect, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
