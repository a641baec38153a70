/*
 * test_framing_tool.c - `shmbus pub/sub --framing len32` for real, through a
 * shell pipeline: binary messages (NUL bytes, newlines, an empty one, one
 * of every byte value) go through every ring kind byte for byte; a
 * malformed len32 stream (cut in a length, cut in a payload, a length above
 * 1 GiB) is a clear error (status 1) after the messages before it; a bad
 * --framing is bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define T0(in, out, err, ...) \
	tu_run((const char *const[]){ tu_tool(), __VA_ARGS__, NULL }, in, out, err)

/* Run @cmd with /bin/sh; returns its status, stderr in *@err if not NULL. */
static int sh(const char *cmd, char **err)
{
	return tu_run((const char *const[]){ "/bin/sh", "-c", cmd, NULL }, NULL, NULL, err);
}

static void put_len32(FILE *f, const void *data, uint32_t len)
{
	unsigned char h[4] = { (unsigned char)len, (unsigned char)(len >> 8),
			       (unsigned char)(len >> 16), (unsigned char)(len >> 24) };

	assert_int_equal(fwrite(h, 1, 4, f), 4);
	assert_int_equal(fwrite(data, 1, len, f), len);
}

/* A file of len32 messages: binary ones, an empty one, all 256 bytes. */
static void write_binary_stream(const char *path)
{
	unsigned char all[256];
	FILE *f = fopen(path, "wb");
	int i;

	assert_non_null(f);
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	put_len32(f, "a\0b", 3);
	put_len32(f, "", 0);
	put_len32(f, "\n\n", 2);
	put_len32(f, all, sizeof(all));
	put_len32(f, "\0", 1);
	fclose(f);
}

static void test_round_trip(void **state)
{
	static const char *const kinds[][6] = {
		{ "spsc", "--capacity", "4K", NULL },
		{ "mpmc", "--slots", "8", "--slot-size", "512", NULL },
		{ "broadcast", "--capacity", "4K", NULL },
	};
	char in[256], out[256], cmd[1024];
	size_t i;

	(void)state;
	snprintf(in, sizeof(in), "/tmp/%s.in", tu_name("fr"));
	snprintf(out, sizeof(out), "/tmp/%s.out", tu_name("fr"));
	write_binary_stream(in);
	for (i = 0; i < 3; i++) {
		const char *name = tu_name(kinds[i][0]);
		size_t la, lb;
		char *a, *b;

		assert_int_equal(T0(NULL, NULL, NULL, "create", kinds[i][0], name, kinds[i][1],
				    kinds[i][2], kinds[i][3] ? kinds[i][3] : "--mode",
				    kinds[i][3] ? kinds[i][4] : "0600"), 0);
		/* sub and pub at once; a broadcast sub that joins late starts at
		 * the oldest message, still in the ring (--from is for broadcast
		 * rings only); sub stops at the end of the stream pub closes */
		snprintf(cmd, sizeof(cmd),
			 "'%s' sub '%s' --framing len32 %s > '%s' & s=$!; "
			 "'%s' pub '%s' --framing len32 < '%s' && wait $s",
			 tu_tool(), name, i == 2 ? "--from oldest" : "", out, tu_tool(), name, in);
		assert_int_equal(sh(cmd, NULL), 0);
		a = tu_read_file(in, &la);
		b = tu_read_file(out, &lb);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		free(a);
		free(b);
	}
	unlink(in);
	unlink(out);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *bytes; /* printf(1) format */
		const char *why;
		int before;        /* messages published before the error */
	} bad[] = {
		{ "\\001\\000\\000\\000x\\002\\000", "inside a length prefix", 1 },
		{ "\\005\\000\\000\\000ab", "inside a message", 0 },
		{ "\\000\\000\\000\\000\\377\\377\\377\\377", "above 1 GiB", 1 },
	};
	const char *name = tu_name("bad");
	char cmd[1024], *err = NULL, want[64];
	size_t i;

	(void)state;
	assert_int_equal(T0(NULL, NULL, NULL, "create", "spsc", name), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out = NULL;

		snprintf(cmd, sizeof(cmd), "printf '%s' | '%s' pub '%s' --framing len32", bad[i].bytes,
			 tu_tool(), name);
		assert_int_equal(sh(cmd, &err), 1);
		assert_non_null(strstr(err, bad[i].why));
		snprintf(want, sizeof(want), "after %d messages", bad[i].before);
		assert_non_null(strstr(err, want));
		free(err);
		/* the messages before the error went through; the stream stays open */
		assert_int_equal(T0(NULL, &out, NULL, "sub", name, "--timeout-ms", "100"), 0);
		assert_int_equal(strlen(out), (size_t)bad[i].before * (i == 0 ? 2 : 1));
		free(out);
	}
	assert_int_equal(T0(NULL, NULL, &err, "pub", name, "--framing", "bin"), 2);
	assert_non_null(strstr(err, "bad --framing"));
	free(err);
	assert_int_equal(T0(NULL, NULL, NULL, "sub", name, "--framing", "x"), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_round_trip, tu_teardown),
		cmocka_unit_test_teardown(test_malformed, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
