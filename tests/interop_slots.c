/*
 * interop_slots.c - slot tables against the real python3's
 * multiprocessing.shared_memory.ShareableList, both directions: every type,
 * non-ASCII text, the empty list, 10,000 items, 1 MiB str and bytes, type
 * changes, capacity errors.  Values written on one side read identically on
 * the other, and for ASCII values the bytes C lays out equal the bytes
 * Python lays out (the first 16 + 17 N + D bytes), also after the same
 * sequence of type-changing sets on both sides.
 *
 * The values of each case come from tests/py/slots_peer.py (`values CASE`)
 * as JSON, so the two sides test against one definition.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "slot_json.h" /* tools/: the tool's reading of values */
#include "slots/slots_internal.h"
#include "testutil.h"

#define PEER SHMBUS_TEST_SRCDIR "/py/slots_peer.py"

/* Run the peer; returns its exit status, stdout in *@out (may be NULL). */
static int peer(const char *a1, const char *a2, const char *a3, const char *a4,
		const char *input, char **out)
{
	const char *argv[] = { tu_python(), PEER, a1, a2, a3, a4, NULL };
	char *o, *e;
	int rc = tu_run(argv, input, &o, &e);

	if (rc != 0 && rc != 3)
		fprintf(stderr, "python %s %s -> %d\nstderr: %s\n", a1, a2 ? a2 : "", rc, e);
	free(e);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

static int peer_ok(const char *a1, const char *a2, const char *a3, const char *a4,
		   const char *input)
{
	char *out;
	int rc = peer(a1, a2, a3, a4, input, &out);

	if (rc == 0 && strcmp(out, "ok\n") != 0)
		rc = -1;
	free(out);
	return rc;
}

/* The JSON array of case @name, as text. */
static char *case_text(const char *name)
{
	char *out;

	assert_int_equal(peer("values", name, NULL, NULL, NULL, &out), 0);
	return out;
}

struct values {
	json_t *doc;
	struct shmbus_slot_value *v;
	void **owned;
	size_t n;
};

static void values_parse(const char *text, struct values *vs)
{
	const char *why;
	size_t i;

	vs->doc = json_loads(text, 0, NULL);
	assert_non_null(vs->doc);
	vs->n = json_array_size(vs->doc);
	vs->v = calloc(vs->n + 1, sizeof(*vs->v));
	vs->owned = calloc(vs->n + 1, sizeof(*vs->owned));
	assert_true(vs->v && vs->owned);
	for (i = 0; i < vs->n; i++)
		assert_int_equal(slot_json_parse(json_array_get(vs->doc, i), true, &vs->v[i],
						 &vs->owned[i], &why), 0);
}

static void values_free(struct values *vs)
{
	size_t i;

	for (i = 0; i < vs->n; i++)
		free(vs->owned[i]);
	free(vs->owned);
	free(vs->v);
	json_decref(vs->doc);
}

static bool same(const struct shmbus_slot_value *a, const struct shmbus_slot_value *b)
{
	if (a->type != b->type)
		return false;
	if (a->type == SHMBUS_SLOT_FLOAT && isnan(a->u.f))
		return isnan(b->u.f);
	if (a->type == SHMBUS_SLOT_FLOAT && signbit(a->u.f) != signbit(b->u.f))
		return false;
	return slot_value_equal(a, b);
}

/* Every item of list @name equals @vs, read by C. */
static void c_check(const char *name, const struct values *vs, bool guarded)
{
	size_t bufsize = 2 << 20, i;
	char *buf = malloc(bufsize);
	struct shmbus_slot_value got;
	struct shmbus_slots *sl;

	assert_non_null(buf);
	assert_int_equal(shmbus_slots_attach(&sl, name, SHMBUS_ATTACH_RDONLY), 0);
	assert_int_equal(shmbus_slots_len(sl), vs->n);
	assert_int_equal(shmbus_slots_guarded(sl), guarded);
	for (i = 0; i < vs->n; i++) {
		assert_int_equal(shmbus_slots_get(sl, (int64_t)i, &got, buf, bufsize), 0);
		if (!same(&got, &vs->v[i]))
			fail_msg("item %zu differs (type %d, want %d)", i, got.type, vs->v[i].type);
	}
	shmbus_slots_close(sl);
	free(buf);
}

static void c_create(const char *name, const struct values *vs)
{
	struct shmbus_slots *sl;

	assert_int_equal(shmbus_slots_create(&sl, name, vs->v, vs->n, 0), 0);
	shmbus_slots_close(sl);
}

static void c_creates_python_reads(const char *c)
{
	const char *name = tu_name(c);
	char *text = case_text(c);
	struct values vs;

	values_parse(text, &vs);
	c_create(name, &vs);
	assert_int_equal(peer_ok("check", name, NULL, NULL, text), 0);
	/* Python only attached: the list is still here, unchanged. */
	c_check(name, &vs, true);
	values_free(&vs);
	free(text);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void python_creates_c_reads(const char *c)
{
	const char *name = tu_name(c);
	char *text = case_text(c);
	struct values vs;

	values_parse(text, &vs);
	assert_int_equal(peer_ok("create", name, NULL, NULL, text), 0);
	c_check(name, &vs, false);
	values_free(&vs);
	free(text);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

/* Python's part of a list C creates equals what Python creates. */
static void same_bytes(const char *c)
{
	const char *name = tu_name(c);
	char *text = case_text(c), *hex, *mine;
	struct shmbus_slots *sl;
	struct values vs;
	size_t i, len;

	values_parse(text, &vs);
	assert_int_equal(peer("bytes", NULL, NULL, NULL, text, &hex), 0);
	assert_int_equal(shmbus_slots_create(&sl, name, vs.v, vs.n, 0), 0);
	len = sl->lay.python_size;
	assert_int_equal(strlen(hex), 2 * len + 1); /* + newline */
	mine = malloc(2 * len + 1);
	assert_non_null(mine);
	for (i = 0; i < len; i++)
		snprintf(mine + 2 * i, 3, "%02x", sl->base[i]);
	if (memcmp(mine, hex, 2 * len) != 0) {
		for (i = 0; i < 2 * len && mine[i] == hex[i]; i++)
			;
		fail_msg("%s: first difference at byte %zu", c, i / 2);
	}
	free(mine);
	free(hex);
	shmbus_slots_close(sl);
	values_free(&vs);
	free(text);
}

static void test_c_creates_python_reads(void **state)
{
	(void)state;
	c_creates_python_reads("types");
	c_creates_python_reads("unicode");
	c_creates_python_reads("unicode-c"); /* text CPython itself would cut */
	c_creates_python_reads("empty");
	c_creates_python_reads("long");
	c_creates_python_reads("large");
}

static void test_python_creates_c_reads(void **state)
{
	(void)state;
	python_creates_c_reads("types");
	python_creates_c_reads("unicode");
	python_creates_c_reads("empty");
	python_creates_c_reads("long");
	python_creates_c_reads("large");
}

static void test_same_bytes_as_python(void **state)
{
	(void)state;
	same_bytes("types");
	same_bytes("empty");
	same_bytes("long");
	same_bytes("large");
}

/* One step of the type-change script: index, JSON value. */
static const struct {
	int index;
	const char *json;
} steps[] = {
	{ 0, "42" }, { 1, "\"str8byte\"" }, { 2, "null" }, { 3, "{\"bytes_hex\":\"7879\"}" },
	{ 4, "1.25" }, { 5, "true" }, { 0, "\"back\"" }, { -1, "-7" }, { -6, "false" },
	{ 2, "{\"bytes_hex\":\"\"}" }, { 1, "2.5" }, { 1, "\"again\"" }, { 6, "\"sixteen bytes ok\"" },
	{ 6, "{\"float\":\"nan\"}" }, { 6, "\"short\"" },
};
#define START "[\"hello\", 1, 2.5, null, true, {\"bytes_hex\": \"6162\"}, \"fifteen chars!!\"]"
#define FINAL "[\"back\", \"again\", {\"bytes_hex\": \"\"}, {\"bytes_hex\": \"7879\"}, 1.25, " \
	      "true, \"short\"]"

static void c_sets(const char *name)
{
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	const char *why;
	void *owned;
	size_t k;

	assert_int_equal(shmbus_slots_attach(&sl, name, 0), 0);
	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		json_t *j = json_loads(steps[k].json, JSON_DECODE_ANY, NULL);

		assert_int_equal(slot_json_parse(j, false, &v, &owned, &why), 0);
		assert_int_equal(shmbus_slots_set(sl, steps[k].index, &v), 0);
		free(owned);
		json_decref(j);
	}
	shmbus_slots_close(sl);
}

static void python_sets(const char *name)
{
	char idx[32];
	size_t k;

	for (k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		snprintf(idx, sizeof(idx), "%d", steps[k].index);
		assert_int_equal(peer_ok("set", name, idx, steps[k].json, NULL), 0);
	}
}

static void test_type_changes_both_ways(void **state)
{
	const char *c_list = tu_name("chg_c"), *py_list = tu_name("chg_py");
	struct shmbus_slots *a, *b;
	struct values start, final;

	(void)state;
	values_parse(START, &start);
	values_parse(FINAL, &final);
	/* C changes types in a list C made; Python reads the result.  Python
	 * changes them in a list Python made; C reads the result. */
	c_create(c_list, &start);
	c_sets(c_list);
	assert_int_equal(peer_ok("check", c_list, NULL, NULL, FINAL), 0);
	assert_int_equal(peer_ok("create", py_list, NULL, NULL, START), 0);
	python_sets(py_list);
	c_check(py_list, &final, false);
	/* Same script, both implementations: the same bytes. */
	assert_int_equal(shmbus_slots_attach(&a, c_list, 0), 0);
	assert_int_equal(shmbus_slots_attach(&b, py_list, 0), 0);
	assert_int_equal(a->lay.python_size, b->lay.python_size);
	assert_memory_equal(a->base, b->base, a->lay.python_size);
	shmbus_slots_close(a);
	shmbus_slots_close(b);
	assert_int_equal(shmbus_block_unlink(c_list), 0);
	assert_int_equal(shmbus_block_unlink(py_list), 0);
	/* Crossed over: Python changes a C list, C changes a Python list. */
	c_create(c_list, &start);
	python_sets(c_list);
	c_check(c_list, &final, true);
	assert_int_equal(peer_ok("create", py_list, NULL, NULL, START), 0);
	c_sets(py_list);
	assert_int_equal(peer_ok("check", py_list, NULL, NULL, FINAL), 0);
	values_free(&start);
	values_free(&final);
}

static void test_capacity_errors_both_ways(void **state)
{
	const char *c_list = tu_name("cap_c"), *py_list = tu_name("cap_py");
	struct shmbus_slot_value v = shmbus_slot_str("123456789");
	struct shmbus_slots *sl;
	struct values start;
	char *out;

	(void)state;
	values_parse(START, &start);
	/* Python refuses a too-long str in a list C made; nothing changes. */
	c_create(c_list, &start);
	assert_int_equal(peer("set", c_list, "0", "\"123456789\"", NULL, &out), 3);
	assert_string_equal(out, "ValueError\n");
	free(out);
	assert_int_equal(peer("set", c_list, "5", "{\"bytes_hex\":\"000102030405060708\"}",
			      NULL, &out), 3);
	assert_string_equal(out, "ValueError\n");
	free(out);
	c_check(c_list, &start, true);
	/* C refuses it in a list Python made; Python sees nothing changed. */
	assert_int_equal(peer_ok("create", py_list, NULL, NULL, START), 0);
	assert_int_equal(shmbus_slots_attach(&sl, py_list, 0), 0);
	assert_int_equal(shmbus_slots_set(sl, 0, &v), -EMSGSIZE);
	assert_int_equal(shmbus_slots_set(sl, 1, &v), -EMSGSIZE);
	/* And out of range is an error everywhere (Python's sl[-8] would read
	 * the format area of this 7-item list). */
	assert_int_equal(shmbus_slots_set(sl, -8, &v), -ERANGE);
	shmbus_slots_close(sl);
	assert_int_equal(peer_ok("check", py_list, NULL, NULL, START), 0);
	values_free(&start);
}

/* CPython sizes str slots by code points and cuts longer UTF-8: C reads
 * what Python reads, and refuses (-EILSEQ) exactly where Python's decode
 * raises. */
static void test_text_cpython_truncated(void **state)
{
	const char *name = tu_name("cut");
	char *text = case_text("unicode-c"), *out, idx[32], buf[4096];
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	struct values vs;
	size_t i;
	int rc, prc;

	(void)state;
	values_parse(text, &vs);
	assert_int_equal(peer_ok("create", name, NULL, NULL, text), 0);
	assert_int_equal(shmbus_slots_attach(&sl, name, 0), 0);
	for (i = 0; i < vs.n; i++) {
		snprintf(idx, sizeof(idx), "%zu", i);
		prc = peer("get", name, idx, NULL, NULL, &out);
		rc = shmbus_slots_get(sl, (int64_t)i, &v, buf, sizeof(buf));
		if (prc == 3) {
			assert_string_equal(out, "UnicodeDecodeError\n");
			assert_int_equal(rc, -EILSEQ);
		} else {
			json_t *j = slot_value_json(&v);
			char *mine = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
			json_t *theirs = json_loads(out, JSON_DECODE_ANY, NULL);

			assert_int_equal(prc, 0);
			assert_int_equal(rc, 0);
			assert_true(json_equal(j, theirs));
			/* ... and it is shorter than what was stored. */
			assert_true(v.u.s.len < vs.v[i].u.s.len);
			free(mine);
			json_decref(j);
			json_decref(theirs);
		}
		free(out);
	}
	shmbus_slots_close(sl);
	values_free(&vs);
	free(text);
}

static void test_format_matches_python(void **state)
{
	const char *name = tu_name("fmt");
	char *text = case_text("types"), *out, fmt[512];
	struct shmbus_slots *sl;
	struct values vs;

	(void)state;
	values_parse(text, &vs);
	assert_int_equal(shmbus_slots_create(&sl, name, vs.v, vs.n, 0), 0);
	assert_true(shmbus_slots_format(sl, fmt, sizeof(fmt)) < (int64_t)sizeof(fmt));
	strcat(fmt, "\n");
	assert_int_equal(peer("format", name, NULL, NULL, NULL, &out), 0);
	assert_string_equal(out, fmt);
	free(out);
	shmbus_slots_close(sl);
	values_free(&vs);
	free(text);
}

static int setup(void **state)
{
	(void)state;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_c_creates_python_reads, tu_teardown),
		cmocka_unit_test_teardown(test_python_creates_c_reads, tu_teardown),
		cmocka_unit_test_teardown(test_same_bytes_as_python, tu_teardown),
		cmocka_unit_test_teardown(test_type_changes_both_ways, tu_teardown),
		cmocka_unit_test_teardown(test_capacity_errors_both_ways, tu_teardown),
		cmocka_unit_test_teardown(test_text_cpython_truncated, tu_teardown),
		cmocka_unit_test_teardown(test_format_matches_python, tu_teardown),
	};

	if (!tu_python()) {
		fprintf(stderr, "no python3: skipped\n");
		return TU_SKIP;
	}
	return cmocka_run_group_tests_name("interop_slots", tests, setup, NULL);
}
