/*
 * test_slots_inspect.c - snapshots of slot tables: ours (kind "slots", with
 * creator and guard state) and CPython's (kind "python-shareablelist",
 * recognised by structure alone), per-item index/format/type/value, long
 * values cut, items being written or left by a dead writer, and blocks the
 * probes must not take for lists; and shmbus_slot_value_json(), the same
 * form of a value for programs.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "inspect/inspect_internal.h"
#include "slots/slots_internal.h"
#include "testutil.h"

static json_t *inspect(const char *name, enum shmbus_kind want)
{
	struct shmbus_snapshot *snap;
	json_t *doc;
	char *text;

	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	assert_int_equal(snap->kind, want);
	text = shmbus_snapshot_json(snap, 0);
	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	free(text);
	shmbus_snapshot_free(snap);
	return doc;
}

static json_t *item(json_t *doc, size_t i)
{
	json_t *it = json_array_get(json_object_get(json_object_get(doc, "slots"), "items"), i);

	assert_non_null(it);
	assert_int_equal(json_integer_value(json_object_get(it, "index")), (json_int_t)i);
	return it;
}

static void assert_item(json_t *doc, size_t i, const char *fmt, const char *type,
			const char *value_json)
{
	json_t *it = item(doc, i);
	char *v = json_dumps(json_object_get(it, "value"), JSON_ENCODE_ANY | JSON_COMPACT);

	assert_string_equal(json_string_value(json_object_get(it, "format")), fmt);
	assert_string_equal(json_string_value(json_object_get(it, "type")), type);
	assert_string_equal(v, value_json);
	free(v);
}

static struct shmbus_slots *make(const char *name)
{
	struct shmbus_slot_value vals[] = {
		shmbus_slot_int(-3), shmbus_slot_float(0.5), shmbus_slot_bool(true),
		shmbus_slot_none(), shmbus_slot_str("h\xc3\xa9llo"), shmbus_slot_bytes("\x00\xfe", 2),
		shmbus_slot_float(-INFINITY),
	};
	struct shmbus_slots *sl;

	assert_int_equal(shmbus_slots_create(&sl, name, vals, 7, 0), 0);
	return sl;
}

static void check_items(json_t *doc)
{
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "slots"),
							     "length")), 7);
	assert_item(doc, 0, "q", "int", "-3");
	assert_item(doc, 1, "d", "float", "0.5");
	assert_item(doc, 2, "xxxxxxx?", "bool", "true");
	assert_item(doc, 3, "xxxxxx?x", "None", "null");
	assert_item(doc, 4, "8s", "str", "\"h\xc3\xa9llo\"");
	assert_item(doc, 5, "8s", "bytes", "{\"bytes_hex\":\"00fe\"}");
	assert_item(doc, 6, "d", "float", "{\"float\":\"-inf\"}");
	assert_int_equal(json_integer_value(json_object_get(item(doc, 4), "capacity")), 8);
	assert_int_equal(json_integer_value(json_object_get(item(doc, 4), "length")), 6);
}

static void test_ours(void **state)
{
	const char *name = tu_name("ours");
	struct shmbus_slots *sl = make(name);
	json_t *doc = inspect(name, SHMBUS_KIND_SLOTS), *slots = json_object_get(doc, "slots");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "slots");
	assert_null(json_object_get(doc, "error"));
	assert_true(json_is_true(json_object_get(slots, "guarded")));
	assert_int_equal(json_integer_value(json_object_get(slots, "layout_version")), 1);
	assert_int_equal(json_integer_value(json_object_get(slots, "python_size")),
			 (json_int_t)sl->lay.python_size);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "creator"),
							     "pid")), getpid());
	assert_true(json_is_true(json_object_get(doc, "alive")));
	assert_true(json_is_string(json_object_get(doc, "created")));
	check_items(doc);
	json_decref(doc);
	shmbus_slots_close(sl);
}

/* Python's part alone, exactly as CPython lays it out (ASCII-identical). */
static void copy_python_part(struct shmbus_slots *sl, const char *to, size_t extra)
{
	struct shmbus_block *b;

	assert_int_equal(shmbus_block_create(&b, to, sl->lay.python_size + extra, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, sl->base, sl->lay.python_size), 0);
	shmbus_block_close(b);
}

