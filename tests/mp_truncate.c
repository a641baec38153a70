/*
 * mp_truncate.c - a block truncated under its users (issue 19, item 3).
 *
 * For each kind (SPSC, MPMC, broadcast, slot table) a writer process and a
 * reader process work in a loop; once both have made progress, the test
 * shrinks the object to one page with ftruncate(2).  With the SIGBUS guard
 * enabled, each worker must get -SHMBUS_ESHRUNK from a call, with its text,
 * and exit cleanly (status 0 here means exactly that).  Without the guard, a
 * worker dies of SIGBUS: the threat the guard exists for.  Also: attaching a
 * shrunk block of each kind is refused, and the tool (which enables the
 * guard) reports a truncation under `sub` and `get` and exits 1.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

#define SMALL 4096   /* what the block is truncated to: header and control stay */
#define PROGRESS 2000 /* calls a worker makes before it reports progress */

enum kind { K_SPSC, K_MPMC, K_BCAST, K_SLOTS };

struct worker {
	enum kind kind;
	const char *name;
	bool writer;
	bool guard;
	int progress_fd;   /* write end: one byte once PROGRESS calls are done */
};

/* One call of the worker's loop: >= 0 done, -EAGAIN/-ETIMEDOUT nothing
 * this time, other negatives end the loop. */
struct handles {
	struct shmbus_spsc *spsc;
	struct shmbus_mpmc *mpmc;
	struct shmbus_bcast *bcast;
	struct shmbus_slots *slots;
};

static int open_handles(const struct worker *w, struct handles *h)
{
	memset(h, 0, sizeof(*h));
	switch (w->kind) {
	case K_SPSC:
		return shmbus_spsc_open(&h->spsc, w->name,
					w->writer ? SHMBUS_SPSC_PRODUCER : SHMBUS_SPSC_CONSUMER);
	case K_MPMC:
		return shmbus_mpmc_open(&h->mpmc, w->name,
					w->writer ? SHMBUS_MPMC_PRODUCER : SHMBUS_MPMC_CONSUMER);
	case K_BCAST:
		return w->writer ? shmbus_bcast_open_producer(&h->bcast, w->name) :
				   shmbus_bcast_subscribe(&h->bcast, w->name,
							  SHMBUS_BCAST_FROM_OLDEST);
	case K_SLOTS:
		return shmbus_slots_attach(&h->slots, w->name, 0);
	}
	return -EINVAL;
}

static int one_call(const struct worker *w, struct handles *h, uint64_t i)
{
	char buf[512];
	struct shmbus_slot_value v;

	memset(buf, 'x', sizeof(buf));
	switch (w->kind) {
	case K_SPSC:
		return w->writer ? shmbus_spsc_push(h->spsc, buf, 200, 50) :
				   shmbus_spsc_pop(h->spsc, buf, sizeof(buf), 50);
	case K_MPMC:
		return w->writer ? shmbus_mpmc_push(h->mpmc, buf, 200, 50) :
				   shmbus_mpmc_pop(h->mpmc, buf, sizeof(buf), 50);
	case K_BCAST:
		return w->writer ? shmbus_bcast_push(h->bcast, buf, 200, 50) :
				   shmbus_bcast_pop(h->bcast, buf, sizeof(buf), NULL, 50);
	case K_SLOTS:
		/* Slots all over the table, the last ones past SMALL. */
		if (w->writer) {
			buf[100] = '\0';
			v = shmbus_slot_str(buf);
			return shmbus_slots_set(h->slots, (int64_t)(i % 64), &v);
		}
		return shmbus_slots_get(h->slots, (int64_t)(i % 64), &v, buf, sizeof(buf));
	}
	return -EINVAL;
}

static void close_handles(const struct worker *w, struct handles *h)
{
	switch (w->kind) {
	case K_SPSC: shmbus_spsc_close(h->spsc); break;
	case K_MPMC: shmbus_mpmc_close(h->mpmc); break;
	case K_BCAST: shmbus_bcast_close(h->bcast); break;
	case K_SLOTS: shmbus_slots_close(h->slots); break;
	}
}

/* Exit status: 0 the truncation was reported as -SHMBUS_ESHRUNK with its
 * text; 2 open failed; 3 another error ended the loop. */
static int work(void *arg)
{
	const struct worker *w = arg;
	struct handles h;
	uint64_t i;
	int rc;

	/* cmocka's handler (inherited through fork) would catch SIGBUS. */
	signal(SIGBUS, SIG_DFL);
	if (w->guard && shmbus_sigbus_guard_enable() != 0)
		return 4;
	rc = open_handles(w, &h);
	if (rc) {
		fprintf(stderr, "open %s: %s\n", w->name, shmbus_strerror(rc));
		return 2;
	}
	for (i = 0;; i++) {
		rc = one_call(w, &h, i);
		if (i == PROGRESS && write(w->progress_fd, "p", 1) != 1)
			return 5;
		if (rc >= 0 || rc == -EAGAIN || rc == -ETIMEDOUT || rc == -ENOENT)
			continue;
		break;
	}
	fprintf(stderr, "%s %s: %s\n", w->name, w->writer ? "writer" : "reader",
		shmbus_strerror(rc));
	/* The handle stays usable for close, which unmaps the replaced pages. */
	close_handles(w, &h);
	if (rc != -SHMBUS_ESHRUNK || !strstr(shmbus_strerror(rc), "truncated"))
		return 3;
	return 0;
}

