/*
 * mp_slots_stuck.c - a slot table whose C writer stops, dies, or lies:
 * nobody else waits for ever, and a dead writer's slot is repaired.
 *
 *  - a real writer process stopped (SIGSTOP) inside shmbus_slots_set(),
 *    holding slot 1 (the test hook of the library's test flavour): attach
 *    (read-only and read-write) succeeds at once; get, set, count of that
 *    slot give -ETIMEDOUT after the handle's timeout, and
 *    shmbus_slots_writer() names the writer, alive; `shmbus get T 1` and
 *    `shmbus set T 1 ...` exit 1 naming the pid; the other slots read
 *    normally; once continued, the write completes.
 *  - a writer SIGKILLed in the middle of its write: read-only readers get
 *    -SHMBUS_EPEERDEAD (and the tool says so); a read-write attach repairs
 *    the slot (None), which then reads normally.
 *  - a writer that died holding the claim before it began to write: the
 *    value is intact after the repair.
 *  - a hostile peer that marks a slot "being written" under its own live
 *    identity: the same bounded -ETIMEDOUT, and the slot is repaired once
 *    the peer is gone.
 * No timing is asserted: a hang is caught by CTest's TIMEOUT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slots/slots_internal.h"
#include "testutil.h"

#define SHORT_MS 50

static const struct shmbus_slot_value initial[] = {
	{ .type = SHMBUS_SLOT_INT, .u.i = 1 },
	{ .type = SHMBUS_SLOT_STR, .u.s = { "old value", 9 } },
	{ .type = SHMBUS_SLOT_FLOAT, .u.f = 3.5 },
};

static const char *make_list(const char *what)
{
	const char *name = tu_name(what);
	struct shmbus_slots *sl;

	assert_int_equal(shmbus_slots_create(&sl, name, initial, 3, 0), 0);
	shmbus_slots_close(sl);
	return name;
}

static struct shmbus_slots *attach(const char *name, unsigned flags)
{
	struct shmbus_slots *sl;

	assert_int_equal(shmbus_slots_attach(&sl, name, flags), 0);
	assert_int_equal(shmbus_slots_set_timeout(sl, SHORT_MS), 0);
	return sl;
}

/* The writer child: stop or die (@sig) at @at inside a set of slot 1. */
static enum slots_hook_point hook_at;
static int hook_sig;

static void hook(enum slots_hook_point point, struct shmbus_slots *sl, uint64_t i)
{
	(void)sl;
	if (point == hook_at && i == 1)
		raise(hook_sig);
}

static const char *child_name;

static int writer(void *arg)
{
	struct shmbus_slots *sl;

	(void)arg;
	if (shmbus_slots_attach(&sl, child_name, 0))
		return 1;
	atomic_store_explicit(&slots_test_hook, hook, memory_order_relaxed);
	if (shmbus_slots_set(sl, 1, &(struct shmbus_slot_value){
					   .type = SHMBUS_SLOT_STR, .u.s = { "new!", 4 } }))
		return 2;
	shmbus_slots_close(sl);
	return 0;
}

static pid_t start_writer(const char *name, enum slots_hook_point at, int sig)
{
	child_name = name;
	hook_at = at;
	hook_sig = sig;
	return tu_spawn(writer, NULL);
}

/* Run the tool; return its status, and its stderr in *@err. */
static int tool(char **err, const char *a1, const char *a2, const char *a3, const char *a4)
{
	const char *argv[] = { tu_tool(), a1, a2, a3, a4, NULL };

	return tu_run(argv, NULL, NULL, err);
}

static void expect_str(const struct shmbus_slots *sl, int64_t i, const char *want)
{
	struct shmbus_slot_value v;
	char buf[64];

	assert_int_equal(shmbus_slots_get(sl, i, &v, buf, sizeof(buf)), 0);
	assert_int_equal(v.type, SHMBUS_SLOT_STR);
	assert_string_equal(buf, want);
}

