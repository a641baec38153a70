/*
 * mp_manager.c - a manager's owner in a child process that ends every way it
 * can: SIGKILL, SIGKILL of its whole process group after a Ctrl-C to the
 * guardian, normal shutdown, exit without shutdown, exec.  In every case each
 * block must be gone (polled with a generous bound; the assertion is "gone",
 * never how fast).  Also: a process that only attaches never unlinks, and
 * the guardian holds none of the owner's descriptors or other blocks.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "header_internal.h"
#include "tu_manager.h"

#define NBLOCKS 4

struct scenario {
	char mgr[SHMBUS_NAME_MAX + 1];
	char blk[NBLOCKS][SHMBUS_NAME_MAX + 1]; /* last one: a tracked header block */
	char premapped[SHMBUS_NAME_MAX + 1]; /* mapped by the owner before start */
	int ready[2];       /* child -> parent: the guardian's ident */
	int own_group;      /* child makes its own process group */
	enum { HOLD, SHUTDOWN, EXIT, EXEC, CLOSE_STDOUT } then;
};

static void scenario_init(struct scenario *s)
{
	int i;

	memset(s, 0, sizeof(*s));
	snprintf(s->mgr, sizeof(s->mgr), "%s", tu_name("mgr"));
	for (i = 0; i < NBLOCKS; i++) {
		char key[16];

		snprintf(key, sizeof(key), "b%d", i);
		snprintf(s->blk[i], sizeof(s->blk[i]), "%s", tu_name(key));
	}
	snprintf(s->premapped, sizeof(s->premapped), "%s", tu_name("premapped"));
	assert_int_equal(pipe(s->ready), 0);
}

