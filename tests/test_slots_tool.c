/*
 * test_slots_tool.c - `shmbus create slots`, `get`, `set` and `inspect` on
 * slot tables, run as real processes: every JSON value form, negative
 * indices, type changes, the capacity error (exit 1, nothing changes), bad
 * usage (exit 2), and inspect's document (kind, items, schema).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "slots/slots_internal.h"
#include "testutil.h"

static int tool(const char *input, char **out, char **err, const char *a1, const char *a2,
		const char *a3, const char *a4, const char *a5)
{
	const char *argv[] = { tu_tool(), a1, a2, a3, a4, a5, NULL };
	char *o, *e;
	int rc = tu_run(argv, input, &o, &e);

	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else
		free(e);
	return rc;
}

/* `shmbus get NAME INDEX` must print @want (plus a newline). */
static void expect_get(const char *name, const char *index, const char *want)
{
	char *out, *err;

	assert_int_equal(tool(NULL, &out, &err, "get", name, index, NULL, NULL), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_string_equal(out, want);
	assert_string_equal(err, "");
	free(out);
	free(err);
}

#define VALUES "[7, -1.5, true, false, null, \"h\\u00e9llo\", {\"bytes_hex\": \"00ff10\"}, " \
	       "{\"float\": \"nan\"}, {\"float\": 2}, {\"value\": \"idle\", \"capacity\": 30}, " \
	       "-9223372036854775808]"

static void test_create_get(void **state)
{
	const char *name = tu_name("t");
	struct shmbus_slots *sl;

	(void)state;
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", name, "--values", VALUES), 0);
	expect_get(name, "0", "7");
	expect_get(name, "1", "-1.5");
	expect_get(name, "2", "true");
	expect_get(name, "3", "false");
	expect_get(name, "4", "null");
	expect_get(name, "5", "\"h\xc3\xa9llo\"");
	expect_get(name, "6", "{\"bytes_hex\":\"00ff10\"}");
	expect_get(name, "7", "{\"float\":\"nan\"}");
	expect_get(name, "8", "2.0");
	expect_get(name, "9", "\"idle\"");
	expect_get(name, "-1", "-9223372036854775808");
	expect_get(name, "-11", "7");
	assert_int_equal(shmbus_slots_attach(&sl, name, 0), 0);
	assert_int_equal(shmbus_slots_capacity(sl, 9), 32);
	assert_true(shmbus_slots_guarded(sl));
	shmbus_slots_close(sl);
}

static void test_set_and_errors(void **state)
{
	const char *name = tu_name("s");
	char *out, *err;

	(void)state;
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", name, "--values",
			      "[\"state\", 0]"), 0);
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "0", "\"busy\"", NULL), 0);
	expect_get(name, "0", "\"busy\"");
	/* Type changes, negative index. */
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "-1", "\"now str\"", NULL), 0);
	expect_get(name, "1", "\"now str\"");
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "0", "{\"bytes_hex\":\"ab\"}", NULL),
			 0);
	expect_get(name, "0", "{\"bytes_hex\":\"ab\"}");
	/* Too long: exit 1, says why, nothing changes. */
	assert_int_equal(tool(NULL, &out, &err, "set", name, "0", "\"far too long\"", NULL), 1);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, "holds at most 8"));
	free(out);
	free(err);
	expect_get(name, "0", "{\"bytes_hex\":\"ab\"}");
	/* Out of range, both signs; never reads past the list. */
	assert_int_equal(tool(NULL, &out, &err, "get", name, "2", NULL, NULL), 1);
	assert_non_null(strstr(err, "out of range"));
	free(out);
	free(err);
	assert_int_equal(tool(NULL, NULL, NULL, "get", name, "-3", NULL, NULL), 1);
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "-3", "1", NULL), 1);
	/* Bad usage: exit 2. */
	assert_int_equal(tool(NULL, NULL, NULL, "get", name, "x", NULL, NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "get", name, NULL, NULL, NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "0", "{bad json", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "0", "[1]", NULL), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "0", "{\"bytes_hex\":\"0g\"}", NULL),
			 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", tu_name("u"), "--values",
			      "{\"a\": 1}"), 2);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", tu_name("u"), NULL, NULL), 2);
	/* Errors name the block: missing, exists, not a list. */
	assert_int_equal(tool(NULL, &out, &err, "get", tu_name("missing"), "0", NULL, NULL), 1);
	assert_non_null(strstr(err, tu_name("missing")));
	free(out);
	free(err);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", name, "--values", "[1]"), 1);
	assert_int_equal(tool(NULL, NULL, NULL, "create", "block", tu_name("raw"), "--size", "64"),
			 0);
	/* A zero-filled raw block is no slot table, not a "corrupt" one. */
	assert_int_equal(tool(NULL, &out, &err, "get", tu_name("raw"), "0", NULL, NULL), 1);
	assert_non_null(strstr(err, "is a raw block"));
	assert_non_null(strstr(err, "not a slot table"));
	assert_null(strstr(err, "corrupt"));
	free(out);
	free(err);
	assert_int_equal(tool(NULL, &out, &err, "set", tu_name("raw"), "0", "1", NULL), 1);
	assert_non_null(strstr(err, "not a slot table"));
	free(out);
	free(err);
}