static void test_python_made(void **state)
{
	const char *name = tu_name("src"), *py = tu_name("py"), *padded = tu_name("pad");
	struct shmbus_slots *sl = make(name), *psl;
	json_t *doc, *slots;

	(void)state;
	copy_python_part(sl, py, 0);
	doc = inspect(py, SHMBUS_KIND_PYLIST);
	slots = json_object_get(doc, "slots");
	assert_string_equal(json_string_value(json_object_get(doc, "kind")),
			    "python-shareablelist");
	assert_true(json_is_false(json_object_get(slots, "guarded")));
	assert_true(json_is_null(json_object_get(slots, "layout_version")));
	check_items(doc);
	json_decref(doc);
	/* The library reads it too, unguarded. */
	assert_int_equal(shmbus_slots_attach(&psl, py, 0), 0);
	assert_false(shmbus_slots_guarded(psl));
	shmbus_slots_close(psl);
	/* With bytes after Python's part it is not exactly what CPython
	 * allocates: the probe is strict and calls it unknown (attach, which
	 * Python's own rules guide, still accepts it). */
	copy_python_part(sl, padded, 8);
	json_decref(inspect(padded, SHMBUS_KIND_UNKNOWN));
	assert_int_equal(shmbus_slots_attach(&psl, padded, 0), 0);
	shmbus_slots_close(psl);
	shmbus_slots_close(sl);
}

static void test_not_lists(void **state)
{
	struct shmbus_block *b;
	unsigned char zero16[16] = { 0 };

	(void)state;
	/* Raw zeroed blocks of any size but 16 are not lists. */
	assert_int_equal(shmbus_block_create(&b, tu_name("raw"), 4096, 0), 0);
	shmbus_block_close(b);
	json_decref(inspect(tu_name("raw"), SHMBUS_KIND_UNKNOWN));
	assert_int_equal(shmbus_block_create(&b, tu_name("raw24"), 24, 0), 0);
	shmbus_block_close(b);
	json_decref(inspect(tu_name("raw24"), SHMBUS_KIND_UNKNOWN));
	assert_int_equal(shmbus_block_create(&b, tu_name("text"), 100, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, "just some text, not a list", 26), 0);
	shmbus_block_close(b);
	json_decref(inspect(tu_name("text"), SHMBUS_KIND_UNKNOWN));
	/* 16 zero bytes are, byte for byte, ShareableList([]). */
	assert_int_equal(shmbus_block_create(&b, tu_name("z16"), 16, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, zero16, 16), 0);
	shmbus_block_close(b);
	json_decref(inspect(tu_name("z16"), SHMBUS_KIND_PYLIST));
}

static void test_long_values_are_cut(void **state)
{
	const size_t len = 200000;
	char *big = malloc(len + 1);
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	json_t *doc, *it;

	(void)state;
	assert_non_null(big);
	/* Two-byte characters, so the cut must step back to a boundary. */
	for (size_t k = 0; k < len; k += 2)
		memcpy(big + k, "\xc3\xa9", 2);
	big[len] = '\0';
	v = shmbus_slot_str(big);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("long"), &v, 1, 0), 0);
	doc = inspect(tu_name("long"), SHMBUS_KIND_SLOTS);
	it = item(doc, 0);
	assert_true(json_is_true(json_object_get(it, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(it, "length")), (json_int_t)len);
	assert_true(json_string_length(json_object_get(it, "value")) <= 65536);
	assert_true(json_string_length(json_object_get(it, "value")) >= 65534);
	json_decref(doc);
	shmbus_slots_close(sl);
	free(big);
}