/* The owner: start, create NBLOCKS-1 blocks, track a header block, report. */
static int owner_main(void *arg)
{
	struct scenario *s = arg;
	struct shmbus_manager *m;
	struct shmbus_block *b;
	shmbus_ident_t g;
	int i;

	close(s->ready[0]);
	/* If the test fails (or is killed) before it kills us, die with it:
	 * never leave an owner behind holding the harness's output pipe. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 9;
	if (s->own_group && setpgid(0, 0))
		return 10;
	/* Mapped when the guardian is forked; the guardian must not keep it. */
	if (s->then == CLOSE_STDOUT && shmbus_block_create(&b, s->premapped, 1 << 20, 0))
		return 17;
	if (shmbus_manager_start(&m, s->mgr, 0))
		return 11;
	for (i = 0; i < NBLOCKS - 1; i++) {
		if (shmbus_manager_create_block(m, s->blk[i], 4096 << i, 0, &b))
			return 12;
		shmbus_block_close(b);
	}
	b = tu_mgr_layout(s->blk[NBLOCKS - 1], 4);
	shmbus_block_close(b);
	if (shmbus_manager_track(m, s->blk[NBLOCKS - 1]))
		return 13;
	g = shmbus_manager_guardian(m);
	if (s->then == SHUTDOWN) {
		if (shmbus_manager_shutdown(m) || shmbus_manager_shutdown(m))
			return 14;
		shmbus_manager_free(m);
	}
	if (write(s->ready[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
		return 15;
	switch (s->then) {
	case SHUTDOWN:
	case EXIT:
		return 0; /* EXIT: no shutdown, no free: the guardian cleans up */
	case EXEC:
		execl("/bin/sleep", "sleep", "60", (char *)NULL);
		return 16;
	case CLOSE_STDOUT:
		close(1);
		/* fall through */
	case HOLD:
		for (;;)
			pause();
	}
	return 0;
}

/* Run the owner; returns its pid and the guardian it reported. */
static pid_t owner_start(struct scenario *s, shmbus_ident_t *guardian)
{
	pid_t pid = tu_spawn(owner_main, s);

	close(s->ready[1]);
	assert_int_equal(read(s->ready[0], guardian, sizeof(*guardian)), sizeof(*guardian));
	close(s->ready[0]);
	return pid;
}

static void assert_all_exist(const struct scenario *s)
{
	int i;

	assert_true(tu_mgr_exists(s->mgr));
	for (i = 0; i < NBLOCKS; i++)
		assert_true(tu_mgr_exists(s->blk[i]));
}

static void assert_all_gone_eventually(const struct scenario *s)
{
	const char *names[NBLOCKS + 1];
	int i;

	for (i = 0; i < NBLOCKS; i++)
		names[i] = s->blk[i];
	names[NBLOCKS] = s->mgr;
	assert_true(tu_mgr_wait_gone(names, NBLOCKS + 1));
}

static void test_sigkill_owner(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;

	(void)state;
	scenario_init(&s);
	s.then = HOLD;
	pid = owner_start(&s, &g);
	assert_all_exist(&s);
	assert_true(shmbus_proc_alive(g));
	/* The header block shows the guardian as its manager. */
	assert_int_equal(tu_mgr_header_manager(s.blk[NBLOCKS - 1]), g);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_all_gone_eventually(&s);
	assert_true(tu_mgr_wait_dead(g)); /* and it exits by itself */
}

static void test_group_sigkill_after_sigint(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;

	(void)state;
	scenario_init(&s);
	s.then = HOLD;
	s.own_group = 1;
	pid = owner_start(&s, &g);
	assert_all_exist(&s);
	/* Ctrl-C reaches the guardian too in a terminal: it ignores it. */
	assert_int_equal(kill(shmbus_ident_pid(g), SIGINT), 0);
	/* kill -9 of the owner's whole group: the guardian is not in it. */
	assert_int_equal(kill(-pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_all_gone_eventually(&s);
	assert_true(tu_mgr_wait_dead(g));
}

static void test_normal_shutdown(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;
	int i;

	(void)state;
	scenario_init(&s);
	s.then = SHUTDOWN;
	pid = owner_start(&s, &g);
	assert_int_equal(tu_wait(pid), 0);
	/* Shutdown is synchronous: gone before the owner even exited. */
	assert_false(tu_mgr_exists(s.mgr));
	for (i = 0; i < NBLOCKS; i++)
		assert_false(tu_mgr_exists(s.blk[i]));
	assert_true(tu_mgr_wait_dead(g));
}

static void test_exit_without_shutdown(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;

	(void)state;
	scenario_init(&s);
	s.then = EXIT;
	pid = owner_start(&s, &g);
	assert_int_equal(tu_wait(pid), 0);
	assert_all_gone_eventually(&s);
	assert_true(tu_mgr_wait_dead(g));
}

static void test_exec_counts_as_gone(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;

	(void)state;
	scenario_init(&s);
	s.then = EXEC;
	pid = owner_start(&s, &g);
	/* The process lives on as `sleep`, but the manager died with the
	 * old image: its socket end was close-on-exec. */
	assert_all_gone_eventually(&s);
	assert_int_equal(kill(pid, 0), 0);
	assert_true(tu_mgr_wait_dead(g));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
}

/* Whether process @pid maps the object @name (by inode: a mapping made of
 * an O_TMPFILE object shows its unnamed path, "#ino (deleted)"). */
static bool maps_object(pid_t pid, const char *name)
{
	char path[64], line[4096], ino[32];
	struct stat st;
	bool found = false;
	FILE *f;
	int dir = open("/dev/shm", O_DIRECTORY | O_RDONLY);

	assert_int_equal(fstatat(dir, name, &st, 0), 0);
	close(dir);
	snprintf(ino, sizeof(ino), " %llu ", (unsigned long long)st.st_ino);
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, ino) != NULL && strstr(line, "/dev/shm/") != NULL;
	fclose(f);
	return found;
}

static void test_guardian_holds_nothing_of_owner(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	int out[2], saved;
	char c;
	pid_t pid;

	(void)state;
	scenario_init(&s);
	s.then = CLOSE_STDOUT;
	/* The owner's stdout is a pipe; once the owner closes it, the reader
	 * must see end-of-file although the guardian (forked while it was
	 * open) still runs. */
	assert_int_equal(pipe(out), 0);
	saved = dup(1);
	assert_true(saved >= 0);
	assert_int_equal(dup2(out[1], 1), 1);
	close(out[1]); /* the owner gets the pipe as fd 1 only */
	pid = owner_start(&s, &g);
	assert_int_equal(dup2(saved, 1), 1);
	close(saved);
	assert_int_equal(read(out[0], &c, 1), 0);
	close(out[0]);
	assert_true(shmbus_proc_alive(g));
	/* It maps the manager block, and no other block the owner had mapped. */
	assert_true(maps_object(shmbus_ident_pid(g), s.mgr));
	assert_false(maps_object(shmbus_ident_pid(g), s.premapped));
	assert_true(maps_object(pid, s.premapped));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_all_gone_eventually(&s);
}

/* An attacher: maps blocks by name, writes, joins a header block as a
 * participant, and exits without closing anything. */
static int attacher_main(void *arg)
{
	struct scenario *s = arg;
	struct participant *tbl;
	struct shmbus_block *b, *l;
	uint32_t n;

	if (shmbus_block_attach(&b, s->blk[0], 0) || shmbus_block_write(b, 0, "hi", 3))
		return 1;
	if (shmbus_block_attach(&l, s->blk[NBLOCKS - 1], 0))
		return 2;
	tbl = header_participants(block_header(l), &n);
	if (!tbl || part_join(tbl, n, 1, shmbus_proc_self(), NULL) < 0)
		return 3;
	return 0;
}

static void test_attach_only_never_unlinks(void **state)
{
	struct shmbus_block *b;
	struct scenario s;
	shmbus_ident_t g;
	char buf[3];
	pid_t pid, att;

	(void)state;
	scenario_init(&s);
	s.then = HOLD;
	pid = owner_start(&s, &g);
	att = tu_spawn(attacher_main, &s);
	assert_int_equal(tu_wait(att), 0);
	/* Still there, with what the attacher wrote, still listed. */
	assert_all_exist(&s);
	assert_int_equal(shmbus_block_attach(&b, s.blk[0], SHMBUS_ATTACH_RDONLY), 0);
	assert_int_equal(shmbus_block_read(b, 0, buf, 3), 0);
	assert_string_equal(buf, "hi");
	shmbus_block_close(b);
	/* The same when the attacher is killed rather than exiting. */
	att = tu_spawn(attacher_main, &s);
	kill(att, SIGKILL);
	tu_wait(att);
	assert_all_exist(&s);
	assert_true(shmbus_proc_alive(g));
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_all_gone_eventually(&s);
}

/* A listed name that someone else re-created is not the guardian's. */
static void test_guardian_spares_recreated_name(void **state)
{
	const char *names[NBLOCKS];
	struct shmbus_block *b;
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;
	int i;

	(void)state;
	scenario_init(&s);
	s.then = HOLD;
	pid = owner_start(&s, &g);
	assert_int_equal(shmbus_block_unlink(s.blk[0]), 0);
	assert_int_equal(shmbus_block_create(&b, s.blk[0], 64, 0), 0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	for (i = 1; i < NBLOCKS; i++)
		names[i - 1] = s.blk[i];
	names[NBLOCKS - 1] = s.mgr;
	assert_true(tu_mgr_wait_gone(names, NBLOCKS));
	assert_true(tu_mgr_wait_dead(g)); /* it is done, and... */
	assert_true(tu_mgr_exists(s.blk[0])); /* ...the new object is still there */
	shmbus_block_close(b);
}


struct churn {
	char prefix[SHMBUS_NAME_MAX + 1];
	int ready[2];
};

/* Create blocks (and drop some) as fast as possible until killed. */
static int churn_main(void *arg)
{
	struct churn *c = arg;
	struct shmbus_manager *m;
	struct shmbus_block *b;
	char name[2 * SHMBUS_NAME_MAX], mname[2 * SHMBUS_NAME_MAX]; /* prefixes are short */
	int i;

	close(c->ready[0]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 9;
	snprintf(mname, sizeof(mname), "%smgr", c->prefix);
	if (shmbus_manager_start(&m, mname, 4096))
		return 10;
	if (write(c->ready[1], "R", 1) != 1)
		return 11;
	for (i = 0;; i++) {
		snprintf(name, sizeof(name), "%s%d", c->prefix, i);
		if (shmbus_manager_create_block(m, name, 4096, 0, &b))
			return 12;
		shmbus_block_close(b);
		if (i % 3 == 0 && shmbus_manager_unlink(m, name))
			return 13;
		if (shmbus_manager_count(m) > 4000) {
			shmbus_manager_shutdown(m); /* keep within capacity... */
			return 14;                  /* ...not expected this soon */
		}
	}
}

/* SIGKILL lands anywhere inside create/unlink: whatever the instruction,
 * nothing of the owner's may survive (a block is unnamed until listed). */
static void test_kill_during_creates(void **state)
{
	int rounds = tu_sanitized() ? 3 : 8, r;
	struct churn c;
	char byte;
	pid_t pid;

	(void)state;
	for (r = 0; r < rounds; r++) {
		char key[32];

		snprintf(key, sizeof(key), "k%d_", r);
		snprintf(c.prefix, sizeof(c.prefix), "%s", tu_name(key));
		assert_int_equal(pipe(c.ready), 0);
		pid = tu_spawn(churn_main, &c);
		close(c.ready[1]);
		assert_int_equal(read(c.ready[0], &byte, 1), 1);
		close(c.ready[0]);
		tu_mgr_nap_ms(5 + r * 7);
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
		assert_int_equal(tu_mgr_wait_prefix_gone(c.prefix), 0);
	}
}

/* Several owners killed at once: each guardian cleans its own. */
static void test_many_owners_killed(void **state)
{
	enum { OWNERS = 4 };
	struct scenario s[OWNERS];
	shmbus_ident_t g[OWNERS];
	pid_t pid[OWNERS];
	int i;

	(void)state;
	for (i = 0; i < OWNERS; i++) {
		char key[16];
		int k;

		scenario_init(&s[i]);
		s[i].then = HOLD;
		/* Distinct names per owner. */
		snprintf(key, sizeof(key), "mgr%d", i);
		snprintf(s[i].mgr, sizeof(s[i].mgr), "%s", tu_name(key));
		for (k = 0; k < NBLOCKS; k++) {
			snprintf(key, sizeof(key), "o%d_%d", i, k);
			snprintf(s[i].blk[k], sizeof(s[i].blk[k]), "%s", tu_name(key));
		}
		pid[i] = owner_start(&s[i], &g[i]);
	}
	for (i = 0; i < OWNERS; i++)
		assert_int_equal(kill(pid[i], SIGKILL), 0);
	for (i = 0; i < OWNERS; i++) {
		assert_int_equal(tu_wait(pid[i]), 1000 + SIGKILL);
		assert_all_gone_eventually(&s[i]);
		assert_true(tu_mgr_wait_dead(g[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigkill_owner, tu_teardown),
		cmocka_unit_test_teardown(test_group_sigkill_after_sigint, tu_teardown),
		cmocka_unit_test_teardown(test_normal_shutdown, tu_teardown),
		cmocka_unit_test_teardown(test_exit_without_shutdown, tu_teardown),
		cmocka_unit_test_teardown(test_exec_counts_as_gone, tu_teardown),
		cmocka_unit_test_teardown(test_guardian_holds_nothing_of_owner, tu_teardown),
		cmocka_unit_test_teardown(test_attach_only_never_unlinks, tu_teardown),
		cmocka_unit_test_teardown(test_guardian_spares_recreated_name, tu_teardown),
		cmocka_unit_test_teardown(test_many_owners_killed, tu_teardown),
		cmocka_unit_test_teardown(test_kill_during_creates, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_manager", tests, NULL, NULL);
}
