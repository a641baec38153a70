/*
 * test_slots.c - the slot table in one process: every type, Python's rules
 * for type changes and capacity, negative indices without CPython's hole,
 * trailing-NUL stripping, UTF-8, count/index with Python's ==, format, the
 * seqlock between threads, and a C writer that dies mid-write.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slots/slots_internal.h"
#include "testutil.h"

static char buf[1 << 16];

static struct shmbus_slot_value get(const struct shmbus_slots *sl, int64_t i)
{
	struct shmbus_slot_value v;

	assert_int_equal(shmbus_slots_get(sl, i, &v, buf, sizeof(buf)), 0);
	return v;
}

static void assert_str(const struct shmbus_slots *sl, int64_t i, const char *want)
{
	struct shmbus_slot_value v = get(sl, i);

	assert_int_equal(v.type, SHMBUS_SLOT_STR);
	assert_int_equal(v.u.s.len, strlen(want));
	assert_memory_equal(v.u.s.data, want, strlen(want));
	assert_int_equal(((const char *)v.u.s.data)[v.u.s.len], '\0');
}

static void assert_int(const struct shmbus_slots *sl, int64_t i, int64_t want)
{
	struct shmbus_slot_value v = get(sl, i);

	assert_int_equal(v.type, SHMBUS_SLOT_INT);
	assert_true(v.u.i == want);
}

static void test_every_type_roundtrip(void **state)
{
	static const unsigned char raw[] = { 0, 1, 2, 0xff, 0 , 7 };
	struct shmbus_slot_value vals[] = {
		shmbus_slot_int(INT64_MIN), shmbus_slot_int(INT64_MAX), shmbus_slot_float(-0.0),
		shmbus_slot_float(1e-300), shmbus_slot_float(NAN), shmbus_slot_float(-INFINITY),
		shmbus_slot_bool(true), shmbus_slot_bool(false), shmbus_slot_none(),
		shmbus_slot_str(""), shmbus_slot_str("exactly8"), shmbus_slot_bytes(raw, 6),
		shmbus_slot_bytes(NULL, 0),
	};
	const size_t n = sizeof(vals) / sizeof(vals[0]);
	const char *name = tu_name("types");
	struct shmbus_slots *sl, *sl2;
	struct shmbus_slot_value v;
	size_t i;

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, name, vals, n, 0), 0);
	assert_int_equal(shmbus_slots_len(sl), n);
	assert_true(shmbus_slots_guarded(sl));
	assert_string_equal(shmbus_slots_name(sl), name);
	assert_int_equal(shmbus_slots_attach(&sl2, name, SHMBUS_ATTACH_RDONLY), 0);
	assert_int_equal(shmbus_slots_len(sl2), n);
	assert_true(shmbus_slots_guarded(sl2));
	for (i = 0; i < n; i++) {
		v = get(sl2, (int64_t)i);
		assert_int_equal(v.type, vals[i].type);
		if (v.type == SHMBUS_SLOT_FLOAT && isnan(vals[i].u.f))
			assert_true(isnan(v.u.f));
		else
			assert_true(slot_value_equal(&v, &vals[i]));
	}
	v = get(sl2, 2);
	assert_true(signbit(v.u.f)); /* -0.0 keeps its sign */
	/* Capacities: Python's rule, 8 * (len / 8 + 1) for str and bytes. */
	assert_int_equal(shmbus_slots_capacity(sl2, 0), 8);
	assert_int_equal(shmbus_slots_capacity(sl2, 9), 8);
	assert_int_equal(shmbus_slots_capacity(sl2, 10), 16);
	assert_int_equal(shmbus_slots_capacity(sl2, 11), 8);
	assert_int_equal(get(sl2, 10).capacity, 16);
	assert_int_equal(shmbus_slots_set(sl2, 0, &vals[1]), -EROFS);
	shmbus_slots_close(sl2);
	shmbus_slots_close(sl);
}