static off_t size_of(const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void make(enum kind kind, const char *name)
{
	struct shmbus_mpmc_params mp = { .slots = 256, .slot_size = 256, .liveness_ms = 100 };
	struct shmbus_bcast_params bp = { .capacity = 1 << 16, .subscribers = 4 };
	struct shmbus_slot_value v[64];
	struct shmbus_slots *sl;
	int i;

	switch (kind) {
	case K_SPSC:
		assert_int_equal(shmbus_spsc_create(name, 1 << 16, 0), 0);
		break;
	case K_MPMC:
		assert_int_equal(shmbus_mpmc_create(name, &mp), 0);
		break;
	case K_BCAST:
		assert_int_equal(shmbus_bcast_create(name, &bp), 0);
		break;
	case K_SLOTS:
		for (i = 0; i < 64; i++) {
			v[i] = shmbus_slot_str("");
			v[i].capacity = 256;
		}
		assert_int_equal(shmbus_slots_create(&sl, name, v, 64, 0), 0);
		shmbus_slots_close(sl);
		break;
	}
	assert_true(size_of(name) > 4 * SMALL);
}

static void shrink(const char *name, off_t size)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fd = open(path, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* Writer and reader in a loop; shrink; return their exit statuses. */
static void run_pair(enum kind kind, bool guard, int status[2])
{
	const char *name = tu_name(guard ? "guarded" : "bare");
	struct worker w[2];
	pid_t pid[2];
	int p[2], k;
	char c;

	make(kind, name);
	assert_int_equal(pipe(p), 0);
	for (k = 0; k < 2; k++) {
		w[k] = (struct worker){ kind, name, k == 0, guard, p[1] };
		pid[k] = tu_spawn(work, &w[k]);
	}
	close(p[1]);
	/* Both made progress (or one already failed: then the read sees EOF
	 * once both are gone, and the statuses tell). */
	for (k = 0; k < 2; k++)
		if (read(p[0], &c, 1) != 1)
			break;
	close(p[0]);
	shrink(name, SMALL);
	if (!guard) {
		/* The first to touch a lost page dies; the other may wait for
		 * it for ever (nothing faults in a wait without the guard). */
		int st;
		pid_t first = waitpid(-1, &st, 0);

		assert_true(first == pid[0] || first == pid[1]);
		k = first == pid[0] ? 0 : 1;
		status[k] = WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
		kill(pid[1 - k], SIGKILL);
		status[1 - k] = tu_wait(pid[1 - k]);
	} else {
		for (k = 0; k < 2; k++)
			status[k] = tu_wait(pid[k]);
	}
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void guarded(enum kind kind)
{
	int st[2];

	run_pair(kind, true, st);
	assert_int_equal(st[0], 0); /* writer: ESHRUNK, clean exit */
	assert_int_equal(st[1], 0); /* reader: idem */
}

static void test_spsc_guarded(void **state) { (void)state; guarded(K_SPSC); }
static void test_mpmc_guarded(void **state) { (void)state; guarded(K_MPMC); }
static void test_bcast_guarded(void **state) { (void)state; guarded(K_BCAST); }
static void test_slots_guarded(void **state) { (void)state; guarded(K_SLOTS); }

/* Without the guard the same truncation kills: the first worker to end
 * dies of SIGBUS. */
static void test_unguarded_sigbus(void **state)
{
	int st[2];

	(void)state;
	run_pair(K_SPSC, false, st);
	assert_true(st[0] == 1000 + SIGBUS || st[1] == 1000 + SIGBUS);
}

/* A block already shrunk is refused at attach, for every kind. */
static void test_attach_shrunk(void **state)
{
	enum kind kinds[] = { K_SPSC, K_MPMC, K_BCAST, K_SLOTS };
	struct worker w = { 0 };
	struct handles h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		const char *name = tu_name("attach");
		int rc;

		make(kinds[i], name);
		shrink(name, SMALL);
		w.kind = kinds[i];
		w.name = name;
		w.writer = true;
		rc = open_handles(&w, &h);
		if (rc == 0)
			close_handles(&w, &h);
		assert_int_equal(rc, -SHMBUS_ETRUNCATED);
		assert_int_equal(shmbus_block_unlink(name), 0);
	}
}

/* A raw block: shmbus_block_check() and the copies see the truncation. */
static void test_raw_block(void **state)
{
	const char *name = tu_name("raw");
	struct shmbus_block *b;
	char buf[16];

	(void)state;
	assert_int_equal(shmbus_sigbus_guard_enable(), 0);
	assert_true(shmbus_sigbus_guard_enabled());
	assert_int_equal(shmbus_block_create(&b, name, 16 * SMALL, 0), 0);
	assert_int_equal(shmbus_block_check(b), 0);
	assert_int_equal(shmbus_block_read(b, 8 * SMALL, buf, sizeof(buf)), 0);
	shrink(name, SMALL);
	assert_int_equal(shmbus_block_check(b), -SHMBUS_ESHRUNK);
	assert_int_equal(shmbus_block_read(b, 0, buf, sizeof(buf)), -SHMBUS_ESHRUNK);
	/* The tail reads zeros and takes writes, privately. */
	assert_int_equal(((const char *)shmbus_block_cdata(b))[12 * SMALL], 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

/* A SIGBUS that is not about our blocks still reaches the handler that was
 * there before the guard. */
static volatile sig_atomic_t prev_ran;
static void prev_handler(int sig)
{
	(void)sig;
	prev_ran = 1;
}

static int chain_child(void *arg)
{
	(void)arg;
	signal(SIGBUS, prev_handler);
	if (shmbus_sigbus_guard_enable() != 0)
		return 2;
	raise(SIGBUS);
	return prev_ran ? 0 : 3;
}

static void test_chain(void **state)
{
	(void)state;
	assert_int_equal(tu_wait(tu_spawn(chain_child, NULL)), 0);
}

/* The tool enables the guard: a truncation under `sub` and `get` is an
 * error message and exit status 1, not a death by SIGBUS. */
static int tool_sub(void *arg)
{
	const char *name = arg;
	const char *argv[] = { tu_tool(), "sub", name, NULL };
	char *err = NULL;
	int st = tu_run(argv, NULL, NULL, &err);
	int ok = st == 1 && err && strstr(err, name) && strstr(err, "truncated");

	if (!ok)
		fprintf(stderr, "sub: status %d, stderr: %s\n", st, err ? err : "");
	free(err);
	return ok ? 0 : 1;
}

static void test_tool_sub(void **state)
{
	const char *name = tu_name("toolsub");
	struct shmbus_spsc *tx;
	char msg[200];
	pid_t pid;
	int i;

	(void)state;
	make(K_SPSC, name);
	assert_int_equal(shmbus_spsc_open(&tx, name, SHMBUS_SPSC_PRODUCER), 0);
	memset(msg, 'y', sizeof(msg));
	pid = tu_spawn(tool_sub, (void *)name);
	/* The consumer (the tool) is there once messages go out. */
	for (i = 0; i < 1000; i++)
		assert_int_equal(shmbus_spsc_push(tx, msg, sizeof(msg), -1), 0);
	shmbus_spsc_close(tx);
	shrink(name, SMALL);
	assert_int_equal(tu_wait(pid), 0);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

/* `pub` blocked on a full ring (nobody consumes) when the ring shrinks. */
static int tool_pub(void *arg)
{
	const char *name = arg;
	const char *argv[] = { tu_tool(), "pub", name, NULL };
	char *in = malloc(200 * 1000 + 1), *err = NULL;
	int st, ok, i;

	if (!in)
		return 2;
	for (i = 0; i < 200 * 1000; i++)
		in[i] = i % 200 == 199 ? '\n' : 'z';
	in[200 * 1000] = '\0';
	st = tu_run(argv, in, NULL, &err);
	ok = st == 1 && err && strstr(err, name) && strstr(err, "truncated");
	if (!ok)
		fprintf(stderr, "pub: status %d, stderr: %s\n", st, err ? err : "");
	free(in);
	free(err);
	return ok ? 0 : 1;
}

static void test_tool_pub(void **state)
{
	const char *name = tu_name("toolpub");
	struct shmbus_spsc_stats stats;
	struct shmbus_spsc *rx;
	pid_t pid;

	(void)state;
	make(K_SPSC, name);
	pid = tu_spawn(tool_pub, (void *)name);
	/* Wait until the tool has filled the ring and waits for room. */
	assert_int_equal(shmbus_spsc_open(&rx, name, SHMBUS_SPSC_CONSUMER), 0);
	do {
		usleep(1000);
		assert_int_equal(shmbus_spsc_stats(rx, &stats), 0);
	} while (stats.full_waits == 0);
	shrink(name, SMALL);
	assert_int_equal(tu_wait(pid), 0);
	shmbus_spsc_close(rx);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_spsc_guarded, tu_teardown),
		cmocka_unit_test_teardown(test_mpmc_guarded, tu_teardown),
		cmocka_unit_test_teardown(test_bcast_guarded, tu_teardown),
		cmocka_unit_test_teardown(test_slots_guarded, tu_teardown),
		cmocka_unit_test_teardown(test_unguarded_sigbus, tu_teardown),
		cmocka_unit_test_teardown(test_attach_shrunk, tu_teardown),
		cmocka_unit_test_teardown(test_raw_block, tu_teardown),
		cmocka_unit_test_teardown(test_chain, tu_teardown),
		cmocka_unit_test_teardown(test_tool_sub, tu_teardown),
		cmocka_unit_test_teardown(test_tool_pub, tu_teardown),
	};

	(void)argc;
	(void)argv;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
