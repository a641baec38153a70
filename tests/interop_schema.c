/*
 * interop_schema.c - the tool's JSON output of every kind validates against
 * the published JSON Schemas (the files in tools/schema/), checked by
 * python3's jsonschema (draft 2020-12): inspect, ls, watch --json, a
 * broadcast ring's subscriber table, and a corrupted ring; and the schema is strict enough to reject a document with
 * a required field missing.
 */
#include <jansson.h>

#include "header_internal.h"
#include "tu_kinds.h"
#include "testutil.h"

static void check_inspect(const char *name)
{
	char *doc = tu_kinds_tool_json("inspect", name, "--json");

	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
	free(doc);
}

static void test_every_kind(void **state)
{
	struct kinds k;
	char *doc;

	(void)state;
	tu_kinds_make(&k);
	check_inspect(k.raw);
	check_inspect(k.spsc);
	check_inspect(k.mpmc);
	check_inspect(k.bcast);
	check_inspect(k.slots);
	check_inspect(k.pylist);
	doc = tu_kinds_tool_json("ls", "--json", NULL);
	assert_int_equal(tu_schema_check("ls.schema.json", doc), 0);
	free(doc);
	{
		const char *argv[] = { tu_tool(), "watch", k.spsc, "--json", "--count", "2",
				       "--interval-ms", "10", NULL };
		char *err;

		assert_int_equal(tu_run(argv, NULL, &doc, &err), 0);
		assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
		free(doc);
		free(err);
	}
}

/* A broadcast ring with subscribers in the table: a live one that the
 * producer lapped, and a dead one; inspect and watch --json show them. */
static void test_bcast_subscribers(void **state)
{
	struct shmbus_bcast_params params = { .capacity = 256, .subscribers = 4,
					      .policy = SHMBUS_BCAST_LOSSY };
	const char *name = tu_name("bsubs");
	const char *argv[] = { tu_tool(), "watch", name, "--json", "--count", "2",
			       "--interval-ms", "10", NULL };
	struct shmbus_bcast *p, *s;
	struct shmbus_bcast_msg m;
	json_t *bad, *subs;
	char *doc, *err;
	pid_t pid;
	int i;

	(void)state;
	assert_int_equal(shmbus_bcast_create(name, &params), 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_OLDEST), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Joins, then dies holding its entry. */
		struct shmbus_bcast *d;

		_exit(shmbus_bcast_subscribe(&d, name, SHMBUS_BCAST_FROM_NEXT) == 0 ? 0 : 1);
	}
	assert_int_equal(tu_wait(pid), 0);
	for (i = 0; i < 40; i++)
		assert_int_equal(shmbus_bcast_push_try(p, "0123456789", 10), 0);
	assert_int_equal(shmbus_bcast_peek_try(s, &m), 0);
	assert_true(m.dropped > 0);
	assert_int_equal(shmbus_bcast_release(s), 0);
	doc = tu_kinds_tool_json("inspect", name, "--json");
	assert_non_null(strstr(doc, "\"dropped\""));
	assert_non_null(strstr(doc, "\"alive\": false"));
	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
	/* and a subscriber without its lag does not pass */
	bad = json_loads(doc, 0, NULL);
	assert_non_null(bad);
	subs = json_object_get(json_object_get(bad, "ring"), "subscribers");
	assert_int_equal(json_array_size(subs), 2);
	assert_int_equal(json_object_del(json_array_get(subs, 0), "lag_messages"), 0);
	free(doc);
	doc = json_dumps(bad, JSON_SORT_KEYS);
	assert_int_not_equal(tu_schema_check("inspect.schema.json", doc), 0);
	json_decref(bad);
	free(doc);
	assert_int_equal(tu_run(argv, NULL, &doc, &err), 0);
	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
	free(doc);
	free(err);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
}

static void test_manager_block(void **state)
{
	struct shmbus_manager *m;
	struct shmbus_block *b;
	char *doc;

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 8), 0);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("managed"), 64, 0, &b), 0);
	shmbus_block_close(b);
	check_inspect(tu_name("mgr"));
	doc = tu_kinds_tool_json("ls", "--json", NULL);
	assert_int_equal(tu_schema_check("ls.schema.json", doc), 0);
	free(doc);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	shmbus_manager_free(m);
}

/* Random bytes over the ring state after the header: inspect still prints a
 * valid document, which says what is wrong. */
static void test_corrupt_ring(void **state)
{
	const char *name = tu_name("bad");
	struct shmbus_block *b;
	unsigned char *p;
	size_t i;
	char *doc;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 4096, 0), 0);
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_int_equal(shmbus_block_data(b, (void **)&p), 0);
	for (i = SHMBUS_HEADER_SIZE; i < 1024; i++)
		p[i] = (unsigned char)(i * 2654435761u >> 13);
	shmbus_block_close(b);
	doc = tu_kinds_tool_json("inspect", name, "--json");
	assert_non_null(strstr(doc, "\"error\""));
	assert_int_equal(tu_schema_check("inspect.schema.json", doc), 0);
	free(doc);
}

/* The schema must be able to fail: drop a required field of the ring. */
static void test_schema_rejects(void **state)
{
	const char *name = tu_name("rej");
	json_t *doc;
	char *text, *bad;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 4096, 0), 0);
	text = tu_kinds_tool_json("inspect", name, "--json");
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_object_del(json_object_get(doc, "ring"), "capacity"), 0);
	bad = json_dumps(doc, JSON_SORT_KEYS);
	assert_int_not_equal(tu_schema_check("inspect.schema.json", bad), 0);
	json_object_set_new(doc, "kind", json_string("no-such-kind"));
	free(bad);
	bad = json_dumps(doc, JSON_SORT_KEYS);
	assert_int_not_equal(tu_schema_check("inspect.schema.json", bad), 0);
	free(bad);
	free(text);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_every_kind, tu_teardown),
		cmocka_unit_test_teardown(test_bcast_subscribers, tu_teardown),
		cmocka_unit_test_teardown(test_manager_block, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt_ring, tu_teardown),
		cmocka_unit_test_teardown(test_schema_rejects, tu_teardown),
	};

	if (!tu_python_with("jsonschema")) {
		fprintf(stderr, "no python3 with jsonschema (Debian: python3-jsonschema)\n");
		return 1;
	}
	return cmocka_run_group_tests_name("interop_schema", tests, NULL, NULL);
}
