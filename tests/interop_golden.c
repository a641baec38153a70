/*
 * interop_golden.c - `shmbus inspect --json` of every kind against golden
 * files (tests/golden/inspect_<kind>.json), with the values that vary from
 * run to run (pids, start times, times, names, uids) replaced by "<var>".
 * A difference fails the test and prints both documents.
 * To regenerate after a deliberate change: SHMBUS_GOLDEN_UPDATE=1, then
 * review the diff of tests/golden/ like code.
 * (interop: the python-shareablelist case is made by python3.)
 */
#include <jansson.h>

#include "tu_kinds.h"
#include "testutil.h"

static const char *const varying[] = { "pid", "start_ticks", "created", "created_ns",
				       "modified", "uid", "owner_uid", "name",
				       "last_active" };

static void normalize(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, item) {
			for (i = 0; i < sizeof(varying) / sizeof(varying[0]); i++) {
				if (strcmp(key, varying[i]) == 0 && !json_is_null(item)) {
					json_object_set_new(v, key, json_string("<var>"));
					break;
				}
			}
			if (i == sizeof(varying) / sizeof(varying[0]))
				normalize(item);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, item)
			normalize(item);
	}
}

static void check_golden(const char *kind, const char *name)
{
	char path[512], *text = tu_kinds_tool_json("inspect", name, "--json"), *got;
	json_t *doc = json_loads(text, 0, NULL), *want;

	assert_non_null(doc);
	normalize(doc);
	got = json_dumps(doc, JSON_SORT_KEYS | JSON_INDENT(2));
	snprintf(path, sizeof(path), "%s/golden/inspect_%s.json", SHMBUS_TEST_SRCDIR, kind);
	if (getenv("SHMBUS_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fprintf(f, "%s\n", got);
		fclose(f);
	}
	want = json_load_file(path, 0, NULL);
	if (!want || !json_equal(want, doc)) {
		char *w = want ? json_dumps(want, JSON_SORT_KEYS | JSON_INDENT(2)) : NULL;

		fprintf(stderr, "golden mismatch for %s (%s)\n--- want\n%s\n--- got\n%s\n", kind,
			path, w ? w : "(missing)", got);
		free(w);
		fail();
	}
	json_decref(want);
	json_decref(doc);
	free(got);
	free(text);
}

static void test_golden(void **state)
{
	struct kinds k;

	(void)state;
	tu_kinds_make(&k);
	check_golden("unknown", k.raw);
	check_golden("spsc", k.spsc);
	check_golden("mpmc", k.mpmc);
	check_golden("broadcast", k.bcast);
	check_golden("slots", k.slots);
	check_golden("python-shareablelist", k.pylist);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_golden, tu_teardown),
	};

	if (!tu_python()) {
		fprintf(stderr, "python3 not found\n");
		return 1;
	}
	return cmocka_run_group_tests_name("interop_golden", tests, NULL, NULL);
}