static void test_negative_and_out_of_range_indices(void **state)
{
	struct shmbus_slot_value vals[] = { shmbus_slot_int(10), shmbus_slot_int(20),
					    shmbus_slot_int(30) };
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char fmt[9];
	int64_t bad[] = { 3, 4, -4, -5, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
	size_t k;

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("idx"), vals, 3, 0), 0);
	assert_int(sl, -1, 30);
	assert_int(sl, -3, 10);
	assert_int(sl, 1, 20);
	assert_int_equal(shmbus_slots_set(sl, -2, &vals[2]), 0);
	assert_int(sl, 1, 30);
	/* Python's sl[-N-1] reads the format area; ours is an error at every
	 * index outside [-N, N-1]. */
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(shmbus_slots_get(sl, bad[k], &v, buf, sizeof(buf)), -ERANGE);
		assert_int_equal(shmbus_slots_set(sl, bad[k], &vals[0]), -ERANGE);
		assert_int_equal(shmbus_slots_capacity(sl, bad[k]), -ERANGE);
		assert_int_equal(shmbus_slots_format_at(sl, bad[k], fmt), -ERANGE);
	}
	shmbus_slots_close(sl);
}

static void test_type_changes_and_capacity(void **state)
{
	struct shmbus_slot_value vals[] = { shmbus_slot_str("hello"), shmbus_slot_int(1),
					    shmbus_slot_bytes("abcdefghij", 10) };
	struct shmbus_slot_value v, big = shmbus_slot_str("123456789"), nine;
	struct shmbus_slots *sl;
	char fmt[9];

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("chg"), vals, 3, 0), 0);
	assert_int_equal(shmbus_slots_format_at(sl, 0, fmt), 0);
	assert_string_equal(fmt, "8s");
	/* str -> int -> float -> bool -> None -> str, in one 8-byte slot. */
	v = shmbus_slot_int(-42);
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_int(sl, 0, -42);
	assert_int_equal(shmbus_slots_format_at(sl, 0, fmt), 0);
	assert_string_equal(fmt, "q");
	v = shmbus_slot_float(2.5);
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_true(get(sl, 0).type == SHMBUS_SLOT_FLOAT && get(sl, 0).u.f == 2.5);
	v = shmbus_slot_bool(true);
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_true(get(sl, 0).type == SHMBUS_SLOT_BOOL && get(sl, 0).u.b);
	assert_int_equal(shmbus_slots_format_at(sl, 0, fmt), 0);
	assert_string_equal(fmt, "xxxxxxx?");
	v = shmbus_slot_none();
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_int_equal(get(sl, 0).type, SHMBUS_SLOT_NONE);
	assert_int_equal(shmbus_slots_format_at(sl, 0, fmt), 0);
	assert_string_equal(fmt, "xxxxxx?x");
	v = shmbus_slot_str("8 bytes!");
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_str(sl, 0, "8 bytes!");
	/* Too long: refused, nothing changes. */
	assert_int_equal(shmbus_slots_set(sl, 0, &big), -EMSGSIZE);
	assert_str(sl, 0, "8 bytes!");
	/* An int slot takes a str of up to 8 bytes, as in Python. */
	v = shmbus_slot_str("int->s");
	assert_int_equal(shmbus_slots_set(sl, 1, &v), 0);
	assert_str(sl, 1, "int->s");
	assert_int_equal(shmbus_slots_format_at(sl, 1, fmt), 0);
	assert_string_equal(fmt, "8s");
	assert_int_equal(shmbus_slots_set(sl, 1, &big), -EMSGSIZE);
	assert_str(sl, 1, "int->s");
	/* bytes slot of 16: str of 16 fits exactly (no NUL left), 17 not. */
	v = shmbus_slot_str("0123456789abcdef");
	assert_int_equal(shmbus_slots_set(sl, 2, &v), 0);
	assert_str(sl, 2, "0123456789abcdef");
	v = shmbus_slot_str("0123456789abcdefg");
	assert_int_equal(shmbus_slots_set(sl, 2, &v), -EMSGSIZE);
	assert_str(sl, 2, "0123456789abcdef");
	assert_int_equal(shmbus_slots_format_at(sl, 2, fmt), 0);
	assert_string_equal(fmt, "16s");
	/* A shorter value replaces all of it (NUL-padded). */
	nine = shmbus_slot_bytes("xy", 2);
	assert_int_equal(shmbus_slots_set(sl, 2, &nine), 0);
	v = get(sl, 2);
	assert_int_equal(v.type, SHMBUS_SLOT_BYTES);
	assert_int_equal(v.u.s.len, 2);
	/* Bad types are refused before anything is written. */
	v.type = (enum shmbus_slot_type)77;
	assert_int_equal(shmbus_slots_set(sl, 2, &v), -EINVAL);
	shmbus_slots_close(sl);
}

