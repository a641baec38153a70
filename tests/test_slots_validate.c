/*
 * test_slots_validate.c - blocks that are not well-formed lists: every
 * check of the count, the offsets, the formats and codes, and our trailer
 * gives its clear error at attach (never a crash, a hang or an
 * out-of-bounds read: run under ASan); random blocks never crash attach or
 * snapshot, and are never taken for a list by inspect's probes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inspect/inspect_internal.h"
#include "slots/slots_internal.h"
#include "testutil.h"

/* The list every case starts from: [5, "hello", None] (N = 3, D = 24). */
#define N 3
#define D 24
#define OFF(i) (8 + 8 * (i))
#define DATA_OFF (8 * (N + 2))
#define FMT_OFF (DATA_OFF + D)
#define CODE_OFF (FMT_OFF + 8 * N)
#define PY_SIZE (CODE_OFF + N)

static unsigned char img[4096];
static size_t img_size;

/* A list made by shmbus: its bytes, Python's part and trailer. */
static void base_image(void)
{
	struct shmbus_slot_value vals[N] = { shmbus_slot_int(5), shmbus_slot_str("hello"),
					     shmbus_slot_none() };
	const char *name = tu_name("base");
	struct shmbus_slots *sl;
	struct shmbus_block *b;

	assert_int_equal(shmbus_slots_create(&sl, name, vals, N, 0), 0);
	assert_int_equal(sl->lay.python_size, PY_SIZE);
	shmbus_slots_close(sl);
	assert_int_equal(shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY), 0);
	img_size = shmbus_block_size(b);
	assert_true(img_size <= sizeof(img));
	assert_int_equal(shmbus_block_read(b, 0, img, img_size), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void put64(size_t off, int64_t v)
{
	memcpy(img + off, &v, 8);
}

/* Write img[0..size) as a new block and attach it as a list. */
static int attach_image(size_t size)
{
	const char *name = tu_name("img");
	struct shmbus_slots *sl;
	struct shmbus_block *b;
	int rc;

	assert_int_equal(shmbus_block_create(&b, name, size, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, img, size), 0);
	shmbus_block_close(b);
	rc = shmbus_slots_attach(&sl, name, 0);
	if (rc == 0)
		shmbus_slots_close(sl);
	assert_int_equal(shmbus_block_unlink(name), 0);
	return rc;
}

/* Python's part alone (as CPython lays it out): a valid list. */
static void test_valid_images(void **state)
{
	(void)state;
	base_image();
	assert_int_equal(attach_image(PY_SIZE), 0);
	assert_int_equal(attach_image(img_size), 0);
	/* Python's empty list: 16 bytes, N = 0, off[0] = 0. */
	memset(img, 0, 16);
	assert_int_equal(attach_image(16), 0);
}

static void test_bad_count(void **state)
{
	(void)state;
	base_image();
	assert_int_equal(attach_image(8), -SHMBUS_ECORRUPT);
	put64(0, -1);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	put64(0, INT64_MIN);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	put64(0, 1000);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ETRUNCATED);
	put64(0, INT64_MAX);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ETRUNCATED);
	/* One more item than there is room for formats and codes. */
	put64(0, N + 1);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
}

static void test_bad_offsets(void **state)
{
	(void)state;
	base_image();
	put64(OFF(0), 8);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(1), 4); /* not a multiple of 8 */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(2), 8); /* empty slot */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(2), 0); /* decreasing */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(3), INT64_MIN);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(3), INT64_MAX);
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(3), 16 + SHMBUS_SLOTS_CAPACITY_MAX + 8); /* slot too large */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	put64(OFF(3), 16 + 4096); /* past the end of the block */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ETRUNCATED);
	base_image();
	put64(OFF(3), D + 8); /* formats would end past the block */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ETRUNCATED);
}

static void test_truncated_block(void **state)
{
	(void)state;
	base_image();
	assert_int_equal(attach_image(PY_SIZE - 1), -SHMBUS_ETRUNCATED);
	assert_int_equal(attach_image(DATA_OFF), -SHMBUS_ETRUNCATED);
	assert_int_equal(attach_image(20), -SHMBUS_ETRUNCATED);
}