static void expect_type(const struct shmbus_slots *sl, int64_t i, enum shmbus_slot_type t)
{
	struct shmbus_slot_value v;
	char buf[64];

	assert_int_equal(shmbus_slots_get(sl, i, &v, buf, sizeof(buf)), 0);
	assert_int_equal(v.type, t);
}

/* Everything a stuck slot 1 (held by live @pid) must give. */
static void expect_bounded(const char *name, pid_t pid)
{
	struct shmbus_slot_value v, one = shmbus_slot_int(1);
	struct shmbus_slot_writer w;
	struct shmbus_slots *ro = attach(name, SHMBUS_ATTACH_RDONLY);
	struct shmbus_slots *rw = attach(name, 0);
	char buf[64], pidtext[32], *err;

	assert_int_equal(shmbus_slots_get(ro, 1, &v, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(shmbus_slots_get(rw, 1, &v, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(shmbus_slots_set(rw, 1, &one), -ETIMEDOUT);
	assert_int_equal(shmbus_slots_count(ro, &one), -ETIMEDOUT);
	assert_int_equal(shmbus_slots_writer(ro, 1, &w), 0);
	assert_int_equal(w.pid, pid);
	assert_true(w.alive);
	assert_true(w.writing);
	/* The other slots are not held up. */
	assert_int_equal(shmbus_slots_get(ro, 0, &v, NULL, 0), 0);
	assert_int_equal(v.u.i, 1);
	assert_int_equal(shmbus_slots_writer(ro, 0, &w), 0);
	assert_int_equal(w.pid, 0);
	/* Timeout 0: no wait at all. */
	assert_int_equal(shmbus_slots_set_timeout(ro, 0), 0);
	assert_int_equal(shmbus_slots_get(ro, 1, &v, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(shmbus_slots_set_timeout(ro, -1), -EINVAL);
	shmbus_slots_close(ro);
	shmbus_slots_close(rw);

	snprintf(pidtext, sizeof(pidtext), "pid %d (alive)", (int)pid);
	assert_int_equal(tool(&err, "get", name, "1", NULL), 1);
	assert_non_null(strstr(err, "timed out"));
	assert_non_null(strstr(err, pidtext));
	free(err);
	assert_int_equal(tool(&err, "set", name, "1", "7"), 1);
	assert_non_null(strstr(err, pidtext));
	free(err);
	assert_int_equal(tool(&err, "get", name, "0", NULL), 0);
	free(err);
}

static void test_stopped_writer(void **state)
{
	const char *name = make_list("stop");
	struct shmbus_slots *sl;
	pid_t pid;
	int st;

	(void)state;
	pid = start_writer(name, SLOTS_HOOK_WRITTEN, SIGSTOP);
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_true(WIFSTOPPED(st));
	expect_bounded(name, pid);
	/* Continued, the writer completes its write. */
	assert_int_equal(kill(pid, SIGCONT), 0);
	assert_int_equal(tu_wait(pid), 0);
	sl = attach(name, SHMBUS_ATTACH_RDONLY);
	expect_str(sl, 1, "new!");
	shmbus_slots_close(sl);
}

static void test_killed_writer(void **state)
{
	const char *name = make_list("kill");
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	char buf[64], *err;

	struct shmbus_slots *early;

	(void)state;
	/* Attached before the death: attach has nothing to repair then. */
	early = attach(name, 0);
	assert_int_equal(tu_wait(start_writer(name, SLOTS_HOOK_WRITTEN, SIGKILL)), 1000 + SIGKILL);
	/* Read-only: reported, not repaired, never torn. */
	sl = attach(name, SHMBUS_ATTACH_RDONLY);
	assert_int_equal(shmbus_slots_get(sl, 1, &v, buf, sizeof(buf)), -SHMBUS_EPEERDEAD);
	shmbus_slots_close(sl);
	assert_int_equal(tool(&err, "get", name, "1", NULL), 1);
	assert_non_null(strstr(err, "died while writing"));
	free(err);
	/* A set, even one that may not wait at all, takes the dead claim
	 * over and writes a whole value. */
	assert_int_equal(shmbus_slots_get(early, 1, &v, buf, sizeof(buf)), -SHMBUS_EPEERDEAD);
	assert_int_equal(shmbus_slots_set_timeout(early, 0), 0);
	assert_int_equal(shmbus_slots_set(early, 1, &(struct shmbus_slot_value){
						    .type = SHMBUS_SLOT_STR, .u.s = { "fixed", 5 } }),
			 0);
	expect_str(early, 1, "fixed");
	shmbus_slots_close(early);
	/* Killed again: this time a read-write attach repairs it. */
	assert_int_equal(tu_wait(start_writer(name, SLOTS_HOOK_WRITTEN, SIGKILL)), 1000 + SIGKILL);
	/* Read-write attach repairs: None, and the others untouched. */
	sl = attach(name, 0);
	expect_type(sl, 1, SHMBUS_SLOT_NONE);
	expect_type(sl, 2, SHMBUS_SLOT_FLOAT);
	shmbus_slots_close(sl);
	sl = attach(name, SHMBUS_ATTACH_RDONLY);
	expect_type(sl, 1, SHMBUS_SLOT_NONE);
	shmbus_slots_close(sl);
	assert_int_equal(tool(&err, "get", name, "1", NULL), 0);
	free(err);
}

static int just_exit(void *arg)
{
	(void)arg;
	return 0;
}

/* An ident that no live process has: a child that exited. */
static shmbus_ident_t dead_ident(void)
{
	pid_t pid = tu_spawn(just_exit, NULL);
	shmbus_ident_t id;

	/* Read while it may still run: a zombie counts as gone either way. */
	if (shmbus_proc_ident(pid, &id))
		id = ((shmbus_ident_t)1 << SHMBUS_IDENT_PID_BITS) | (shmbus_ident_t)pid;
	assert_int_equal(tu_wait(pid), 0);
	assert_false(shmbus_proc_alive(id));
	return id;
}

static void test_died_before_writing(void **state)
{
	const char *name = make_list("early");
	struct shmbus_slots *sl = attach(name, 0);

	(void)state;
	/* A claim with the sequence still even: nothing was written yet. */
	atomic_store(&sl->guards[1].writer, dead_ident());
	shmbus_slots_close(sl);
	sl = attach(name, 0);
	expect_str(sl, 1, "old value");
	assert_int_equal(atomic_load(&sl->guards[1].writer), SHMBUS_IDENT_NONE);
	assert_int_equal(atomic_load(&sl->guards[1].seq) & 1, 0);
	shmbus_slots_close(sl);
}

/* The hostile peer: claims slot 1 as if writing, under its own live ident,
 * tells the parent, and waits to be killed. */
static int liar(void *arg)
{
	int fd = *(int *)arg;
	struct shmbus_slots *sl;

	if (shmbus_slots_attach(&sl, child_name, 0))
		return 1;
	atomic_store(&sl->guards[1].writer, shmbus_proc_self());
	atomic_fetch_or(&sl->guards[1].seq, 1);
	if (write(fd, "x", 1) != 1)
		return 2;
	for (;;)
		pause();
}

static void test_hostile_peer(void **state)
{
	const char *name = make_list("liar");
	struct shmbus_slots *sl;
	int fds[2];
	char c;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	child_name = name;
	pid = tu_spawn(liar, &fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	close(fds[1]);
	expect_bounded(name, pid);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	sl = attach(name, 0);
	expect_type(sl, 1, SHMBUS_SLOT_NONE);
	shmbus_slots_close(sl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stopped_writer, tu_teardown),
		cmocka_unit_test_teardown(test_killed_writer, tu_teardown),
		cmocka_unit_test_teardown(test_died_before_writing, tu_teardown),
		cmocka_unit_test_teardown(test_hostile_peer, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
