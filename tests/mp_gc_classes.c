/*
 * mp_gc_classes.c - persistent and ephemeral blocks, and `gc --idle-for`,
 * through the tool as a user runs it: a ring made by `shmbus create` (whose
 * creator exits at once) survives gc; an ephemeral one goes once every
 * process recorded in it is dead, and not before; an idle persistent one
 * goes only with --idle-for, and only once it has been idle that long.
 * `ls` and `inspect` say which class a block is in and what gc would do.
 *
 * Every gc run is confined with --prefix to this test's names.  The waits
 * for "idle long enough" poll the block's own last-activity time; nothing
 * asserts how fast anything happens.
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include <jansson.h>

#include "tu_manager.h"

/* `shmbus gc --prefix <this test> [extra]`: status, stdout in *@out. */
static int gc(char **out, const char *extra1, const char *extra2)
{
	TU_MGR_NAME(prefix, "");

	return tu_cli(out, NULL, "gc", "--prefix", prefix, extra1, extra2, NULL);
}

/* The "gc" object of `shmbus inspect NAME --json` (a new reference). */
static json_t *inspect_gc(const char *name)
{
	char *out = NULL;
	json_t *doc, *g;

	assert_int_equal(tu_cli(&out, NULL, "inspect", name, "--json", NULL), 0);
	assert_int_equal(tu_schema_check("inspect.schema.json", out), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	g = json_incref(json_object_get(doc, "gc"));
	assert_non_null(g);
	json_decref(doc);
	free(out);
	return g;
}

static void assert_class(const char *name, const char *cls, bool removable)
{
	json_t *g = inspect_gc(name);

	assert_string_equal(json_string_value(json_object_get(g, "class")), cls);
	assert_int_equal(json_is_true(json_object_get(g, "removable")), removable);
	assert_non_null(json_string_value(json_object_get(g, "reason")));
	json_decref(g);
}

/* A child that holds a role in ring @name until its pipe closes. */
struct holder {
	const char *name;
	int pipe[2];
};

static int hold_role(void *arg)
{
	struct holder *h = arg;
	struct shmbus_mpmc *q;
	char c;

	close(h->pipe[1]);
	if (shmbus_mpmc_open(&q, h->name, SHMBUS_MPMC_CONSUMER))
		return 1;
	(void)!read(h->pipe[0], &c, 1); /* until the parent closes or kills us */
	return 0;                        /* exits without closing: "killed" */
}

/* Start a holder and wait until the ring records it alive. */
static pid_t start_holder(struct holder *h)
{
	struct shmbus_snapshot *s;
	pid_t pid;
	int i;

	assert_int_equal(pipe(h->pipe), 0);
	pid = tu_spawn(hold_role, h);
	close(h->pipe[0]);
	for (i = 0; i < TU_MGR_EVENTUALLY_MS / 10; i++) {
		bool alive;

		assert_int_equal(shmbus_snapshot_take(h->name, &s), 0);
		alive = s->nparticipants > 0 && s->participants[0].alive;
		shmbus_snapshot_free(s);
		if (alive)
			return pid;
		tu_mgr_nap_ms(10);
	}
	fail_msg("the holder never joined %s", h->name);
	return pid;
}

static void test_cli_ring_survives_gc(void **state)
{
	char *out = NULL, *ls = NULL;
	json_t *doc, *b = NULL;
	size_t i;
	TU_MGR_NAME(ring, "persist");

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "spsc", ring, NULL), 0);
	/* Its creator (the CLI) is dead: still persistent, and kept. */
	assert_class(ring, "persistent", false);
	assert_int_equal(gc(&out, "--dry-run", NULL), 0);
	assert_string_equal(out, ""); /* the README's gc --dry-run shows nothing */
	free(out);
	assert_int_equal(gc(&out, NULL, NULL), 0);
	assert_string_equal(out, "");
	free(out);
	assert_true(tu_mgr_exists(ring));
	/* ls says so too, in JSON and in text. */
	assert_int_equal(tu_cli(&ls, NULL, "ls", "--json", NULL), 0);
	assert_int_equal(tu_schema_check("ls.schema.json", ls), 0);
	doc = json_loads(ls, 0, NULL);
	assert_non_null(doc);
	json_array_foreach(json_object_get(doc, "blocks"), i, b) {
		if (strcmp(json_string_value(json_object_get(b, "name")), ring) == 0)
			break;
	}
	assert_true(i < json_array_size(json_object_get(doc, "blocks")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(b, "gc"), "class")),
			    "persistent");
	assert_true(json_is_false(json_object_get(json_object_get(b, "gc"), "removable")));
	json_decref(doc);
	free(ls);
	assert_int_equal(tu_cli(&ls, NULL, "ls", NULL), 0);
	assert_non_null(strstr(ls, "keep persistent"));
	free(ls);
}