static void test_reserved_capacity_and_limits(void **state)
{
	struct shmbus_slot_value vals[2] = { shmbus_slot_str("idle"), shmbus_slot_int(0) };
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char *big;

	(void)state;
	vals[0].capacity = 60; /* rounded up to 64 */
	vals[1].capacity = 24;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("cap"), vals, 2, 0), 0);
	assert_int_equal(shmbus_slots_capacity(sl, 0), 64);
	assert_int_equal(shmbus_slots_capacity(sl, 1), 24);
	assert_str(sl, 0, "idle");
	v = shmbus_slot_str("a much longer state name that still fits in 64");
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_str(sl, 0, v.u.s.data);
	v = shmbus_slot_str("twenty-four bytes exact!");
	assert_int_equal(shmbus_slots_set(sl, 1, &v), 0);
	assert_str(sl, 1, v.u.s.data);
	shmbus_slots_close(sl);

	/* "%ds" must fit 8 characters: 9999992 is the largest slot. */
	big = calloc(1, SHMBUS_SLOTS_CAPACITY_MAX + 1);
	assert_non_null(big);
	memset(big, 'z', SHMBUS_SLOTS_CAPACITY_MAX);
	v = shmbus_slot_str(big); /* would need 8 * (len / 8 + 1) = 10000000 */
	assert_int_equal(shmbus_slots_create(&sl, tu_name("huge"), &v, 1, 0), -EMSGSIZE);
	big[SHMBUS_SLOTS_CAPACITY_MAX - 1] = '\0';
	v = shmbus_slot_str(big);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("huge"), &v, 1, 0), 0);
	assert_int_equal(shmbus_slots_capacity(sl, 0), SHMBUS_SLOTS_CAPACITY_MAX);
	shmbus_slots_close(sl);
	free(big);
	v = shmbus_slot_int(1);
	v.capacity = SHMBUS_SLOTS_CAPACITY_MAX + 1;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("huge2"), &v, 1, 0), -EMSGSIZE);
	/* Failed creates leave nothing behind. */
	assert_int_equal(shmbus_block_unlink(tu_name("huge2")), -ENOENT);
}

static void test_trailing_nul_stripping(void **state)
{
	struct shmbus_slot_value vals[3] = { shmbus_slot_bytes("ab\0\0", 4),
					     shmbus_slot_bytes("a\0b", 3),
					     shmbus_slot_bytes("\0\0\0", 3) };
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;

	(void)state;
	vals[1].type = SHMBUS_SLOT_STR;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("nul"), vals, 3, 0), 0);
	/* As Python's rstrip(b"\0"): trailing NULs go, interior ones stay. */
	v = get(sl, 0);
	assert_int_equal(v.u.s.len, 2);
	v = get(sl, 1);
	assert_int_equal(v.type, SHMBUS_SLOT_STR);
	assert_int_equal(v.u.s.len, 3);
	assert_memory_equal(v.u.s.data, "a\0b", 3);
	v = get(sl, 2);
	assert_int_equal(v.u.s.len, 0);
	shmbus_slots_close(sl);
}

static void test_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\x80",
		"ab\xe2\x82", "\xf0\x9f\x98",
	};
	static const char *const good[] = {
		"h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80",
		"\xef\xbf\xbf", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
	};
	struct shmbus_slot_value v = shmbus_slot_str("placeholder....");
	struct shmbus_slots *sl, *other;
	size_t k;

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("utf8"), &v, 1, 0), 0);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct shmbus_slot_value b = shmbus_slot_str(bad[k]);

		assert_false(utf8_valid(bad[k], strlen(bad[k])));
		assert_int_equal(shmbus_slots_set(sl, 0, &b), -EILSEQ);
		assert_int_equal(shmbus_slots_create(&other, tu_name("utf8b"), &b, 1, 0), -EILSEQ);
		/* As bytes they are fine. */
		b.type = SHMBUS_SLOT_BYTES;
		assert_int_equal(shmbus_slots_set(sl, 0, &b), 0);
	}
	for (k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
		struct shmbus_slot_value g = shmbus_slot_str(good[k]);

		assert_int_equal(shmbus_slots_set(sl, 0, &g), 0);
		assert_str(sl, 0, good[k]);
	}
	/* Text sized by UTF-8 bytes: 7 x U+00E9 is 14 bytes, slot of 16
	 * (CPython would allocate 8 and cut it). */
	shmbus_slots_close(sl);
	v = shmbus_slot_str("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_int_equal(shmbus_slots_create(&sl, tu_name("utf8c"), &v, 1, 0), 0);
	assert_int_equal(shmbus_slots_capacity(sl, 0), 16);
	assert_str(sl, 0, v.u.s.data);
	/* A str slot whose bytes are not UTF-8 (written behind our back, as
	 * CPython's truncation does): get reports it. */
	memcpy(sl->base + sl->lay.data_off, "ab\xc3", 3);
	memset(sl->base + sl->lay.data_off + 3, 0, 13);
	assert_int_equal(shmbus_slots_get(sl, 0, &v, buf, sizeof(buf)), -EILSEQ);
	shmbus_slots_close(sl);
}

