/*
 * mp_gc.c - `shmbus gc` and shmbus_gc_run(): what it removes (ephemeral
 * blocks whose every recorded process is dead, the blocks a dead manager
 * lists) and what it must never touch (persistent blocks, live processes'
 * blocks, foreign blocks, zero-length objects, blocks still being built,
 * names re-created by someone else).
 *
 * Every run is restricted with --prefix to this test's names, so other
 * tests' blocks in /dev/shm are never considered.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <jansson.h>

#include "header_internal.h"
#include "tu_manager.h"

#define NRAW 3

/* Run `shmbus gc --prefix PREFIX [extra]`; returns the exit status. */
static int run_gc(const char *extra1, const char *extra2, char **out)
{
	TU_MGR_NAME(prefix, "");
	const char *argv[] = { tu_tool(), "gc", "--prefix", prefix, extra1, extra2, NULL };
	char *err = NULL;
	int rc;

	rc = tu_run(argv, NULL, out, &err);
	if (err && *err)
		fprintf(stderr, "gc stderr: %s", err);
	free(err);
	return rc;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A raw object that is not a shmbus block: random-looking bytes. */
static void make_foreign(const char *name, size_t size)
{
	struct shmbus_block *b;
	void *p;
	size_t i;

	assert_int_equal(shmbus_block_create(&b, name, size, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	for (i = 0; i < size; i++)
		((unsigned char *)p)[i] = (unsigned char)(i * 131 + 7);
	shmbus_block_close(b);
}

/* A zero-length object, as a program that died before ftruncate leaves. */
static void make_empty(const char *name)
{
	char path[SHMBUS_NAME_MAX + 2];
	int fd;

	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
}

struct owner {
	char mgr[SHMBUS_NAME_MAX + 1];
	char raw[NRAW][SHMBUS_NAME_MAX + 1];
	char lay[SHMBUS_NAME_MAX + 1];
	int ready[2];
};

static int owner_main(void *arg)
{
	struct owner *o = arg;
	struct shmbus_manager *m;
	struct shmbus_block *b;
	shmbus_ident_t g;
	int i;

	close(o->ready[0]);
	/* Die with the test, whatever happens to it (see mp_manager.c). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 9;
	if (shmbus_manager_start(&m, o->mgr, 0))
		return 11;
	for (i = 0; i < NRAW; i++) {
		if (shmbus_manager_create_block(m, o->raw[i], 1000 + i, 0, &b))
			return 12;
		shmbus_block_close(b);
	}
	b = tu_mgr_layout(o->lay, 2);
	shmbus_block_close(b);
	if (shmbus_manager_track(m, o->lay))
		return 13;
	g = shmbus_manager_guardian(m);
	if (write(o->ready[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
		return 14;
	for (;;)
		pause();
}

static pid_t owner_start(struct owner *o, const char *tag, shmbus_ident_t *g)
{
	char key[32];
	pid_t pid;
	int i;

	snprintf(key, sizeof(key), "%s_mgr", tag);
	snprintf(o->mgr, sizeof(o->mgr), "%s", tu_name(key));
	for (i = 0; i < NRAW; i++) {
		snprintf(key, sizeof(key), "%s_raw%d", tag, i);
		snprintf(o->raw[i], sizeof(o->raw[i]), "%s", tu_name(key));
	}
	snprintf(key, sizeof(key), "%s_lay", tag);
	snprintf(o->lay, sizeof(o->lay), "%s", tu_name(key));
	assert_int_equal(pipe(o->ready), 0);
	pid = tu_spawn(owner_main, o);
	close(o->ready[1]);
	assert_int_equal(read(o->ready[0], g, sizeof(*g)), sizeof(*g));
	close(o->ready[0]);
	return pid;
}

/* Kill the guardian first, so only gc can clean up after the owner. */
static void kill_guardian(shmbus_ident_t g)
{
	assert_int_equal(kill(shmbus_ident_pid(g), SIGKILL), 0);
	assert_true(tu_mgr_wait_dead(g));
}

static void kill_owner(pid_t pid)
{
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
}

static void test_guardian_killed_then_gc(void **state)
{
	struct shmbus_block *live;
	struct owner o;
	shmbus_ident_t g;
	json_error_t jerr;
	json_t *doc;
	char *out = NULL;
	pid_t pid;
	int i;
	TU_MGR_NAME(foreign, "foreign");
	TU_MGR_NAME(empty, "empty");
	TU_MGR_NAME(mine, "mine");

	(void)state;
	pid = owner_start(&o, "a", &g);
	make_foreign(foreign, 4096);
	make_empty(empty);
	live = tu_mgr_layout(mine, 2); /* a header block of a live process: us */
	kill_guardian(g);
	/* The owner still lives: nothing may go, not even with the guardian dead. */
	assert_int_equal(run_gc(NULL, NULL, &out), 0);
	assert_string_equal(out, "");
	free(out);
	assert_true(tu_mgr_exists(o.mgr) && tu_mgr_exists(o.lay));
	for (i = 0; i < NRAW; i++)
		assert_true(tu_mgr_exists(o.raw[i]));

	kill_owner(pid);
	/* --dry-run reports every one of them and removes nothing. */
	assert_int_equal(run_gc("--dry-run", "--json", &out), 0);
	doc = json_loads(out, 0, &jerr);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "dry_run")));
	assert_int_equal(json_array_size(json_object_get(doc, "removed")), NRAW + 2);
	assert_int_equal(json_array_size(json_object_get(doc, "errors")), 0);
	json_decref(doc);
	tu_mgr_validate("gc.schema.json", out);
	free(out);
	assert_true(tu_mgr_exists(o.mgr) && tu_mgr_exists(o.lay));
	for (i = 0; i < NRAW; i++)
		assert_true(tu_mgr_exists(o.raw[i]));
	assert_int_equal(run_gc("--dry-run", NULL, &out), 0);
	assert_int_equal(count_lines(out), NRAW + 2);
	assert_non_null(strstr(out, "would remove"));
	free(out);
	assert_true(tu_mgr_exists(o.mgr));

	/* The real run removes exactly those. */
	assert_int_equal(run_gc(NULL, NULL, &out), 0);
	assert_int_equal(count_lines(out), NRAW + 2);
	for (i = 0; i < NRAW; i++) {
		assert_non_null(strstr(out, o.raw[i]));
		assert_false(tu_mgr_exists(o.raw[i]));
	}
	assert_non_null(strstr(out, "listed by a dead manager"));
	free(out);
	assert_false(tu_mgr_exists(o.mgr));
	assert_false(tu_mgr_exists(o.lay));
	/* Never touched: foreign bytes, a zero-length object, a live block. */
	assert_true(tu_mgr_exists(foreign));
	assert_true(tu_mgr_exists(empty));
	assert_true(tu_mgr_exists(mine));
	/* Nothing left to do. */
	assert_int_equal(run_gc(NULL, NULL, &out), 0);
	assert_string_equal(out, "");
	free(out);
	shmbus_block_close(live);
}

/* Children that make a header block and die, in several states.  PUBLISHED
 * blocks are ephemeral (a plain gc takes them once all are dead); PERSISTENT
 * ones are not. */
enum make_how { PUBLISHED, PERSISTENT, UNREADY, WITH_DEAD_MANAGER };

struct maker {
	char name[SHMBUS_NAME_MAX + 1];
	enum make_how how;
	shmbus_ident_t manager;
};

static int maker_main(void *arg)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_MPMC, .version = 0,
					.total_size = 4096, .participants_off = 256,
					.participants_max = 4 };
	struct maker *mk = arg;
	struct participant *tbl;
	struct shmbus_block *b;
	uint32_t n;
	void *p;

	if (shmbus_block_create(&b, mk->name, 4096, 0) || shmbus_block_data(b, &p))
		return 1;
	header_init(p, &d);
	if (mk->how != PERSISTENT)
		((struct shm_header *)p)->flags = SHMBUS_BLOCK_EPHEMERAL;
	atomic_store(&((struct shm_header *)p)->manager, mk->manager);
	if (mk->how == UNREADY)
		return 0; /* died while building it */
	header_publish(p);
	tbl = header_participants(p, &n);
	return part_join(tbl, n, 1, shmbus_proc_self(), NULL) < 0;
}