static void test_bad_formats_and_codes(void **state)
{
	static const char *const bad_fmts[] = {
		"z", "16s", "08s", "8s ", "Q", "xxxxxxx!", "?", "q\0\0\0\0\0\0x", "",
	};
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(bad_fmts) / sizeof(bad_fmts[0]); k++) {
		base_image();
		memset(img + FMT_OFF, 0, 8);
		memcpy(img + FMT_OFF, bad_fmts[k], k == 7 ? 8 : strlen(bad_fmts[k]));
		assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	}
	base_image();
	img[CODE_OFF] = 7;
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	img[CODE_OFF] = 0xff; /* -1 */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	/* Known format, code for another type. */
	base_image();
	img[CODE_OFF] = SHMBUS_SLOT_CODE_STR; /* "q" read as str */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	img[CODE_OFF + 2] = SHMBUS_SLOT_CODE_PLAIN; /* "xxxxxx?x" as a number */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	base_image();
	img[CODE_OFF + 1] = SHMBUS_SLOT_CODE_NONE; /* "8s" as None */
	assert_int_equal(attach_image(PY_SIZE), -SHMBUS_ECORRUPT);
	/* The same errors in our own (guarded) list. */
	base_image();
	img[CODE_OFF + 1] = 9;
	assert_int_equal(attach_image(img_size), -SHMBUS_ECORRUPT);
}

static void test_bad_trailer(void **state)
{
	const size_t t = (PY_SIZE + 7) & ~(size_t)7;
	struct slots_trailer tr;

	(void)state;
	base_image();
	assert_int_equal(img_size, t + sizeof(tr) + N * sizeof(struct slot_guard));
	memcpy(&tr, img + t, sizeof(tr));
	assert_memory_equal(tr.magic, SHMBUS_SLOTS_MAGIC, 8);

	((struct slots_trailer *)(void *)(img + t))->version = 2;
	assert_int_equal(attach_image(img_size), -SHMBUS_EVERSION);
	base_image();
	((struct slots_trailer *)(void *)(img + t))->byte_order = 0x04030201;
	assert_int_equal(attach_image(img_size), -SHMBUS_EBYTEORDER);
	base_image();
	((struct slots_trailer *)(void *)(img + t))->count = N + 1;
	assert_int_equal(attach_image(img_size), -SHMBUS_ECORRUPT);
	base_image();
	((struct slots_trailer *)(void *)(img + t))->python_size = PY_SIZE + 1;
	assert_int_equal(attach_image(img_size), -SHMBUS_ECORRUPT);
	base_image();
	((struct slots_trailer *)(void *)(img + t))->guard_size = 8;
	assert_int_equal(attach_image(img_size), -SHMBUS_ECORRUPT);
	/* Guards cut off. */
	base_image();
	assert_int_equal(attach_image(img_size - 1), -SHMBUS_ETRUNCATED);
	assert_int_equal(attach_image(t + 40), -SHMBUS_ETRUNCATED);
	/* Never published: N > 0 can only be stored after ready. */
	base_image();
	atomic_store(&((struct slots_trailer *)(void *)(img + t))->ready, 0);
	assert_int_equal(attach_image(img_size), -SHMBUS_ENOTREADY);
}

static void test_zero_count_that_is_no_list(void **state)
{
	(void)state;
	/* A raw zeroed block: N = 0 but not 16 bytes, no trailer.  Attach
	 * waits a moment for a creator, then says it is no list (another
	 * kind of block, not a damaged list). */
	memset(img, 0, sizeof(img));
	assert_int_equal(attach_image(4096), -SHMBUS_EKIND);
	assert_int_equal(attach_image(17), -SHMBUS_EKIND);
}

static void test_slot_corrupted_after_attach(void **state)
{
	struct shmbus_slot_value vals[N] = { shmbus_slot_int(5), shmbus_slot_str("hello"),
					     shmbus_slot_none() };
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char fmt[9], b[16];

	(void)state;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("late"), vals, N, 0), 0);
	memcpy(sl->base + FMT_OFF + 8, "9999999s", 8);
	assert_int_equal(shmbus_slots_get(sl, 1, &v, b, sizeof(b)), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_slots_format_at(sl, 1, fmt), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_slots_format(sl, fmt, sizeof(fmt)), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_slots_count(sl, &vals[0]), -SHMBUS_ECORRUPT);
	/* The other slots still read; a set repairs the bad one. */
	assert_int_equal(shmbus_slots_get(sl, 0, &v, b, sizeof(b)), 0);
	v = shmbus_slot_str("fixed");
	assert_int_equal(shmbus_slots_set(sl, 1, &v), 0);
	assert_int_equal(shmbus_slots_get(sl, 1, &v, b, sizeof(b)), 0);
	assert_string_equal(b, "fixed");
	shmbus_slots_close(sl);
}

static uint64_t rnd_state = 88172645463325252u;

static uint64_t rnd(void);

/* get/set decode formats from precomputed words; attach and inspect use
 * the plain rules: both must say the same for any format and code. */
