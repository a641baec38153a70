/*
 * test_spsc_tool.c - the real `shmbus` tool on SPSC rings: create spsc,
 * pub from stdin, sub --count / --timeout-ms, end of stream (pub closes it,
 * sub stops; --keep-open), inspect --json fields (and the JSON Schema), a
 * pub and a sub running at once through a small ring, bad usage (status 2)
 * and errors (status 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "testutil.h"

/* Run the tool with the given arguments, @in on stdin; returns its status. */
#define T0(in, out, err, ...) \
	tu_run((const char *const[]){ tu_tool(), __VA_ARGS__, NULL }, in, out, err)

/* `shmbus inspect NAME --json`, parsed; its "ring" object in *@ring. */
static json_t *inspect(const char *name, json_t **ring)
{
	json_error_t jerr;
	char *out = NULL;
	json_t *doc;

	assert_int_equal(T0(NULL, &out, NULL, "inspect", name, "--json"), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	*ring = json_object_get(doc, "ring");
	assert_non_null(*ring);
	/* the document follows the published schema */
	assert_int_equal(tu_schema_check("inspect.schema.json", out), 0);
	free(out);
	return doc;
}

static json_int_t ring_int(json_t *ring, const char *key)
{
	json_t *v = json_object_get(ring, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void test_create_pub_sub_inspect(void **state)
{
	const char *name = tu_name("ps");
	char *out = NULL, *err = NULL;
	json_t *doc, *ring;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "4K"), 0);
	doc = inspect(name, &ring);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "spsc");
	assert_int_equal(ring_int(ring, "capacity"), 4096);
	assert_int_equal(ring_int(ring, "used"), 0);
	assert_true(json_is_null(json_object_get(ring, "producer")));
	json_decref(doc);

	/* four messages, the third empty, the last without a newline; the
	 * stream stays open (test_end_of_stream() closes one) */
	assert_int_equal(T0("a\nbb\n\nccc", NULL, NULL, "pub", name, "--keep-open"), 0);
	doc = inspect(name, &ring);
	assert_int_equal(ring_int(ring, "msgs_in"), 4);
	assert_int_equal(ring_int(ring, "bytes_in"), 6);
	assert_int_equal(ring_int(ring, "msgs_out"), 0);
	assert_int_equal(ring_int(ring, "used"), 16 + 16 + 8 + 16);
	assert_int_equal(ring_int(ring, "head"), 56);
	assert_int_equal(ring_int(ring, "tail"), 0);
	assert_true(json_is_integer(json_object_get(ring, "full_waits")));
	assert_true(json_is_integer(json_object_get(ring, "empty_waits")));
	assert_true(json_is_integer(json_object_get(ring, "wakes")));
	json_decref(doc);

	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--count", "2"), 0);
	assert_string_equal(out, "a\nbb\n");
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--count", "2", "--timeout-ms", "1000"), 0);
	assert_string_equal(out, "\nccc\n");
	free(out);
	/* nothing left: --timeout-ms alone ends quietly ... */
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--timeout-ms", "50"), 0);
	assert_string_equal(out, "");
	free(out);
	/* ... with --count it is an error */
	assert_int_equal(T0(NULL, &out, &err, "sub", name, "--count", "1", "--timeout-ms", "50"), 1);
	assert_non_null(strstr(err, "timed out after 0 of 1 messages"));
	free(out);
	free(err);

	doc = inspect(name, &ring);
	assert_int_equal(ring_int(ring, "msgs_out"), 4);
	assert_int_equal(ring_int(ring, "bytes_out"), 6);
	assert_int_equal(ring_int(ring, "used"), 0);
	assert_true(ring_int(ring, "empty_waits") >= 2);
	assert_true(json_is_null(json_object_get(ring, "consumer"))); /* sub left */
	json_decref(doc);
	assert_int_equal(T0(NULL, NULL, NULL, "rm", name), 0);
}

/* `sub NAME`, no --count, no timeout: 0 if it stopped with "d\n" printed. */
static int sub_until_end(void *name)
{
	char *out = NULL;
	int st = T0(NULL, &out, NULL, "sub", (const char *)name);

	return st != 0 ? 10 + st % 100 : strcmp(out, "d\n") != 0 ? 3 : 0;
}

/* pub closes the stream at the end of its input: sub then stops by itself
 * (status 0), after every message, even short of --count; --keep-open
 * leaves it open; the next pub reopens it. */