static void make_dead(const char *name, enum make_how how, shmbus_ident_t manager)
{
	struct maker mk = { .how = how, .manager = manager };

	snprintf(mk.name, sizeof(mk.name), "%s", name);
	assert_int_equal(tu_wait(tu_spawn(maker_main, &mk)), 0);
}

/* A process identity that surely is dead: a child's, taken while it ran. */
static int wait_for_eof(void *arg)
{
	int *p = arg;
	char c;

	close(p[1]);
	return (int)read(p[0], &c, 1);
}

static shmbus_ident_t dead_ident(void)
{
	shmbus_ident_t id;
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = tu_spawn(wait_for_eof, p);
	close(p[0]);
	assert_int_equal(shmbus_proc_ident(pid, &id), 0);
	close(p[1]);
	assert_int_equal(tu_wait(pid), 0);
	assert_false(shmbus_proc_alive(id));
	return id;
}

struct removed {
	int n;
	char names[16][SHMBUS_NAME_MAX + 1];
};

static void collect(const struct shmbus_gc_item *it, void *arg)
{
	struct removed *r = arg;

	assert_int_equal(it->error, 0);
	assert_non_null(it->reason);
	if (r->n < 16)
		snprintf(r->names[r->n], sizeof(r->names[0]), "%s", it->name);
	r->n++;
}