static void test_ephemeral_goes_when_all_dead(void **state)
{
	struct shmbus_bcast_params bp = { .capacity = 4096, .mode = SHMBUS_MODE_EPHEMERAL };
	struct holder h;
	struct shmbus_snapshot *s;
	char *out = NULL;
	pid_t pid;
	TU_MGR_NAME(ring, "eph");
	TU_MGR_NAME(q, "ephq");
	TU_MGR_NAME(bc, "ephb");
	TU_MGR_NAME(raw, "ephraw");
	struct shmbus_block *blk;

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "mpmc", ring, "--slots", "4",
				    "--slot-size", "8", "--ephemeral", NULL), 0);
	/* The API's flag, for the other ring kinds; recorded in the header. */
	assert_int_equal(shmbus_spsc_create(q, 4096, 0600 | SHMBUS_MODE_EPHEMERAL), 0);
	assert_int_equal(shmbus_bcast_create(bc, &bp), 0);
	assert_int_equal(shmbus_snapshot_take(q, &s), 0);
	assert_true(s->info.flags & SHMBUS_BLOCK_EPHEMERAL);
	assert_int_equal(s->mode, 0600);
	shmbus_snapshot_free(s);
	/* A raw block has no header to record it in. */
	assert_int_equal(shmbus_block_create(&blk, raw, 64, SHMBUS_MODE_EPHEMERAL), -EINVAL);
	assert_false(tu_mgr_exists(raw));

	/* A live participant keeps the ephemeral ring. */
	h.name = ring;
	pid = start_holder(&h);
	assert_class(ring, "ephemeral", false);
	assert_int_equal(gc(&out, NULL, NULL), 0);
	assert_null(strstr(out, ring));
	free(out);
	assert_true(tu_mgr_exists(ring));
	/* Once it dies (without closing), nobody is left: gc removes it. */
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	close(h.pipe[1]);
	assert_class(ring, "ephemeral", true);
	assert_int_equal(gc(&out, NULL, NULL), 0);
	assert_non_null(strstr(out, ring));
	assert_non_null(strstr(out, "ephemeral"));
	free(out);
	assert_false(tu_mgr_exists(ring));
	/* The other two have a live creator (this process): kept. */
	assert_true(tu_mgr_exists(q) && tu_mgr_exists(bc));
	assert_class(q, "ephemeral", false);
}

/* Wait until the last activity of @name is at least @secs old. */
static void wait_idle(const char *name, int secs)
{
	struct shmbus_snapshot *s;
	struct timespec now;
	int64_t age;

	do {
		tu_mgr_nap_ms(100);
		assert_int_equal(shmbus_snapshot_take(name, &s), 0);
		clock_gettime(CLOCK_REALTIME, &now);
		age = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - s->active_ns;
		shmbus_snapshot_free(s);
	} while (age < (int64_t)secs * 1000000000);
}

/* Join ring @name as a producer and leave: activity. */
static int touch(void *arg)
{
	struct shmbus_mpmc *q;

	if (shmbus_mpmc_open(&q, arg, SHMBUS_MPMC_PRODUCER))
		return 1;
	shmbus_mpmc_close(q);
	return 0;
}

