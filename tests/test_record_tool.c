/*
 * test_record_tool.c - the real `shmbus record` and `shmbus replay`, each a
 * process of its own: binary messages (NUL bytes, an empty one, every byte
 * value) recorded from an spsc and a broadcast ring and replayed into
 * another ring come out byte for byte; --speed keeps the recorded pace (a
 * file written here, to the documented format, with 200 ms gaps: replay
 * takes at least that long, a lower bound only); truncated, bit-flipped and
 * padded files are rejected with a clear error and publish nothing;
 * SIGINT ends a recording with a complete file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define T0(in, out, err, ...) \
	tu_run((const char *const[]){ tu_tool(), __VA_ARGS__, NULL }, in, out, err)

static int sh(const char *cmd, char **err)
{
	return tu_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL }, NULL, NULL, err);
}

static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The len32 stream of the test messages. */
static size_t test_stream(unsigned char *out)
{
	static const struct {
		const char *data;
		uint32_t len;
	} msgs[] = { { "a\0b", 3 }, { "", 0 }, { "\n\n", 2 }, { "\0", 1 } };
	size_t n = 0, i;

	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		put_le(out + n, msgs[i].len, 4);
		memcpy(out + n + 4, msgs[i].data, msgs[i].len);
		n += 4 + msgs[i].len;
	}
	put_le(out + n, 256, 4);
	for (i = 0; i < 256; i++)
		out[n + 4 + i] = (unsigned char)i;
	return n + 4 + 256;
}

static void path_of(char *buf, size_t size, const char *what)
{
	snprintf(buf, size, "/tmp/%s", tu_name(what));
}

/* What a ring holds until its stream ends, as a len32 stream, compared with
 * the file @want. */
static void ring_holds(const char *name, const char *want, const char *scratch)
{
	char cmd[1024];
	size_t la, lb;
	char *a, *b;

	snprintf(cmd, sizeof(cmd), "'%s' sub '%s' --framing len32 --timeout-ms 2000 > '%s'",
		 tu_tool(), name, scratch);
	assert_int_equal(sh(cmd, NULL), 0);
	a = tu_read_file(want, &la);
	b = tu_read_file(scratch, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
}

static void test_round_trip(void **state)
{
	const char *src = tu_name("src"), *dst = tu_name("dst"), *bc = tu_name("bc");
	char in[256], rec[256], rec2[256], out[256], cmd[2048];
	unsigned char stream[1024];

	(void)state;
	path_of(in, sizeof(in), "in");
	path_of(rec, sizeof(rec), "rec");
	path_of(rec2, sizeof(rec2), "rec2");
	path_of(out, sizeof(out), "out");
	spit(in, stream, test_stream(stream));
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", src, "--capacity", "4K"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "mpmc", dst, "--slots", "16",
			    "--slot-size", "512"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "broadcast", bc, "--capacity", "4K"), 0);

	/* spsc: pub (closes the stream), record until the end of it */
	snprintf(cmd, sizeof(cmd), "'%s' pub '%s' --framing len32 < '%s' && '%s' record '%s' '%s'",
		 tu_tool(), src, in, tu_tool(), src, rec);
	assert_int_equal(sh(cmd, NULL), 0);
	/* replay into an mpmc ring; a sub there gets the same bytes */
	assert_int_equal(T0(NULL, NULL, NULL, "replay", rec, dst), 0);
	ring_holds(dst, in, out);

	/* broadcast: the recorder subscribes from the oldest message, so it
	 * gets everything whether it joins before pub or after */
	snprintf(cmd, sizeof(cmd),
		 "'%s' record '%s' '%s' --from oldest & r=$!; "
		 "'%s' pub '%s' --framing len32 < '%s' && wait $r",
		 tu_tool(), bc, rec2, tu_tool(), bc, in);
	assert_int_equal(sh(cmd, NULL), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "replay", rec2, src), 0);
	ring_holds(src, in, out);

	/* replay --keep-open leaves the stream open: a sub then times out */
	assert_int_equal(T0(NULL, NULL, NULL, "replay", rec, src, "--keep-open"), 0);
	snprintf(cmd, sizeof(cmd), "'%s' sub '%s' --framing len32 --count 5 > '%s'", tu_tool(),
		 src, out);
	assert_int_equal(sh(cmd, NULL), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", src, "--timeout-ms", "100", "--count", "1"),
			 1);
	/* record refuses to overwrite a file */
	assert_int_equal(T0(NULL, NULL, NULL, "record", src, rec), 1);
	unlink(in);
	unlink(rec);
	unlink(rec2);
	unlink(out);
}

/* CRC-32 (IEEE), written again here from the format's description. */
static uint32_t crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
	}
	return ~crc;
}