static void test_liveness_rules(void **state)
{
	struct participant *tbl;
	struct shmbus_manager *m;
	struct shmbus_block *joined, *mine_unready;
	struct removed r = { 0 };
	void *p;
	uint32_t n;
	TU_MGR_NAME(prefix, "");
	TU_MGR_NAME(dead, "dead");
	TU_MGR_NAME(deadmgr, "deadmgr");
	TU_MGR_NAME(unready, "unready");
	TU_MGR_NAME(partlive, "partlive");
	TU_MGR_NAME(mgrlive, "mgrlive");
	TU_MGR_NAME(building, "building");
	TU_MGR_NAME(kept, "kept");

	(void)state;
	make_dead(dead, PUBLISHED, 0);
	/* Everyone dead, but persistent: a plain gc never takes it. */
	make_dead(kept, PERSISTENT, 0);
	make_dead(deadmgr, WITH_DEAD_MANAGER, dead_ident());
	make_dead(unready, UNREADY, 0);
	/* Creator dead, but a live participant (us) joined: stays. */
	make_dead(partlive, PUBLISHED, 0);
	assert_int_equal(shmbus_block_attach(&joined, partlive, 0), 0);
	tbl = header_participants(block_header(joined), &n);
	assert_true(part_join(tbl, n, 2, shmbus_proc_self(), NULL) >= 0);
	/* Creator dead, but its manager's guardian lives: stays. */
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 0), 0);
	make_dead(mgrlive, PUBLISHED, shmbus_manager_guardian(m));
	/* Being built by a live creator (us): stays. */
	assert_int_equal(shmbus_block_create(&mine_unready, building, 4096, 0), 0);
	assert_int_equal(shmbus_block_data(mine_unready, &p), 0);
	header_init(p, &(struct layout_desc){ .kind = SHMBUS_KIND_MPMC,
							      .total_size = 4096 });

	/* Dry run through the API: counts, removes nothing. */
	assert_int_equal(shmbus_gc_run(prefix, SHMBUS_GC_DRY_RUN, collect, &r), 3);
	assert_int_equal(r.n, 3);
	assert_true(tu_mgr_exists(dead) && tu_mgr_exists(deadmgr) && tu_mgr_exists(unready));
	assert_int_equal(shmbus_gc_run(prefix, 0x100, NULL, NULL), -EINVAL);
	/* The real run. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(shmbus_gc_run(prefix, 0, collect, &r), 3);
	/* Sorted by name: dead, deadmgr, unready. */
	assert_string_equal(r.names[0], dead);
	assert_string_equal(r.names[1], deadmgr);
	assert_string_equal(r.names[2], unready);
	assert_false(tu_mgr_exists(dead) || tu_mgr_exists(deadmgr) || tu_mgr_exists(unready));
	assert_true(tu_mgr_exists(partlive) && tu_mgr_exists(mgrlive) && tu_mgr_exists(building));
	assert_true(tu_mgr_exists(kept));
	/* Once the participant leaves, the block is nobody's. */
	part_leave(&tbl[0], shmbus_proc_self());
	part_leave(&tbl[1], shmbus_proc_self());
	assert_int_equal(shmbus_gc_run(partlive, 0, NULL, NULL), 1);
	assert_false(tu_mgr_exists(partlive));
	shmbus_block_close(joined);
	shmbus_block_close(mine_unready);
	shmbus_manager_free(m);
}

static void test_prefix_restricts(void **state)
{
	char *out = NULL;
	TU_MGR_NAME(pa, "pa_x");
	TU_MGR_NAME(pb, "pb_x");
	TU_MGR_NAME(prefix_a, "pa_");
	const char *argv[] = { tu_tool(), "gc", "--prefix", prefix_a, NULL };

	(void)state;
	make_dead(pa, PUBLISHED, 0);
	make_dead(pb, PUBLISHED, 0);
	assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
	assert_non_null(strstr(out, pa));
	assert_null(strstr(out, pb));
	free(out);
	assert_false(tu_mgr_exists(pa));
	assert_true(tu_mgr_exists(pb));
}

/* A dead manager lists a name that someone has since re-created: the new
 * object is not the listed one and must survive. */
