/*
 * test_inspect.c - the public listing of /dev/shm and the UTF-8 form of
 * names (shmbus/inspect.h), as a program outside the library sees them:
 * every block, ours or not, by prefix, sorted, byte-exact names; nothing
 * that is not a regular file; names repaired to UTF-8 exactly where they are
 * not UTF-8.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

#define FFFD "\xef\xbf\xbd"

static void make_block(const char *name)
{
	struct shmbus_block *b;

	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	shmbus_block_close(b);
}

/* Blocks made by shmbus and a bare shm object alike, sorted by strcmp,
 * filtered by prefix; a subdirectory is not a block. */
static void test_list_by_prefix(void **state)
{
	char prefix[128], dir[256], raw[128];
	char **names = NULL;
	size_t n = 99;
	int fd;

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s", tu_name("ls_"));
	make_block(tu_name("ls_b2"));
	make_block(tu_name("ls_a1"));
	snprintf(raw, sizeof(raw), "%s", tu_name("ls_b3"));
	fd = shm_open(raw, O_CREAT | O_EXCL | O_RDWR, 0600); /* not ours: no header */
	assert_true(fd >= 0);
	close(fd);
	snprintf(dir, sizeof(dir), "%s/%sdir", SHMBUS_SHM_DIR, prefix);
	assert_int_equal(mkdir(dir, 0700), 0);

	assert_int_equal(shmbus_block_list(prefix, &names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], tu_name("ls_a1"));
	assert_string_equal(names[1], tu_name("ls_b2"));
	assert_string_equal(names[2], raw);
	shmbus_block_list_free(names, n);

	assert_int_equal(shmbus_block_list(tu_name("ls_b"), &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], tu_name("ls_b2"));
	assert_string_equal(names[1], raw);
	shmbus_block_list_free(names, n);

	assert_int_equal(shmbus_block_list(tu_name("ls_none"), &names, &n), 0);
	assert_int_equal(n, 0);
	shmbus_block_list_free(names, n);
	shmbus_block_list_free(NULL, 0);

	assert_int_equal(rmdir(dir), 0);
}

/* NULL and "" list everything: our blocks are among them, in order. */
static void test_list_everything(void **state)
{
	const char *prefixes[] = { NULL, "" };
	char **names;
	size_t n, i, k, found;

	(void)state;
	make_block(tu_name("all_1"));
	make_block(tu_name("all_2"));
	for (k = 0; k < 2; k++) {
		assert_int_equal(shmbus_block_list(prefixes[k], &names, &n), 0);
		found = 0;
		for (i = 0; i < n; i++) {
			assert_int_equal(shmbus_name_check(names[i]), 0);
			assert_true(names[i][0] != '/');
			if (i)
				assert_true(strcmp(names[i - 1], names[i]) < 0);
			if (strcmp(names[i], tu_name("all_1")) == 0 ||
			    strcmp(names[i], tu_name("all_2")) == 0)
				found++;
		}
		assert_int_equal(found, 2);
		shmbus_block_list_free(names, n);
	}
}

/* A block that is gone is gone from the next list (each call reads the
 * directory again). */
static void test_list_follows_unlink(void **state)
{
	char **names;
	size_t n;

	(void)state;
	make_block(tu_name("gone"));
	assert_int_equal(shmbus_block_list(tu_name("gone"), &names, &n), 0);
	assert_int_equal(n, 1);
	shmbus_block_list_free(names, n);
	assert_int_equal(shmbus_block_unlink(tu_name("gone")), 0);
	assert_int_equal(shmbus_block_list(tu_name("gone"), &names, &n), 0);
	assert_int_equal(n, 0);
	shmbus_block_list_free(names, n);
}

static void test_list_bad_args(void **state)
{
	char **names = (char **)&names;
	size_t n = 7;

	(void)state;
	assert_int_equal(shmbus_block_list(NULL, NULL, &n), -EINVAL);
	assert_int_equal(shmbus_block_list(NULL, &names, NULL), -EINVAL);
	assert_int_equal(n, 7);
	assert_ptr_equal(names, (char **)&names);
}

/* A name that is not UTF-8 is listed byte for byte; shmbus_name_utf8()
 * gives the form snapshots report, which is the snapshot's "name". */
static void test_list_non_utf8_name(void **state)
{
	struct shmbus_snapshot *snap;
	char name[128], want[160], *fixed, *text;
	json_t *doc;
	char **names;
	size_t n;

	(void)state;
	snprintf(name, sizeof(name), "%s\xff" "x", tu_name("bin"));
	make_block(name);
	assert_int_equal(shmbus_block_list(tu_name("bin"), &names, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], name);
	shmbus_block_list_free(names, n);

	assert_int_equal(shmbus_name_utf8(name, &fixed), 0);
	snprintf(want, sizeof(want), "%s" FFFD "x", tu_name("bin"));
	assert_string_equal(fixed, want);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	text = shmbus_snapshot_json(snap, 0);
	assert_non_null(text);
	doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "name")), fixed);
	json_decref(doc);
	free(text);
	free(fixed);
	shmbus_snapshot_free(snap);
}

static void check_utf8(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(shmbus_name_utf8(in, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

/* Well-formed UTF-8 as Unicode's table 3-7 defines it passes unchanged;
 * every other byte becomes one U+FFFD. */
static void test_name_utf8(void **state)
{
	char *out = (char *)"untouched";

	(void)state;
	check_utf8("", "");
	check_utf8("plain_ascii", "plain_ascii");
#define VALID "caf\xc3\xa9_\xe2\x82\xac_\xf0\x9f\x98\x80" /* 2, 3 and 4 bytes */
	check_utf8(VALID, VALID);
	check_utf8("\xff", FFFD);
	check_utf8("a\xfe" "b", "a" FFFD "b");
	check_utf8("\xc0\xaf", FFFD FFFD);                 /* overlong '/' */
	check_utf8("\xe0\x80\xaf", FFFD FFFD FFFD);        /* overlong, 3 bytes */
	check_utf8("\xed\xa0\x80", FFFD FFFD FFFD);        /* surrogate U+D800 */
	check_utf8("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	check_utf8("a\xe2\x82", "a" FFFD FFFD);            /* cut short at the end */
	check_utf8("\xe2\x82" "a", FFFD FFFD "a");         /* cut short by ASCII */
	check_utf8("\x80\xbf", FFFD FFFD);                 /* lone continuations */
	assert_int_equal(shmbus_name_utf8(NULL, &out), -EINVAL);
	assert_int_equal(shmbus_name_utf8("x", NULL), -EINVAL);
	assert_string_equal(out, "untouched");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_list_by_prefix, tu_teardown),
		cmocka_unit_test_teardown(test_list_everything, tu_teardown),
		cmocka_unit_test_teardown(test_list_follows_unlink, tu_teardown),
		cmocka_unit_test_teardown(test_list_bad_args, tu_teardown),
		cmocka_unit_test_teardown(test_list_non_utf8_name, tu_teardown),
		cmocka_unit_test_teardown(test_name_utf8, tu_teardown),
	};

	return cmocka_run_group_tests_name("inspect", tests, NULL, NULL);
}
