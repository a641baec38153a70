/*
 * test_tool_polish.c - what the tool tells people: errors that name what a
 * block is, timeouts that say after how long, bad names and bad options as
 * usage errors with one message, every subcommand's own --help, ls in human
 * units with names that cannot drive the terminal, and a readable inspect.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include <jansson.h>

#include "testutil.h"

static size_t lines_of(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_kind_named(void **state)
{
	char *err = NULL;
	const char *slots = tu_name("ks"), *mpmc = tu_name("km"), *raw = tu_name("kr");

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "slots", slots, "--values", "[1]", NULL), 0);
	assert_int_equal(tu_cli(NULL, NULL, "create", "mpmc", mpmc, "--slots", "4", "--slot-size", "8",
			     NULL), 0);
	assert_int_equal(tu_cli(NULL, NULL, "create", "block", raw, "--size", "64", NULL), 0);
	assert_int_equal(tu_cli(NULL, &err, "sub", slots, "--timeout-ms", "0", NULL), 1);
	assert_non_null(strstr(err, "is a slot table, not a ring"));
	assert_null(strstr(err, "magic"));
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "pub", raw, NULL), 1);
	assert_non_null(strstr(err, "is a raw block"));
	assert_non_null(strstr(err, "not a ring"));
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "get", mpmc, "0", NULL), 1);
	assert_non_null(strstr(err, "is an mpmc ring, not a slot table"));
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "set", mpmc, "0", "1", NULL), 1);
	assert_non_null(strstr(err, "is an mpmc ring, not a slot table"));
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "get", raw, "0", NULL), 1);
	assert_non_null(strstr(err, "is a raw block"));
	assert_null(strstr(err, "corrupt"));
	free(err);
}

static void test_timeout_says_how_long(void **state)
{
	char *err = NULL;
	const char *q = tu_name("tq");

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "spsc", q, "--capacity", "64", NULL), 0);
	assert_int_equal(tu_cli(NULL, &err, "sub", q, "--count", "1", "--timeout-ms", "30", NULL), 1);
	assert_non_null(strstr(err, "timed out after 0 of 1 messages (nothing for 30 ms)"));
	assert_null(strstr(err, "Connection"));
	free(err);
}

static void test_bad_names_are_usage(void **state)
{
	static const char *const bad[] = { "", "/a/b", "a/b" };
	char *err = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *n = bad[i];

		assert_int_equal(tu_cli(NULL, NULL, "inspect", n, NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "watch", n, "--count", "1", NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "get", n, "0", NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "set", n, "0", "1", NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "sub", n, NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "pub", n, NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "rm", n, NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "create", "spsc", n, NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "create", "mpmc", n, "--slots", "4", "--slot-size",
				     "8", NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "create", "broadcast", n, "--capacity", "4096",
				     NULL), 2);
		assert_int_equal(tu_cli(NULL, NULL, "create", "slots", n, "--values", "[1]", NULL), 2);
		assert_int_equal(tu_cli(NULL, &err, "create", "block", n, "--size", "64", NULL), 2);
		assert_non_null(strstr(err, "bad block name"));
		free(err);
	}
}

static void test_bad_option_one_error(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(tu_cli(&out, &err, "ls", "--bogus", NULL), 2);
	assert_string_equal(out, "");
	/* one error naming the option, and where to look */
	assert_int_equal(lines_of(err), 2);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	assert_non_null(strstr(err, "see 'shmbus ls --help'"));
	free(out);
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "gc", "--idle-for", NULL), 2);
	assert_int_equal(lines_of(err), 2);
	assert_non_null(strstr(err, "'--idle-for' needs a value"));
	free(err);
	assert_int_equal(tu_cli(NULL, &err, "inspect", "-x", "name", NULL), 2);
	assert_int_equal(lines_of(err), 2);
	assert_non_null(strstr(err, "unknown option '-x'"));
	free(err);
}