static void test_end_of_stream(void **state)
{
	const struct timespec nap = { 0, 100000000 };
	const char *name = tu_name("eos");
	char *out = NULL, *err = NULL;
	json_t *doc, *ring;
	pid_t pid;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "4K"), 0);
	assert_int_equal(T0("a\nb\n", NULL, NULL, "pub", name), 0);
	doc = inspect(name, &ring);
	assert_true(json_is_true(json_object_get(ring, "eos")));
	json_decref(doc);
	assert_int_equal(T0(NULL, &out, &err, "sub", name), 0); /* no --count, no timeout */
	assert_string_equal(out, "a\nb\n");
	assert_string_equal(err, "");
	free(out);
	free(err);
	assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--count", "5"), 0);
	assert_string_equal(out, "");
	free(out);
	/* a new pub reopens it; this one keeps it open */
	assert_int_equal(T0("c\n", NULL, NULL, "pub", name, "--keep-open"), 0);
	assert_int_equal(T0(NULL, &out, &err, "sub", name, "--count", "2", "--timeout-ms", "100"),
			 1);
	assert_string_equal(out, "c\n");
	assert_non_null(strstr(err, "timed out after 1 of 2 messages"));
	free(out);
	free(err);
	/* and a sub asleep when pub closes it is woken and stops */
	pid = tu_spawn(sub_until_end, (void *)name);
	nanosleep(&nap, NULL);
	assert_int_equal(T0("d\n", NULL, NULL, "pub", name), 0);
	assert_int_equal(tu_wait(pid), 0);
}

struct sub_arg {
	const char *name;
	const char *expect;
};

static int run_sub(void *arg)
{
	struct sub_arg *a = arg;
	char *out = NULL;
	int st = T0(NULL, &out, NULL, "sub", a->name, "--count", "20000", "--timeout-ms", "30000");

	return st != 0 ? 10 + st % 100 : strcmp(out, a->expect) != 0 ? 3 : 0;
}

/* pub and sub at once through a ring far smaller than the data: both
 * sides sleep and wake each other. */
static void test_concurrent_pub_sub(void **state)
{
	struct sub_arg a = { .name = tu_name("cc") };
	size_t cap = 20000 * 16, len = 0;
	char *text = malloc(cap);
	pid_t pid;
	int i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, cap - len, "line %d\n", i);
	a.expect = text;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", a.name, "--capacity", "256"), 0);
	pid = tu_spawn(run_sub, &a);
	assert_int_equal(T0(text, NULL, NULL, "pub", a.name, "--timeout-ms", "30000"), 0);
	assert_int_equal(tu_wait(pid), 0);
	free(text);
}

static void test_usage_and_errors(void **state)
{
	const char *name = tu_name("err"), *raw = tu_name("raw"), *missing = tu_name("none");
	struct shmbus_block *b;
	struct shmbus_spsc *q;
	char *out = NULL, *err = NULL;
	char long_line[200];

	(void)state;
	/* bad usage: status 2 */
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "1000"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "32"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "2G"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--bogus"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "pub"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "sub"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "pub", name, "extra"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "pub", name, "--count", "3"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", name, "--count", "0"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", name, "--count", "x"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", name, "--timeout-ms", "-1"), 2);
	/* help: status 0 */
	assert_int_equal(T0(NULL, &out, NULL, "pub", "--help"), 0);
	assert_non_null(strstr(out, "usage: shmbus pub"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "sub", "--help"), 0);
	assert_non_null(strstr(out, "--count"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "create", "spsc", "--help"), 0);
	assert_non_null(strstr(out, "--capacity"));
	free(out);
	assert_int_equal(T0(NULL, &out, NULL, "create", "--help"), 0);
	assert_non_null(strstr(out, "create spsc"));
	free(out);

	/* errors: status 1, with the name */
	assert_int_equal(T0(NULL, NULL, &err, "sub", missing), 1);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file"));
	free(err);
	assert_int_equal(T0("x\n", NULL, &err, "pub", missing), 1);
	assert_non_null(strstr(err, "cannot publish"));
	free(err);
	assert_int_equal(shmbus_block_create(&b, raw, 4096, 0), 0);
	shmbus_block_close(b);
	assert_int_equal(T0("x\n", NULL, NULL, "pub", raw), 1);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", raw, "--timeout-ms", "10"), 1);

	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name, "--capacity", "64"), 0);
	assert_int_equal(T0(NULL, NULL, &err, "create", "spsc", name), 1); /* exists */
	free(err);
	/* a line longer than the largest message (56 bytes) */
	memset(long_line, 'x', 100);
	strcpy(long_line + 100, "\n");
	assert_int_equal(T0(long_line, NULL, &err, "pub", name), 1);
	assert_non_null(strstr(err, "cannot publish line 1"));
	free(err);
	/* the consumer role is held (by us): a second one is refused */
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(T0(NULL, NULL, &err, "sub", name, "--timeout-ms", "10"), 1);
	assert_non_null(strstr(err, "busy"));
	free(err);
	shmbus_spsc_close(q);
	/* a full ring and a timeout */
	assert_int_equal(T0("aaaaaaaaaaaaaaaaaaaa\nbbbbbbbbbbbbbbbbbbbbbbbb\nc\n", NULL, &err, "pub", name,
			    "--timeout-ms", "20"),
			 1);
	assert_non_null(strstr(err, "cannot publish line 3"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_pub_sub_inspect, tu_teardown),
		cmocka_unit_test_teardown(test_end_of_stream, tu_teardown),
		cmocka_unit_test_teardown(test_concurrent_pub_sub, tu_teardown),
		cmocka_unit_test_teardown(test_usage_and_errors, tu_teardown),
	};

	return cmocka_run_group_tests_name("spsc_tool", tests, NULL, NULL);
}
