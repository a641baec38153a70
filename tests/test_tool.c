/*
 * test_tool.c - the shmbus tool's foundation commands, run as a real
 * process: ls (ours with their kind, foreign blocks as unknown), inspect
 * (header fields), create block, rm; exit status 0 / 1 / 2 and errors on
 * stderr with the name involved.
 */
#include <jansson.h>

#include "header_internal.h"
#include "testutil.h"

static int tool(const char *a1, const char *a2, const char *a3, const char *a4, char **out,
		char **err)
{
	const char *argv[] = { tu_tool(), a1, a2, a3, a4, NULL };

	return tu_run(argv, NULL, out, err);
}

static json_t *find_block(json_t *doc, const char *name)
{
	json_t *arr = json_object_get(doc, "blocks"), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0)
			return it;
	}
	return NULL;
}

/* A block with a valid common header of kind MPMC but no ring behind it. */
static void make_ours(const char *name)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_MPMC, .version = 1,
					.total_size = 4096 };
	struct shmbus_block *b;
	void *p;

	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	header_init(p, &d);
	header_publish(p);
	shmbus_block_close(b);
}

static void test_ls_json(void **state)
{
	const char *ours = tu_name("ours"), *foreign = tu_name("foreign");
	struct shmbus_block *b;
	json_t *doc, *e;
	char *out, *err;

	(void)state;
	make_ours(ours);
	assert_int_equal(shmbus_block_create(&b, foreign, 100, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, "not ours at all", 15), 0);
	shmbus_block_close(b);
	assert_int_equal(tool("ls", "--json", NULL, NULL, &out, &err), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_integer_value(json_object_get(doc, "schema_version")),
			 SHMBUS_SCHEMA_VERSION);
	e = find_block(doc, ours);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "kind")), "mpmc");
	assert_int_equal(json_integer_value(json_object_get(e, "size_bytes")), 4096);
	assert_true(json_is_true(json_object_get(e, "alive"))); /* we, the creator, live */
	e = find_block(doc, foreign);
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "kind")), "unknown");
	assert_true(json_is_null(json_object_get(e, "alive")));
	json_decref(doc);
	free(out);
	free(err);
	/* the text form lists both too */
	assert_int_equal(tool("ls", NULL, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, ours));
	assert_non_null(strstr(out, foreign));
	free(out);
	free(err);
}

static void test_inspect_header(void **state)
{
	const char *name = tu_name("insp");
	json_t *doc, *creator, *hdr;
	char *out, *err;

	(void)state;
	make_ours(name);
	assert_int_equal(tool("inspect", name, "--json", NULL, &out, &err), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), name);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "mpmc");
	assert_int_equal(json_integer_value(json_object_get(doc, "size_bytes")), 4096);
	assert_true(json_is_string(json_object_get(doc, "created")));
	creator = json_object_get(doc, "creator");
	assert_int_equal(json_integer_value(json_object_get(creator, "pid")), getpid());
	assert_true(json_is_true(json_object_get(creator, "alive")));
	hdr = json_object_get(doc, "header");
	assert_int_equal(json_integer_value(json_object_get(hdr, "header_size")), 128);
	assert_int_equal(json_integer_value(json_object_get(hdr, "total_size")), 4096);
	json_decref(doc);
	free(out);
	free(err);
	/* text form: same data for people */
	assert_int_equal(tool("inspect", name, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "kind: mpmc"));
	free(out);
	free(err);
}

static void test_create_rm_and_errors(void **state)
{
	const char *name = tu_name("cr");
	char *out, *err;

	(void)state;
	assert_int_equal(tool("create", "block", name, "--size=1K", &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(tool("inspect", name, "--json", NULL, &out, &err), 0);
	assert_non_null(strstr(out, "\"size_bytes\": 1024"));
	assert_non_null(strstr(out, "\"kind\": \"unknown\""));
	free(out);
	free(err);
	/* exists already: error 1, name on stderr */
	assert_int_equal(tool("create", "block", name, "--size=1K", &out, &err), 1);
	assert_non_null(strstr(err, name));
	assert_non_null(strstr(err, "File exists"));
	free(out);
	free(err);
	assert_int_equal(tool("rm", name, NULL, NULL, &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(tool("rm", name, NULL, NULL, &out, &err), 1);
	assert_non_null(strstr(err, name));
	free(out);
	free(err);
	assert_int_equal(tool("inspect", name, NULL, NULL, &out, &err), 1);
	assert_non_null(strstr(err, "No such file"));
	free(out);
	free(err);
	/* bad usage: 2 */
	assert_int_equal(tool("inspect", NULL, NULL, NULL, &out, &err), 2);
	free(out);
	free(err);
	assert_int_equal(tool("frobnicate", NULL, NULL, NULL, &out, &err), 2);
	free(out);
	free(err);
	assert_int_equal(tool("create", "block", name, "--size=0", &out, &err), 2);
	free(out);
	free(err);
	/* a bad name is bad usage too */
	assert_int_equal(tool("create", "block", "a/b", "--size=10", &out, &err), 2);
	assert_non_null(strstr(err, "a/b"));
	free(out);
	free(err);
	assert_int_equal(tool("--version", NULL, NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "shmbus "));
	free(out);
	free(err);
	assert_int_equal(tool("ls", "--help", NULL, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "usage: shmbus ls"));
	free(out);
	free(err);
}

/* File names are bytes; JSON is UTF-8.  A name that is not valid UTF-8 is
 * listed with U+FFFD in its place, never dropped or breaking the output. */
static void test_non_utf8_name(void **state)
{
	char name[128];
	struct shmbus_block *b;
	json_t *doc, *e;
	char *out, *err, *want;

	(void)state;
	snprintf(name, sizeof(name), "%s\xff\xfe", tu_name("bin"));
	assert_int_equal(shmbus_block_create(&b, name, 64, 0), 0);
	shmbus_block_close(b);
	assert_int_equal(tool("ls", "--json", NULL, NULL, &out, &err), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	want = malloc(strlen(name) + 8);
	snprintf(want, strlen(name) + 8, "%s\xef\xbf\xbd\xef\xbf\xbd", tu_name("bin"));
	e = find_block(doc, want);
	assert_non_null(e);
	json_decref(doc);
	free(out);
	free(err);
	assert_int_equal(tool("inspect", name, "--json", NULL, &out, &err), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), want);
	json_decref(doc);
	free(want);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ls_json, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_header, tu_teardown),
		cmocka_unit_test_teardown(test_create_rm_and_errors, tu_teardown),
		cmocka_unit_test_teardown(test_non_utf8_name, tu_teardown),
	};

	return cmocka_run_group_tests_name("tool", tests, NULL, NULL);
}