static void test_recreated_name_survives(void **state)
{
	struct shmbus_block *b;
	struct removed r = { 0 };
	struct owner o;
	shmbus_ident_t g;
	pid_t pid;
	TU_MGR_NAME(prefix, "b_");

	(void)state;
	pid = owner_start(&o, "b", &g);
	kill_guardian(g);
	assert_int_equal(shmbus_block_unlink(o.raw[0]), 0);
	assert_int_equal(shmbus_block_create(&b, o.raw[0], 64, 0), 0);
	kill_owner(pid);
	/* raw1, raw2, the tracked header block and the list itself. */
	assert_int_equal(shmbus_gc_run(prefix, 0, collect, &r), NRAW + 1);
	assert_true(tu_mgr_exists(o.raw[0]));
	assert_false(tu_mgr_exists(o.raw[1]) || tu_mgr_exists(o.mgr));
	shmbus_block_close(b);
}

/* A dead manager lists a header block that a live process still uses. */
static void test_listed_but_alive_survives(void **state)
{
	struct participant *tbl;
	struct shmbus_block *b;
	struct owner o;
	shmbus_ident_t g;
	uint32_t n;
	pid_t pid;
	TU_MGR_NAME(prefix, "c_");

	(void)state;
	pid = owner_start(&o, "c", &g);
	assert_int_equal(shmbus_block_attach(&b, o.lay, 0), 0);
	tbl = header_participants(block_header(b), &n);
	assert_true(part_join(tbl, n, 1, shmbus_proc_self(), NULL) >= 0);
	kill_guardian(g);
	kill_owner(pid);
	assert_int_equal(shmbus_gc_run(prefix, 0, NULL, NULL), NRAW);
	assert_true(tu_mgr_exists(o.lay));
	/* The list stays while something it names stays, so that nothing it
	 * names ever becomes unreachable for gc. */
	assert_true(tu_mgr_exists(o.mgr));
	part_leave(&tbl[0], shmbus_proc_self());
	part_leave(&tbl[1], shmbus_proc_self());
	assert_int_equal(shmbus_gc_run(prefix, 0, NULL, NULL), 2);
	assert_false(tu_mgr_exists(o.lay) || tu_mgr_exists(o.mgr));
	shmbus_block_close(b);
}

/* --prefix bounds everything gc touches, a dead manager's list included;
 * the manager block then stays for a later, wider run. */
static void test_prefix_bounds_listed_blocks(void **state)
{
	struct removed r = { 0 };
	struct owner o;
	shmbus_ident_t g;
	pid_t pid;
	int i;
	TU_MGR_NAME(narrow, "d_m");
	TU_MGR_NAME(wide, "d_");

	(void)state;
	pid = owner_start(&o, "d", &g);
	kill_guardian(g);
	kill_owner(pid);
	assert_int_equal(shmbus_gc_run(narrow, 0, collect, &r), 0);
	assert_true(tu_mgr_exists(o.mgr));
	for (i = 0; i < NRAW; i++)
		assert_true(tu_mgr_exists(o.raw[i]));
	assert_int_equal(shmbus_gc_run(wide, 0, collect, &r), NRAW + 2);
	assert_false(tu_mgr_exists(o.mgr) || tu_mgr_exists(o.lay));
	for (i = 0; i < NRAW; i++)
		assert_false(tu_mgr_exists(o.raw[i]));
}

static void test_usage(void **state)
{
	const char *help[] = { tu_tool(), "gc", "--help", NULL };
	const char *bad[] = { tu_tool(), "gc", "--bogus", NULL };
	const char *extra[] = { tu_tool(), "gc", "name", NULL };
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(tu_run(help, NULL, &out, NULL), 0);
	assert_non_null(strstr(out, "--dry-run"));
	assert_non_null(strstr(out, "--prefix"));
	free(out);
	assert_int_equal(tu_run(bad, NULL, NULL, &err), 2);
	free(err);
	assert_int_equal(tu_run(extra, NULL, NULL, &err), 2);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_guardian_killed_then_gc, tu_teardown),
		cmocka_unit_test_teardown(test_liveness_rules, tu_teardown),
		cmocka_unit_test_teardown(test_prefix_restricts, tu_teardown),
		cmocka_unit_test_teardown(test_recreated_name_survives, tu_teardown),
		cmocka_unit_test_teardown(test_listed_but_alive_survives, tu_teardown),
		cmocka_unit_test_teardown(test_prefix_bounds_listed_blocks, tu_teardown),
		cmocka_unit_test_teardown(test_usage, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_gc", tests, NULL, NULL);
}