static void test_idle_for(void **state)
{
	struct holder h;
	char *out = NULL, *err = NULL;
	pid_t pid;
	TU_MGR_NAME(ring, "idle");

	(void)state;
	assert_int_equal(tu_cli(NULL, NULL, "create", "mpmc", ring, "--slots", "4",
				    "--slot-size", "8", NULL), 0);
	assert_int_equal(tu_wait(tu_spawn(touch, (void *)ring)), 0);
	/* Not idle for an hour: kept, dry run or not. */
	assert_int_equal(gc(&out, "--idle-for", "1h"), 0);
	assert_string_equal(out, "");
	free(out);
	assert_true(tu_mgr_exists(ring));
	/* Idle for 2 s now: --idle-for 1h still keeps it, 1s takes it (dry
	 * run first: removes nothing). */
	wait_idle(ring, 2);
	assert_int_equal(gc(&out, "--idle-for", "1h"), 0);
	assert_string_equal(out, "");
	free(out);
	assert_int_equal(tu_cli(&out, NULL, "gc", "--prefix", ring, "--dry-run", "--idle-for",
				    "1s", NULL), 0);
	assert_non_null(strstr(out, "would remove"));
	assert_non_null(strstr(out, "idle"));
	free(out);
	assert_true(tu_mgr_exists(ring));
	/* New activity restarts the clock: not idle for 2 s any more. */
	assert_int_equal(tu_wait(tu_spawn(touch, (void *)ring)), 0);
	assert_int_equal(gc(&out, "--idle-for", "2s"), 0);
	assert_string_equal(out, "");
	free(out);
	/* A live participant keeps it however idle the ring is. */
	h.name = ring;
	pid = start_holder(&h);
	wait_idle(ring, 2);
	assert_int_equal(gc(&out, "--idle-for", "1s"), 0);
	assert_string_equal(out, "");
	free(out);
	assert_true(tu_mgr_exists(ring));
	close(h.pipe[1]);
	assert_int_equal(tu_wait(pid), 0);
	/* Nobody alive, idle long enough: removed. */
	wait_idle(ring, 2);
	assert_int_equal(gc(&out, "--idle-for", "1500ms"), 0);
	assert_non_null(strstr(out, ring));
	free(out);
	assert_false(tu_mgr_exists(ring));
	/* Bad durations are bad usage. */
	assert_int_equal(gc(NULL, "--idle-for", "soon"), 2);
	assert_int_equal(tu_cli(NULL, &err, "gc", "--idle-for", "-5s", NULL), 2);
	assert_non_null(strstr(err, "--idle-for"));
	free(err);
}

/* Child: make an ephemeral spsc ring named @arg and exit (all dead). */
static int make_ephemeral(void *arg)
{
	return shmbus_spsc_create(arg, 4096, SHMBUS_MODE_EPHEMERAL) != 0;
}

/* What gc prints cannot be forged by a name: escaped text, valid JSON. */
static void test_gc_output_names(void **state)
{
	char name[SHMBUS_NAME_MAX + 1], *out = NULL;
	json_t *doc, *removed;

	(void)state;
	snprintf(name, sizeof(name), "%s\nremoved everything", tu_name("evil"));
	assert_int_equal(tu_wait(tu_spawn(make_ephemeral, name)), 0);
	assert_int_equal(gc(&out, "--dry-run", NULL), 0);
	assert_non_null(strstr(out, "\\x0aremoved everything (spsc: ephemeral"));
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
	free(out);
	assert_int_equal(gc(&out, "--json", NULL), 0);
	doc = json_loads(out, 0, NULL);
	assert_non_null(doc);
	removed = json_object_get(doc, "removed");
	assert_int_equal(json_array_size(removed), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(removed, 0), "name")),
			    name);
	json_decref(doc);
	free(out);
	assert_false(tu_mgr_exists(name));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cli_ring_survives_gc, tu_teardown),
		cmocka_unit_test_teardown(test_ephemeral_goes_when_all_dead, tu_teardown),
		cmocka_unit_test_teardown(test_idle_for, tu_teardown),
		cmocka_unit_test_teardown(test_gc_output_names, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_gc_classes", tests, NULL, NULL);
}