static void test_fast_and_plain_decode_agree(void **state)
{
	static const char *const fmts[] = {
		"q", "d", "xxxxxxx?", "xxxxxx?x", "8s", "16s", "24s", "9999992s", "s", "08s",
		"", "Q", "xxxxxxxx", "8s\0\0\0\0\0x",
	};
	static const int8_t codes[] = { 0, 1, 2, 3, 4, -1, 127 };
	struct shmbus_slot_value vals[3] = { shmbus_slot_int(0), shmbus_slot_str("0123456789"),
					     shmbus_slot_str("x") };
	struct slot_copy c;
	struct shmbus_slots *sl;
	enum shmbus_slot_type t = SHMBUS_SLOT_NONE;
	char fmt[8];
	size_t f, k, i, r;
	int rc;

	(void)state;
	vals[2].capacity = SHMBUS_SLOTS_CAPACITY_MAX;
	assert_int_equal(shmbus_slots_create(&sl, tu_name("dec"), vals, 3, 0), 0);
	for (i = 0; i < 3; i++) {
		for (f = 0; f < sizeof(fmts) / sizeof(fmts[0]) + 50; f++) {
			memset(fmt, 0, sizeof(fmt));
			if (f < sizeof(fmts) / sizeof(fmts[0])) {
				memcpy(fmt, fmts[f], f == 13 ? 8 : strlen(fmts[f]));
			} else {
				for (r = 0; r < 8; r++)
					fmt[r] = (char)rnd();
			}
			for (k = 0; k < sizeof(codes); k++) {
				memcpy(sl->base + sl->lay.fmt_off + 8 * i, fmt, 8);
				sl->base[sl->lay.code_off + i] = (unsigned char)codes[k];
				rc = slot_decode(fmt, codes[k], slots_cap(sl, i), &t);
				assert_int_equal(slots_read(sl, i, &c, NULL, 0, false), 0);
				assert_int_equal(c.decode_rc, rc);
				if (rc == 0)
					assert_int_equal(c.type, t);
			}
		}
	}
	shmbus_slots_close(sl);
}

static uint64_t rnd(void)
{
	/* xorshift64 (Marsaglia 2003): deterministic, so failures replay. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Snapshot @size bytes of img from a memfd; returns the kind found. */
static enum shmbus_kind snap_kind(size_t size)
{
	struct shmbus_snapshot *snap;
	enum shmbus_kind kind;
	char *json;
	int fd = memfd_create("slots_fuzz", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, img, size), (ssize_t)size);
	assert_int_equal(snapshot_fd(fd, "fuzz", &snap), 0);
	close(fd);
	kind = snap->kind;
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(json);
	free(json);
	shmbus_snapshot_free(snap);
	return kind;
}

static void test_random_blocks(void **state)
{
	int rounds = tu_sanitized() ? 150 : 600, r;
	size_t k;

	(void)state;
	for (r = 0; r < rounds; r++) {
		size_t size = 16 + rnd() % 300;
		int rc;

		for (k = 0; k < size; k++)
			img[k] = (unsigned char)rnd();
		/* Half of them with a plausible count and offsets, so the
		 * deeper checks get random formats and codes. */
		if (r % 2) {
			uint64_t n = rnd() % 4;

			put64(0, (int64_t)n);
			for (k = 0; k <= n; k++)
				put64(OFF(k), (int64_t)(8 * k + (rnd() % 8 == 0 ? rnd() % 16 : 0)));
			size = 16 + 17 * n + 8 * n;
		}
		rc = attach_image(size);
		assert_true(rc == 0 || rc == -SHMBUS_ECORRUPT || rc == -SHMBUS_ETRUNCATED);
		/* Never taken for a list unless it is one. */
		if (snap_kind(size) != SHMBUS_KIND_UNKNOWN)
			assert_int_equal(rc, 0);
	}
	/* Our magic where a trailer would be, the rest random: "slots" with an
	 * error, never a crash. */
	base_image();
	for (k = PY_SIZE + 13; k < img_size; k++)
		img[k] = (unsigned char)rnd();
	assert_int_equal(snap_kind(img_size), SHMBUS_KIND_SLOTS);
	assert_int_not_equal(attach_image(img_size), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_valid_images, tu_teardown),
		cmocka_unit_test_teardown(test_bad_count, tu_teardown),
		cmocka_unit_test_teardown(test_bad_offsets, tu_teardown),
		cmocka_unit_test_teardown(test_truncated_block, tu_teardown),
		cmocka_unit_test_teardown(test_bad_formats_and_codes, tu_teardown),
		cmocka_unit_test_teardown(test_bad_trailer, tu_teardown),
		cmocka_unit_test_teardown(test_zero_count_that_is_no_list, tu_teardown),
		cmocka_unit_test_teardown(test_slot_corrupted_after_attach, tu_teardown),
		cmocka_unit_test_teardown(test_fast_and_plain_decode_agree, tu_teardown),
		cmocka_unit_test_teardown(test_random_blocks, tu_teardown),
	};

	return cmocka_run_group_tests_name("slots_validate", tests, NULL, NULL);
}