static void test_small_buffers(void **state)
{
	struct shmbus_slot_value vals[2] = { shmbus_slot_str("twelve chars"), shmbus_slot_int(5) };
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char small[12];

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("buf"), vals, 2, 0), 0);
	/* 12 bytes fit exactly (no room for a NUL: none is written). */
	memset(small, 'X', sizeof(small));
	assert_int_equal(shmbus_slots_get(sl, 0, &v, small, 12), 0);
	assert_int_equal(v.u.s.len, 12);
	assert_memory_equal(small, "twelve chars", 12);
	/* 11 do not: the length needed is reported. */
	assert_int_equal(shmbus_slots_get(sl, 0, &v, small, 11), -ENOBUFS);
	assert_int_equal(v.type, SHMBUS_SLOT_STR);
	assert_int_equal(v.u.s.len, 12);
	assert_int_equal(shmbus_slots_get(sl, 0, &v, NULL, 0), -ENOBUFS);
	/* Numbers need no buffer. */
	assert_int_equal(shmbus_slots_get(sl, 1, &v, NULL, 0), 0);
	assert_true(v.u.i == 5);
	assert_int_equal(shmbus_slots_get(sl, 1, &v, NULL, 3), -EINVAL);
	shmbus_slots_close(sl);
}

static void test_count_index_format(void **state)
{
	struct shmbus_slot_value vals[] = {
		shmbus_slot_int(1), shmbus_slot_float(1.0), shmbus_slot_bool(true),
		shmbus_slot_str("1"), shmbus_slot_bytes("1", 1), shmbus_slot_none(),
		shmbus_slot_float(NAN), shmbus_slot_int(0), shmbus_slot_bool(false),
		shmbus_slot_float(0.5), shmbus_slot_str("a longer string"), shmbus_slot_none(),
	};
	struct shmbus_slot_value q;
	struct shmbus_slots *sl;
	char fmt[256];

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("cnt"), vals, 12, 0), 0);
	/* Python: 1 == 1.0 == True; "1" != b"1"; nan != nan. */
	q = shmbus_slot_int(1);
	assert_int_equal(shmbus_slots_count(sl, &q), 3);
	assert_int_equal(shmbus_slots_index(sl, &q), 0);
	q = shmbus_slot_bool(true);
	assert_int_equal(shmbus_slots_count(sl, &q), 3);
	q = shmbus_slot_float(0.0);
	assert_int_equal(shmbus_slots_count(sl, &q), 2);
	assert_int_equal(shmbus_slots_index(sl, &q), 7);
	q = shmbus_slot_str("1");
	assert_int_equal(shmbus_slots_count(sl, &q), 1);
	assert_int_equal(shmbus_slots_index(sl, &q), 3);
	q = shmbus_slot_bytes("1", 1);
	assert_int_equal(shmbus_slots_index(sl, &q), 4);
	q = shmbus_slot_none();
	assert_int_equal(shmbus_slots_count(sl, &q), 2);
	assert_int_equal(shmbus_slots_index(sl, &q), 5);
	q = shmbus_slot_float(NAN);
	assert_int_equal(shmbus_slots_count(sl, &q), 0);
	assert_int_equal(shmbus_slots_index(sl, &q), -ENOENT);
	q = shmbus_slot_str("a longer string");
	assert_int_equal(shmbus_slots_index(sl, &q), 10);
	q = shmbus_slot_str("a longer strin");
	assert_int_equal(shmbus_slots_index(sl, &q), -ENOENT);
	q = shmbus_slot_float(0.5);
	assert_int_equal(shmbus_slots_index(sl, &q), 9);
	/* Exact int/float comparison, as Python: 2^53 + 1 != 2^53 as float. */
	assert_false(slot_value_equal(&(struct shmbus_slot_value){
						     .type = SHMBUS_SLOT_INT,
						     .u.i = (INT64_C(1) << 53) + 1 },
					     &(struct shmbus_slot_value){
						     .type = SHMBUS_SLOT_FLOAT,
						     .u.f = 9007199254740992.0 }));
	q = shmbus_slot_float(9223372036854775808.0);
	assert_false(slot_value_equal(&q, &vals[0]));

	assert_int_equal(shmbus_slots_format(sl, fmt, sizeof(fmt)),
			 strlen("qdxxxxxxx?8s8sxxxxxx?xdqxxxxxxx?d16sxxxxxx?x"));
	assert_string_equal(fmt, "qdxxxxxxx?8s8sxxxxxx?xdqxxxxxxx?d16sxxxxxx?x");
	/* snprintf-like truncation. */
	assert_int_equal(shmbus_slots_format(sl, fmt, 4), 44);
	assert_string_equal(fmt, "qdx");
	assert_int_equal(shmbus_slots_format(sl, NULL, 0), 44);
	shmbus_slots_close(sl);
}

