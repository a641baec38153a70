/*
 * test_open.c - what another local user can put under a block's name in
 * /dev/shm (a FIFO, a directory, a symbolic link, an empty file) and what
 * every open of a name then does: a prompt, distinct error in the library
 * (block attach read-only and read-write, snapshot, slot tables, rings) and
 * in the tool (inspect, get, set, watch, sub, pub), never a hang.  CTest's
 * TIMEOUT (see CMakeLists.txt) turns a hang into a failure; nothing here is
 * timed.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

enum plant { PLANT_FIFO, PLANT_DIR, PLANT_LINK, PLANT_EMPTY };

static const char *path_of(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s", SHMBUS_SHM_DIR, name);
	return path;
}

/* Put a @what under a fresh name; the link points at a real block (which
 * must not be reached through it). */
static const char *plant(enum plant what)
{
	static const char *const tag[] = { "fifo", "dir", "link", "empty" };
	const char *name = tu_name(tag[what]);
	struct shmbus_block *b;
	char target[512];
	int fd;

	switch (what) {
	case PLANT_FIFO:
		assert_int_equal(mkfifo(path_of(name), 0600), 0);
		break;
	case PLANT_DIR:
		assert_int_equal(mkdir(path_of(name), 0700), 0);
		break;
	case PLANT_LINK:
		assert_int_equal(shmbus_slots_create((struct shmbus_slots **)(void *)&b,
						     tu_name("target"), NULL, 0, 0), 0);
		shmbus_slots_close((struct shmbus_slots *)(void *)b);
		snprintf(target, sizeof(target), "%s", path_of(tu_name("target")));
		assert_int_equal(symlink(target, path_of(name)), 0);
		break;
	case PLANT_EMPTY:
		/* A block truncated to nothing. */
		assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
		shmbus_block_close(b);
		fd = open(path_of(name), O_RDWR | O_NOFOLLOW);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 0), 0);
		close(fd);
		break;
	}
	return name;
}

static void unplant(enum plant what, const char *name)
{
	if (what == PLANT_DIR)
		assert_int_equal(rmdir(path_of(name)), 0);
	else
		assert_int_equal(unlink(path_of(name)), 0);
}

static int want_code(enum plant what)
{
	switch (what) {
	case PLANT_LINK: return -SHMBUS_ESYMLINK;
	case PLANT_EMPTY: return -SHMBUS_EEMPTY;
	default: return -SHMBUS_ENOTREG;
	}
}

/* Every library path that opens a name; the planted kind is the state. */
static void library_refuses(void **state)
{
	enum plant what = *(const enum plant *)*state;
	const char *name = plant(what);
	int want = want_code(what);
	struct shmbus_snapshot *snap;
	struct shmbus_block *b;
	struct shmbus_slots *sl;
	struct shmbus_spsc *q;
	struct shmbus_mpmc *m;
	struct shmbus_bcast *bc;

	assert_int_equal(shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY), want);
	assert_int_equal(shmbus_block_attach(&b, name, 0), want);
	assert_int_equal(shmbus_snapshot_take(name, &snap), want);
	assert_int_equal(shmbus_slots_attach(&sl, name, SHMBUS_ATTACH_RDONLY), want);
	assert_int_equal(shmbus_slots_attach(&sl, name, 0), want);
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_CONSUMER), want);
	assert_int_equal(shmbus_mpmc_open(&m, name, SHMBUS_MPMC_CONSUMER), want);
	assert_int_equal(shmbus_bcast_subscribe(&bc, name, SHMBUS_BCAST_FROM_NEWEST), want);
	unplant(what, name);
}

/* A manager asked to track a planted name refuses it, never hangs. */
static void test_manager_track(void **state)
{
	static const enum plant kinds[] = { PLANT_FIFO, PLANT_DIR, PLANT_LINK };
	struct shmbus_manager *m;
	size_t k;

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 0), 0);
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *name = plant(kinds[k]);

		assert_int_equal(shmbus_manager_track(m, name), want_code(kinds[k]));
		unplant(kinds[k], name);
	}
	assert_int_equal(shmbus_manager_count(m), 0);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	shmbus_manager_free(m);
}

/* The listing shows regular files only, and gc passes the rest by. */
static void test_list_and_gc(void **state)
{
	const char *fifo = plant(PLANT_FIFO), *dir = plant(PLANT_DIR);
	char **names;
	size_t n, i;

	(void)state;
	assert_int_equal(shmbus_block_list(NULL, &names, &n), 0);
	for (i = 0; i < n; i++) {
		assert_string_not_equal(names[i], fifo);
		assert_string_not_equal(names[i], dir);
	}
	shmbus_block_list_free(names, n);
	assert_true(shmbus_gc_run(tu_name(""), 0, NULL, NULL) >= 0);
	unplant(PLANT_FIFO, fifo);
	unplant(PLANT_DIR, dir);
}

/* The tool: exit 1 and the library's text, for every command that opens. */
static void tool_refuses(void **state)
{
	enum plant what = *(const enum plant *)*state;
	const char *name = plant(what);
	const char *text = shmbus_strerror(want_code(what));
	const char *const cmds[][6] = {
		{ "inspect", name, NULL },
		{ "inspect", name, "--json", NULL },
		{ "get", name, "0", NULL },
		{ "set", name, "0", "1", NULL },
		{ "watch", name, "--count", "1", NULL },
		{ "sub", name, "--timeout-ms", "0", NULL },
		{ "pub", name, NULL },
	};
	size_t i, k;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *argv[8] = { tu_tool() };
		char *out, *err;

		for (k = 0; cmds[i][k]; k++)
			argv[k + 1] = cmds[i][k];
		assert_int_equal(tu_run(argv, "x\n", &out, &err), 1);
		if (!strstr(err, text) || !strstr(err, name)) {
			print_error("%s %s: stderr '%s'\n", cmds[i][0], name, err);
			fail();
		}
		free(out);
		free(err);
	}
	unplant(what, name);
}

#define EACH_PLANT(fn)                                                              \
	cmocka_unit_test_prestate_setup_teardown(fn, NULL, tu_teardown, &plants[0]), \
	cmocka_unit_test_prestate_setup_teardown(fn, NULL, tu_teardown, &plants[1]), \
	cmocka_unit_test_prestate_setup_teardown(fn, NULL, tu_teardown, &plants[2]), \
	cmocka_unit_test_prestate_setup_teardown(fn, NULL, tu_teardown, &plants[3])

int main(void)
{
	static enum plant plants[] = { PLANT_FIFO, PLANT_DIR, PLANT_LINK, PLANT_EMPTY };
	const struct CMUnitTest tests[] = {
		EACH_PLANT(library_refuses),
		EACH_PLANT(tool_refuses),
		cmocka_unit_test_teardown(test_manager_track, tu_teardown),
		cmocka_unit_test_teardown(test_list_and_gc, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