static int sleeper(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

static void test_items_being_written_or_abandoned(void **state)
{
	const char *name = tu_name("busy");
	struct shmbus_slots *sl = make(name);
	shmbus_ident_t dead;
	json_t *doc, *it;
	pid_t pid;

	(void)state;
	/* A live writer (us) in the middle of writing item 1. */
	atomic_store(&sl->guards[1].writer, shmbus_proc_self());
	atomic_store(&sl->guards[1].seq, 1);
	/* A dead one left item 2 half-written. */
	pid = tu_spawn(sleeper, NULL);
	assert_int_equal(shmbus_proc_ident(pid, &dead), 0);
	kill(pid, SIGKILL);
	tu_wait(pid);
	atomic_store(&sl->guards[2].writer, dead);
	atomic_store(&sl->guards[2].seq, 3);
	/* And item 4 holds bytes that are not UTF-8. */
	sl->base[sl->lay.data_off + sl->off[4]] = 0xff;
	doc = inspect(name, SHMBUS_KIND_SLOTS);
	it = item(doc, 1);
	assert_true(json_is_null(json_object_get(it, "value")));
	assert_string_equal(json_string_value(json_object_get(it, "error")),
			    shmbus_strerror(-EAGAIN));
	it = item(doc, 2);
	assert_string_equal(json_string_value(json_object_get(it, "error")),
			    shmbus_strerror(-SHMBUS_EPEERDEAD));
	it = item(doc, 4);
	assert_string_equal(json_string_value(json_object_get(it, "error")),
			    shmbus_strerror(-EILSEQ));
	assert_item(doc, 0, "q", "int", "-3");
	json_decref(doc);
	shmbus_slots_close(sl);
}

static void test_corrupt_ours_reports_error(void **state)
{
	const char *name = tu_name("bad");
	struct shmbus_slots *sl = make(name);
	struct slots_trailer *t =
		(struct slots_trailer *)(void *)(sl->base + sl->lay.trailer_off);
	json_t *doc;

	(void)state;
	t->count = 99;
	doc = inspect(name, SHMBUS_KIND_SLOTS);
	assert_string_equal(json_string_value(json_object_get(doc, "error")),
			    shmbus_strerror(-SHMBUS_ECORRUPT));
	assert_null(json_object_get(doc, "slots"));
	json_decref(doc);
	/* A bad item in a list that is otherwise fine: only that item. */
	t->count = 7;
	memcpy(sl->base + sl->lay.fmt_off, "qq", 2);
	doc = inspect(name, SHMBUS_KIND_SLOTS);
	assert_null(json_object_get(doc, "error"));
	assert_true(json_is_null(json_object_get(item(doc, 0), "format")));
	assert_string_equal(json_string_value(json_object_get(item(doc, 0), "error")),
			    shmbus_strerror(-SHMBUS_ECORRUPT));
	json_decref(doc);
	shmbus_slots_close(sl);
}

static void assert_value_json(struct shmbus_slot_value v, const char *want)
{
	char *text = NULL;

	assert_int_equal(shmbus_slot_value_json(&v, &text), 0);
	assert_string_equal(text, want);
	free(text);
}

/* shmbus_slot_value_json() writes each value exactly as the snapshot shows
 * it (one form for inspect and the tool's get), and refuses what is not a
 * value. */
static void test_value_json(void **state)
{
	const char *name = tu_name("vjson");
	struct shmbus_slots *sl = make(name);
	json_t *doc = inspect(name, SHMBUS_KIND_SLOTS);
	struct shmbus_slot_value v = shmbus_slot_int(1);
	char buf[64], *text = (char *)"untouched", *snap;
	size_t i;

	(void)state;
	for (i = 0; i < shmbus_slots_len(sl); i++) {
		assert_int_equal(shmbus_slots_get(sl, (int64_t)i, &v, buf, sizeof(buf)), 0);
		snap = json_dumps(json_object_get(item(doc, i), "value"),
				  JSON_ENCODE_ANY | JSON_COMPACT);
		assert_non_null(snap);
		assert_value_json(v, snap);
		free(snap);
	}
	json_decref(doc);
	shmbus_slots_close(sl);

	assert_value_json(shmbus_slot_int(INT64_MIN), "-9223372036854775808");
	assert_value_json(shmbus_slot_int(INT64_MAX), "9223372036854775807");
	assert_value_json(shmbus_slot_float(2.0), "2.0");
	assert_value_json(shmbus_slot_float(1e22), "1e22");
	assert_value_json(shmbus_slot_float(-0.0), "-0.0");
	assert_value_json(shmbus_slot_float(NAN), "{\"float\":\"nan\"}");
	assert_value_json(shmbus_slot_float(INFINITY), "{\"float\":\"inf\"}");
	assert_value_json(shmbus_slot_bool(false), "false");
	assert_value_json(shmbus_slot_none(), "null");
	assert_value_json(shmbus_slot_str(""), "\"\"");
	v = shmbus_slot_str("a");
	v.u.s.data = "a\0b";
	v.u.s.len = 3;
	assert_value_json(v, "\"a\\u0000b\"");
	assert_value_json(shmbus_slot_bytes(NULL, 0), "{\"bytes_hex\":\"\"}");
	assert_value_json(shmbus_slot_bytes("\x01\xab\xff", 3), "{\"bytes_hex\":\"01abff\"}");

	v = shmbus_slot_str("\xff");
	assert_int_equal(shmbus_slot_value_json(&v, &text), -EILSEQ);
	v = shmbus_slot_bytes(NULL, 1);
	assert_int_equal(shmbus_slot_value_json(&v, &text), -EINVAL);
	v = shmbus_slot_none();
	v.type = (enum shmbus_slot_type)42;
	assert_int_equal(shmbus_slot_value_json(&v, &text), -EINVAL);
	assert_int_equal(shmbus_slot_value_json(NULL, &text), -EINVAL);
	v = shmbus_slot_none();
	assert_int_equal(shmbus_slot_value_json(&v, NULL), -EINVAL);
	assert_string_equal(text, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_ours, tu_teardown),
		cmocka_unit_test_teardown(test_python_made, tu_teardown),
		cmocka_unit_test_teardown(test_not_lists, tu_teardown),
		cmocka_unit_test_teardown(test_long_values_are_cut, tu_teardown),
		cmocka_unit_test_teardown(test_items_being_written_or_abandoned, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt_ours_reports_error, tu_teardown),
		cmocka_unit_test_teardown(test_value_json, tu_teardown),
	};

	return cmocka_run_group_tests_name("slots_inspect", tests, NULL, NULL);
}