static void test_empty_list(void **state)
{
	const char *name = tu_name("empty");
	struct shmbus_slots *sl, *sl2;
	struct shmbus_slot_value v = shmbus_slot_int(0);
	char fmt[4];

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, name, NULL, 0, 0), 0);
	assert_int_equal(shmbus_slots_attach(&sl2, name, 0), 0);
	assert_int_equal(shmbus_slots_len(sl2), 0);
	assert_true(shmbus_slots_guarded(sl2));
	assert_int_equal(shmbus_slots_format(sl2, fmt, sizeof(fmt)), 0);
	assert_string_equal(fmt, "");
	assert_int_equal(shmbus_slots_count(sl2, &v), 0);
	assert_int_equal(shmbus_slots_index(sl2, &v), -ENOENT);
	assert_int_equal(shmbus_slots_get(sl2, 0, &v, NULL, 0), -ERANGE);
	assert_int_equal(shmbus_slots_get(sl2, -1, &v, NULL, 0), -ERANGE);
	shmbus_slots_close(sl2);
	shmbus_slots_close(sl);
}

static void test_bad_arguments_and_kind(void **state)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_MPMC, .version = 1,
					.total_size = 4096 };
	struct shmbus_slot_value v = shmbus_slot_int(1);
	struct shmbus_slots *sl;
	struct shmbus_block *b;
	void *p;

	(void)state;
	assert_int_equal(shmbus_slots_create(NULL, tu_name("a"), &v, 1, 0), -EINVAL);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("a"), NULL, 1, 0), -EINVAL);
	assert_int_equal(shmbus_slots_create(&sl, "bad/name", &v, 1, 0), -EINVAL);
	assert_int_equal(shmbus_slots_attach(&sl, tu_name("missing"), 0), -ENOENT);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("dup"), &v, 1, 0), 0);
	shmbus_slots_close(sl);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("dup"), &v, 1, 0), -EEXIST);
	/* A shmbus ring is another kind, not "corrupt". */
	assert_int_equal(shmbus_block_create(&b, tu_name("ring"), 4096, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	header_init(p, &d);
	header_publish(p);
	shmbus_block_close(b);
	assert_int_equal(shmbus_slots_attach(&sl, tu_name("ring"), 0), -SHMBUS_EKIND);
	shmbus_slots_close(NULL); /* NULL is accepted */
}

/* Threads: one writer flips a 24-byte str between two "halves equal"
 * patterns while readers check every copy they get.  Under TSan this also
 * checks that every shared access is atomic. */
#define READS 20000

struct torn_ctx {
	struct shmbus_slots *sl;
	_Atomic int stop;
	_Atomic long reads;
	_Atomic int torn;
};

static void *torn_writer(void *arg)
{
	struct torn_ctx *c = arg;
	char val[25];
	long i;

	for (i = 0; !atomic_load(&c->stop); i++) {
		struct shmbus_slot_value v;

		memset(val, 'a' + (int)(i % 26), 12);
		memset(val + 12, 'a' + (int)(i % 26), 12);
		val[24] = '\0';
		v = shmbus_slot_str(val);
		if (i % 3 == 2)
			v = shmbus_slot_int((int64_t)((uint64_t)i << 32 | (uint32_t)i));
		/* No cmocka asserts off the main thread: record instead. */
		if (shmbus_slots_set(c->sl, 0, &v) != 0)
			atomic_store(&c->torn, 2);
	}
	return NULL;
}

static void *torn_reader(void *arg)
{
	struct torn_ctx *c = arg;
	char mine[64];
	long k;

	for (k = 0; k < READS; k++) {
		struct shmbus_slot_value v;

		if (shmbus_slots_get(c->sl, 0, &v, mine, sizeof(mine)) != 0) {
			atomic_store(&c->torn, 3);
			break;
		}
		if (v.type == SHMBUS_SLOT_STR) {
			if (v.u.s.len != 24 || memcmp(mine, mine + 12, 12) != 0)
				atomic_store(&c->torn, 1);
		} else if (v.type != SHMBUS_SLOT_INT ||
			   (uint32_t)((uint64_t)v.u.i >> 32) != (uint32_t)v.u.i) {
			atomic_store(&c->torn, 1);
		}
		atomic_fetch_add(&c->reads, 1);
	}
	return NULL;
}

static void test_threads_never_see_torn_values(void **state)
{
	struct shmbus_slot_value v = shmbus_slot_str("bbbbbbbbbbbbbbbbbbbbbbbb");
	struct torn_ctx c = { 0 };
	pthread_t w, r[2];
	int k;

	(void)state;
	assert_int_equal(shmbus_slots_create(&c.sl, tu_name("thr"), &v, 1, 0), 0);
	assert_int_equal(pthread_create(&w, NULL, torn_writer, &c), 0);
	for (k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&r[k], NULL, torn_reader, &c), 0);
	for (k = 0; k < 2; k++)
		pthread_join(r[k], NULL);
	atomic_store(&c.stop, 1);
	pthread_join(w, NULL);
	assert_int_equal(atomic_load(&c.torn), 0);
	assert_int_equal(atomic_load(&c.reads), 2 * READS);
	shmbus_slots_close(c.sl);
}