/* A record file of @n one-byte messages @gap_ns apart, by the format. */
static size_t make_paced_file(unsigned char *f, int n, uint64_t gap_ns)
{
	size_t at = 32;
	int i;

	memcpy(f, "SHMBREC", 8);
	put_le(f + 8, 1, 4);
	put_le(f + 12, 32, 4);
	put_le(f + 16, 0, 8);
	put_le(f + 24, 0, 4);
	put_le(f + 28, crc32(0, f, 28), 4);
	for (i = 0; i < n; i++) {
		put_le(f + at, (uint64_t)i * gap_ns, 8);
		put_le(f + at + 8, 1, 4);
		f[at + 16] = (unsigned char)('a' + i);
		put_le(f + at + 12,
		       crc32(crc32(0, f + at, 12), f + at + 16, 1), 4);
		at += 17;
	}
	put_le(f + at, (uint64_t)n * gap_ns, 8);
	put_le(f + at + 8, 0xFFFFFFFFu, 4);
	put_le(f + at + 16, (uint64_t)n, 8);
	put_le(f + at + 24, 1, 8);
	put_le(f + at + 12, crc32(crc32(0, f + at, 12), f + at + 16, 16), 4);
	return at + 32;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_speed(void **state)
{
	const char *ring = tu_name("paced");
	unsigned char file[512];
	char path[256], *out = NULL;
	double t;

	(void)state;
	path_of(path, sizeof(path), "paced");
	/* three messages at 0, 200 and 400 ms */
	spit(path, file, make_paced_file(file, 3, 200000000));
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", ring), 0);
	t = now_s();
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring, "--speed", "1"), 0);
	assert_true(now_s() - t >= 0.4);
	t = now_s();
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring, "--speed", "4"), 0);
	assert_true(now_s() - t >= 0.1);
	/* a file written to the documented format replays its messages */
	assert_int_equal(T0(NULL, &out, NULL, "sub", ring, "--count", "3"), 0);
	assert_string_equal(out, "a\nb\nc\n");
	free(out);
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring, "--speed", "0"), 2);
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring, "--speed", "x"), 2);
	unlink(path);
}

/* Replaying @path fails with a clear error and publishes nothing. */
static void rejected(const char *path, const char *ring)
{
	char *err = NULL, *out = NULL;

	assert_int_equal(T0(NULL, NULL, &err, "replay", path, ring), 1);
	if (!strstr(err, "not a valid record file"))
		fail_msg("unexpected error: %s", err);
	free(err);
	err = NULL;
	if (T0(NULL, &out, &err, "sub", ring, "--timeout-ms", "20") != 0)
		fail_msg("sub after a rejected replay: %s", err);
	assert_string_equal(out, "");
	free(out);
	free(err);
}

static void test_corrupt(void **state)
{
	const char *ring = tu_name("victim");
	unsigned char file[512], bad[600];
	char path[256], cut[256];
	size_t len, i;

	(void)state;
	path_of(path, sizeof(path), "good");
	path_of(cut, sizeof(cut), "cut");
	len = make_paced_file(file, 4, 1000);
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", ring), 0);
	/* the good file is fine (and its messages are consumed) */
	spit(path, file, len);
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring, "--keep-open"), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", ring, "--count", "4"), 0);
	srand(12345);
	/* every truncation, and random single-byte changes */
	for (i = 0; i < len; i++) {
		spit(cut, file, i);
		rejected(cut, ring);
	}
	for (i = 0; i < 40; i++) {
		size_t at = (size_t)rand() % len;

		memcpy(bad, file, len);
		bad[at] ^= (unsigned char)(1 + rand() % 255);
		spit(cut, bad, len);
		rejected(cut, ring);
	}
	/* bytes after the end record; not a record file at all */
	memcpy(bad, file, len);
	bad[len] = 0;
	spit(cut, bad, len + 1);
	rejected(cut, ring);
	spit(cut, "hello\n", 6);
	rejected(cut, ring);
	unlink(path);
	unlink(cut);
}

static void test_interrupt(void **state)
{
	const char *ring = tu_name("live");
	char path[256], cmd[1024];
	unsigned char stream[1024];
	char in[256];

	(void)state;
	path_of(path, sizeof(path), "int");
	path_of(in, sizeof(in), "intin");
	spit(in, stream, test_stream(stream));
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", ring), 0);
	/* pub keeps the stream open: record stops on SIGINT only, and its
	 * file replays (complete, with every message it took) */
	snprintf(cmd, sizeof(cmd),
		 "'%s' pub '%s' --framing len32 --keep-open < '%s' && "
		 "{ '%s' record '%s' '%s' & r=$!; "
		 "until '%s' inspect '%s' --json | grep -q '\"msgs_out\": 5'; do sleep 0.05; done; "
		 "kill -INT $r; wait $r; }",
		 tu_tool(), ring, in, tu_tool(), ring, path, tu_tool(), ring);
	assert_int_equal(sh(cmd, NULL), 0);
	assert_int_equal(T0(NULL, NULL, NULL, "replay", path, ring), 0);
	snprintf(cmd, sizeof(cmd), "'%s' sub '%s' --framing len32 > '%s.out' && cmp '%s' '%s.out'",
		 tu_tool(), ring, path, in, path);
	assert_int_equal(sh(cmd, NULL), 0);
	snprintf(cmd, sizeof(cmd), "rm -f '%s' '%s.out' '%s'", path, path, in);
	assert_int_equal(sh(cmd, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_round_trip, tu_teardown),
		cmocka_unit_test_teardown(test_speed, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt, tu_teardown),
		cmocka_unit_test_teardown(test_interrupt, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