static void test_every_help_is_its_own(void **state)
{
	static const char *const cmds[] = { "ls", "inspect", "watch", "create", "rm", "gc",
					    "get", "set", "pub", "sub" };
	static const char *const kinds[] = { "block", "spsc", "mpmc", "broadcast", "slots" };
	char *out = NULL, want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(tu_cli(&out, NULL, cmds[i], "--help", NULL), 0);
		snprintf(want, sizeof(want), "usage: shmbus %s", cmds[i]);
		assert_non_null(strstr(out, want));
		free(out);
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(tu_cli(&out, NULL, "create", kinds[i], "--help", NULL), 0);
		snprintf(want, sizeof(want), "usage: shmbus create %s NAME", kinds[i]);
		assert_non_null(strstr(out, want));
		free(out);
	}
}

/* The row of @name in `ls` output @out (up to its newline), copied. */
static char *row_of(const char *out, const char *name)
{
	const char *p = strstr(out, name), *end;

	if (!p)
		return NULL;
	end = strchr(p, '\n');
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static void test_ls_human(void **state)
{
	char *out = NULL, *row, evil[300];
	const char *q = tu_name("lq"), *sl = tu_name("lsl");
	int fd;

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "spsc", q, "--capacity", "64K", NULL), 0);
	assert_int_equal(tu_cli(NULL, NULL, "create", "slots", sl, "--values", "[1]", NULL), 0);
	/* A name any local user can make: an escape sequence and a newline. */
	snprintf(evil, sizeof(evil), "/dev/shm/%s\033[2J\nfake row", tu_name("evil"));
	fd = open(evil, O_CREAT | O_EXCL | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);

	assert_int_equal(tu_cli(&out, NULL, "ls", NULL), 0);
	assert_non_null(strstr(out, "AGE "));
	row = row_of(out, q);
	assert_non_null(row);
	assert_non_null(strstr(row, " 65K ")); /* 64K of ring + its header */
	assert_non_null(strstr(row, " no ")); /* ALIVE: its creator is dead */
	assert_non_null(strstr(row, "keep persistent"));
	free(row);
	row = row_of(out, sl);
	assert_non_null(row);
	assert_non_null(strstr(row, " no ")); /* our slot tables have an ALIVE */
	free(row);
	/* The name is escaped: no ESC byte, no line of its own. */
	assert_null(strchr(out, '\033'));
	assert_non_null(strstr(out, "\\x1b[2J\\x0afake row"));
	free(out);
	assert_int_equal(tu_cli(&out, NULL, "ls", "--bytes", NULL), 0);
	row = row_of(out, q);
	assert_non_null(row);
	assert_non_null(strstr(row, " 66560 "));
	free(row);
	free(out);
	unlink(evil);
}

static void test_inspect_readable(void **state)
{
	char *out = NULL;
	const char *q = tu_name("iq");

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "spsc", q, NULL), 0);
	assert_int_equal(tu_cli(&out, NULL, "inspect", q, NULL), 0);
	/* What it is first, then who, then what gc does, then the ring. */
	assert_true(strncmp(out, q, strlen(q)) == 0);
	assert_non_null(strstr(out, "(kind: spsc, 65K = 66560 bytes, mode 0600"));
	assert_non_null(strstr(out, "by pid"));
	assert_non_null(strstr(out, "gc keeps it (persistent)"));
	assert_non_null(strstr(out, "participants: none"));
	assert_true(strstr(out, "gc keeps it") < strstr(out, "\nring:"));
	/* The ring in reading order, not alphabetical: size, traffic, end,
	 * holders, positions, waits. */
	assert_true(strstr(out, "  capacity:") < strstr(out, "  msgs_in:"));
	assert_true(strstr(out, "  msgs_in:") < strstr(out, "  bytes_in:"));
	assert_true(strstr(out, "  bytes_in:") < strstr(out, "  eos:"));
	assert_true(strstr(out, "  eos:") < strstr(out, "  head:"));
	assert_true(strstr(out, "  head:") < strstr(out, "  empty_waits:"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kind_named, tu_teardown),
		cmocka_unit_test_teardown(test_timeout_says_how_long, tu_teardown),
		cmocka_unit_test_teardown(test_bad_names_are_usage, tu_teardown),
		cmocka_unit_test_teardown(test_bad_option_one_error, tu_teardown),
		cmocka_unit_test_teardown(test_every_help_is_its_own, tu_teardown),
		cmocka_unit_test_teardown(test_ls_human, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_readable, tu_teardown),
	};

	return cmocka_run_group_tests_name("tool_polish", tests, NULL, NULL);
}