/* A child that waits to be killed. */
static int sleeper(void *arg)
{
	(void)arg;
	pause();
	return 0;
}

static void test_dead_writer_is_replaced(void **state)
{
	struct shmbus_slot_value v = shmbus_slot_str("before the crash"), got;
	struct slot_guard *g;
	struct shmbus_slots *sl;
	shmbus_ident_t dead;
	pid_t pid;

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("dead"), &v, 1, 0), 0);
	pid = tu_spawn(sleeper, NULL);
	assert_int_equal(shmbus_proc_ident(pid, &dead), 0);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	/* As if that process died in the middle of a write: slot claimed,
	 * sequence odd, half the bytes changed. */
	g = &sl->guards[0];
	atomic_store(&g->writer, dead);
	atomic_store(&g->seq, 7);
	memcpy(sl->base + sl->lay.data_off, "HALF", 4);
	assert_int_equal(shmbus_slots_get(sl, 0, &got, buf, sizeof(buf)), -SHMBUS_EPEERDEAD);
	/* The next writer takes the slot over and completes a whole write. */
	v = shmbus_slot_str("after recovery");
	assert_int_equal(shmbus_slots_set(sl, 0, &v), 0);
	assert_str(sl, 0, "after recovery");
	assert_int_equal(atomic_load(&g->seq), 8);
	assert_int_equal(atomic_load(&g->writer), 0);
	/* Odd with no writer at all is impossible: corrupt, not a hang. */
	atomic_store(&g->seq, 9);
	assert_int_equal(shmbus_slots_get(sl, 0, &got, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	shmbus_slots_close(sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_every_type_roundtrip, tu_teardown),
		cmocka_unit_test_teardown(test_negative_and_out_of_range_indices, tu_teardown),
		cmocka_unit_test_teardown(test_type_changes_and_capacity, tu_teardown),
		cmocka_unit_test_teardown(test_reserved_capacity_and_limits, tu_teardown),
		cmocka_unit_test_teardown(test_trailing_nul_stripping, tu_teardown),
		cmocka_unit_test_teardown(test_utf8, tu_teardown),
		cmocka_unit_test_teardown(test_small_buffers, tu_teardown),
		cmocka_unit_test_teardown(test_count_index_format, tu_teardown),
		cmocka_unit_test_teardown(test_empty_list, tu_teardown),
		cmocka_unit_test_teardown(test_bad_arguments_and_kind, tu_teardown),
		cmocka_unit_test_teardown(test_threads_never_see_torn_values, tu_teardown),
		cmocka_unit_test_teardown(test_dead_writer_is_replaced, tu_teardown),
	};

	return cmocka_run_group_tests_name("slots", tests, NULL, NULL);
}