/* What get prints, set and create take back: a str with NULs inside. */
static void test_nul_round_trip(void **state)
{
	const char *name = tu_name("nul");
	char *out, *err;

	(void)state;
	assert_int_equal(tool(NULL, NULL, &err, "create", "slots", name, "--values",
			      "[\"a\\u0000b\", {\"value\": \"\", \"capacity\": 16}]"), 0);
	free(err);
	expect_get(name, "0", "\"a\\u0000b\"");
	/* Feed get's own output back to set, into another slot. */
	assert_int_equal(tool(NULL, &out, NULL, "get", name, "0", NULL, NULL), 0);
	out[strcspn(out, "\n")] = '\0';
	assert_int_equal(tool(NULL, NULL, &err, "set", name, "1", out, NULL), 0);
	assert_string_equal(err, "");
	free(err);
	expect_get(name, "1", out);
	free(out);
	/* Trailing NULs are stripped on read, as Python does. */
	assert_int_equal(tool(NULL, NULL, NULL, "set", name, "1", "\"x\\u0000\"", NULL), 0);
	expect_get(name, "1", "\"x\"");
}

static void test_values_from_stdin_and_help(void **state)
{
	const char *name = tu_name("stdin");
	char *out;

	(void)state;
	assert_int_equal(tool("[1, \"two\", 3.5]", NULL, NULL, "create", "slots", name,
			      "--values-file", "-"), 0);
	expect_get(name, "1", "\"two\"");
	assert_int_equal(tool(NULL, &out, NULL, "create", "slots", "--help", NULL, NULL), 0);
	assert_non_null(strstr(out, "bytes_hex"));
	assert_non_null(strstr(out, "resource_tracker.unregister"));
	free(out);
	assert_int_equal(tool(NULL, &out, NULL, "get", "--help", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "usage: shmbus get"));
	free(out);
	assert_int_equal(tool(NULL, &out, NULL, "set", "--help", NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "usage: shmbus set"));
	free(out);
	assert_int_equal(tool(NULL, &out, NULL, "--help", NULL, NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "  get "));
	free(out);
}

static void validate_schema(const char *doc)
{
	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
}

static void test_inspect_json(void **state)
{
	const char *name = tu_name("insp");
	json_t *doc, *items, *it;
	char *out;

	(void)state;
	assert_int_equal(tool(NULL, NULL, NULL, "create", "slots", name, "--values",
			      "[42, \"name\", {\"bytes_hex\": \"0001\"}]"), 0);
	assert_int_equal(tool(NULL, &out, NULL, "inspect", name, "--json", NULL, NULL), 0);
	validate_schema(out);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "slots");
	items = json_object_get(json_object_get(doc, "slots"), "items");
	assert_int_equal(json_array_size(items), 3);
	it = json_array_get(items, 1);
	assert_int_equal(json_integer_value(json_object_get(it, "index")), 1);
	assert_string_equal(json_string_value(json_object_get(it, "format")), "8s");
	assert_string_equal(json_string_value(json_object_get(it, "type")), "str");
	assert_string_equal(json_string_value(json_object_get(it, "value")), "name");
	it = json_array_get(items, 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(it, "value"),
							       "bytes_hex")), "0001");
	json_decref(doc);
	free(out);
	/* The text form renders the same document. */
	assert_int_equal(tool(NULL, &out, NULL, "inspect", name, NULL, NULL, NULL), 0);
	assert_non_null(strstr(out, "kind: slots"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_get, tu_teardown),
		cmocka_unit_test_teardown(test_set_and_errors, tu_teardown),
		cmocka_unit_test_teardown(test_values_from_stdin_and_help, tu_teardown),
		cmocka_unit_test_teardown(test_nul_round_trip, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_json, tu_teardown),
	};

	return cmocka_run_group_tests_name("slots_tool", tests, NULL, NULL);
}
