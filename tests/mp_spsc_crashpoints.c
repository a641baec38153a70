/*
 * mp_spsc_crashpoints.c - a side killed at every instruction of a call.
 *
 * A child process takes a role, stops itself under ptrace, and the parent
 * single-steps it k instructions into one operation (reserve + commit with a
 * padding record at the wrap, a burst across the wrap, a reserve that
 * publishes its padding alone, push; peek + release past padding, a burst of
 * peeks and releases, pop, a release of messages never peeked), then kills
 * it with SIGKILL; for k = 0, 1, 2, ... until the child gets through on its
 * own.  After each kill the parent takes the dead role over and checks:
 *  - the takeover works and nothing is reported corrupt;
 *  - a dead producer's call is all or nothing: the consumer gets every
 *    message of it, intact, or none;
 *  - a dead consumer's call is all or nothing too: the next consumer starts
 *    at the first message of that call or right after its last, no gap;
 *  - the counters are at most that one call behind the positions;
 *  - the stream goes on through the same ring (across the wrap).
 * Under sanitizers (where each instruction becomes several) 40 kill points
 * are spread over the call so the run stays short; the checks are the same.
 * Skipped (77) where ptrace is not allowed.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tu_spsc.h"
#include "testutil.h"

#define RING 1024
#define MAXSEQ 32

/* Length of each message by sequence number (set up by each scenario). */
static size_t lens[MAXSEQ];

struct scen {
	const char *what;
	enum shmbus_spsc_role victim;
	/* With both handles open: put the ring in the state the op starts from. */
	void (*setup)(struct shmbus_spsc *p, struct shmbus_spsc *c);
	/* In the child, on its own handle: 0 when it did what it should. */
	int (*op)(struct shmbus_spsc *q);
	uint64_t first;  /* first message of the call */
	uint64_t n;      /* messages the call commits or frees */
	uint64_t last;   /* producer victim: 0; consumer victim: the last
			  * message in the ring at the start */
};

static void push(struct shmbus_spsc *p, uint64_t seq, size_t len)
{
	unsigned char buf[RING];

	lens[seq] = len;
	tu_spsc_fill(buf, seq, len);
	assert_int_equal(shmbus_spsc_push_try(p, buf, len), 0);
}

/* Pop message @seq (check it); -EAGAIN when there is none. */
static int pop(struct shmbus_spsc *c, uint64_t *seq_out)
{
	unsigned char buf[RING];
	uint64_t seq;
	int rc = shmbus_spsc_pop_try(c, buf, sizeof(buf));

	if (rc < 0)
		return rc;
	assert_true(rc >= 16);
	memcpy(&seq, buf, 8);
	assert_true(seq < MAXSEQ);
	assert_int_equal((size_t)rc, lens[seq]);
	assert_true(tu_spsc_check(buf, (size_t)rc, seq, 0));
	*seq_out = seq;
	return 0;
}

/* Ten messages in and out: both positions at 800, 224 bytes before the end. */
static void to_800(struct shmbus_spsc *p, struct shmbus_spsc *c)
{
	uint64_t seq, i;

	for (i = 0; i < 10; i++)
		push(p, i, 72);
	for (i = 0; i < 10; i++) {
		assert_int_equal(pop(c, &seq), 0);
		assert_int_equal(seq, i);
	}
}

/* As to_800, then messages 10 (after a padding record), 11 and 12. */
static void three_after_padding(struct shmbus_spsc *p, struct shmbus_spsc *c)
{
	to_800(p, c);
	push(p, 10, 300); /* padding 800..1024, then 1024..1336 */
	push(p, 11, 100);
	push(p, 12, 100);
}

/* --- the operations, run in the child ---------------------------------- */

static unsigned char src[3][RING];

static int op_burst(struct shmbus_spsc *q);

/* The messages a producer child writes (the parent checks them by these
 * lengths): message 10 alone, or 10, 11, 12 in a burst of 150-byte
 * reservations committed shorter. */
static void prepare_sources(const struct scen *s)
{
	lens[10] = s->op == op_burst ? 120 : 300;
	lens[11] = 140;
	lens[12] = 130;
	tu_spsc_fill(src[0], 10, lens[10]);
	tu_spsc_fill(src[1], 11, lens[11]);
	tu_spsc_fill(src[2], 12, lens[12]);
}

/* Reserve more than needed (padding first), write, commit less. */
static int op_commit(struct shmbus_spsc *q)
{
	void *w;

	if (shmbus_spsc_reserve_try(q, 350, &w))
		return 1;
	memcpy(w, src[0], lens[10]);
	return shmbus_spsc_commit(q, lens[10]) ? 2 : 0;
}

/* Three records, a padding record among them, committed shorter. */
static int op_burst(struct shmbus_spsc *q)
{
	struct shmbus_spsc_buf bufs[3] = { { .len = 150 }, { .len = 150 }, { .len = 150 } };
	int i;

	if (shmbus_spsc_reserve_burst_try(q, bufs, 3) != 3)
		return 1;
	for (i = 0; i < 3; i++) {
		bufs[i].len = lens[10 + i];
		memcpy(bufs[i].data, src[i], bufs[i].len);
	}
	return shmbus_spsc_commit_bulk(q, bufs, 3) ? 2 : 0;
}

/* A record that fits only after the consumer frees the padding in front of
 * it: the padding is published alone, the call says -EAGAIN. */
static int op_pad_alone(struct shmbus_spsc *q)
{
	return shmbus_spsc_push_try(q, src[0], 1000) == -EAGAIN ? 0 : 1;
}

static int op_push(struct shmbus_spsc *q)
{
	return shmbus_spsc_push_try(q, src[0], lens[10]) ? 1 : 0;
}

static int op_peek_release(struct shmbus_spsc *q)
{
	const void *d;
	size_t len;

	if (shmbus_spsc_peek_try(q, &d, &len) || len != 300)
		return 1;
	return shmbus_spsc_release(q) ? 2 : 0;
}

static int op_peek_burst(struct shmbus_spsc *q)
{
	struct shmbus_spsc_msg msgs[3];

	if (shmbus_spsc_peek_burst_try(q, msgs, 3) != 3 || msgs[2].len != 100)
		return 1;
	return shmbus_spsc_release_burst(q, 3) == 3 ? 0 : 2;
}

static int op_pop(struct shmbus_spsc *q)
{
	unsigned char buf[RING];

	return shmbus_spsc_pop_try(q, buf, sizeof(buf)) == 300 ? 0 : 1;
}

static int op_release_unpeeked(struct shmbus_spsc *q)
{
	return shmbus_spsc_release_burst(q, 2) == 2 ? 0 : 1;
}

static const struct scen scens[] = {
	{ "commit", SHMBUS_SPSC_PRODUCER, to_800, op_commit, 10, 1, 0 },
	{ "burst", SHMBUS_SPSC_PRODUCER, to_800, op_burst, 10, 3, 0 },
	{ "padalone", SHMBUS_SPSC_PRODUCER, to_800, op_pad_alone, 10, 0, 0 },
	{ "push", SHMBUS_SPSC_PRODUCER, to_800, op_push, 10, 1, 0 },
	{ "release", SHMBUS_SPSC_CONSUMER, three_after_padding, op_peek_release, 10, 1, 12 },
	{ "relburst", SHMBUS_SPSC_CONSUMER, three_after_padding, op_peek_burst, 10, 3, 12 },
	{ "pop", SHMBUS_SPSC_CONSUMER, three_after_padding, op_pop, 10, 1, 12 },
	{ "unpeeked", SHMBUS_SPSC_CONSUMER, three_after_padding, op_release_unpeeked, 10, 2, 12 },
};

/* --- the harness ---------------------------------------------------------- */

static const struct scen *child_scen;
static const char *child_name;

static int child(void *arg)
{
	struct shmbus_spsc *q;

	(void)arg;
	prepare_sources(child_scen);
	if (shmbus_spsc_open(&q, child_name, child_scen->victim))
		return 90;
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		return 91;
	/* The system call itself, not raise(): the first steps are ours. */
	syscall(SYS_kill, getpid(), SIGSTOP);
	/* From here on, any instruction may be the last.  Exit with the system
	 * call too: a first call of _exit() would go through the dynamic
	 * linker, hundreds of steps that prove nothing. */
	syscall(SYS_exit_group, child_scen->op(q));
	return 92;
}

/* Wait for @pid to stop or end; true if it stopped. */
static bool stopped(pid_t pid, int *st)
{
	while (waitpid(pid, st, 0) < 0)
		assert_int_equal(errno, EINTR);
	return WIFSTOPPED(*st);
}

/*
 * Run the child, step it @k instructions, kill it.  Returns how many it
 * stepped; fewer than @k if it ended on its own (then it must have
 * succeeded).
 */
static uint64_t run_child_for(uint64_t k)
{
	pid_t pid = tu_spawn(child, NULL);
	uint64_t i;
	int st;

	assert_true(stopped(pid, &st));
	assert_int_equal(WSTOPSIG(st), SIGSTOP);
	for (i = 0; i < k; i++) {
		assert_int_equal(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), 0);
		if (!stopped(pid, &st)) {
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
			return i;
		}
	}
	assert_int_equal(kill(pid, SIGKILL), 0);
	while (stopped(pid, &st))
		;
	assert_true(WIFSIGNALED(st));
	return k;
}

/* After the kill: take over, check the ring, drain it, go on streaming. */
static void check_after(const struct scen *s, struct shmbus_spsc *p, struct shmbus_spsc *c,
			const char *name)
{
	struct shmbus_spsc_stats st;
	uint64_t seq, next, want, got = 0, i;
	int64_t lag;
	int rc;

	if (s->victim == SHMBUS_SPSC_PRODUCER)
		assert_int_equal(shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER), 0);
	else
		assert_int_equal(shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_stats(c, &st), 0);
	assert_false(st.corrupt);

	/* What is in the ring now, in order, intact. */
	next = s->first;
	while ((rc = pop(c, &seq)) == 0) {
		if (got == 0 && s->victim == SHMBUS_SPSC_CONSUMER)
			next = seq; /* where the dead consumer's call left off */
		assert_int_equal(seq, next);
		next++;
		got++;
	}
	assert_int_equal(rc, -EAGAIN);
	if (s->victim == SHMBUS_SPSC_PRODUCER) {
		/* all of the dead producer's call or nothing */
		assert_true(got == 0 || got == s->n);
	} else {
		/* from the first of the dead consumer's call, or after its last */
		assert_true((got == s->last - s->first + 1 && next == s->last + 1) ||
			    (got == s->last - s->first + 1 - s->n && next == s->last + 1) ||
			    (s->last - s->first + 1 == s->n && got == 0));
	}

	/* The counters lag by at most the dead side's one call. */
	assert_int_equal(shmbus_spsc_stats(c, &st), 0);
	assert_false(st.corrupt);
	assert_int_equal(st.used, 0);
	lag = (int64_t)(st.msgs_in - st.msgs_out);
	if (s->victim == SHMBUS_SPSC_PRODUCER)
		assert_true(lag <= 0 && -lag <= (int64_t)s->n);
	else
		assert_true(lag >= 0 && lag <= (int64_t)s->n);

	/* The stream goes on: three messages, the first one large (it may need
	 * the consumer to free a padding record first). */
	want = s->victim == SHMBUS_SPSC_PRODUCER ? s->first + got : s->last + 1;
	for (i = 0; i < 3; i++) {
		unsigned char buf[RING];
		size_t len = i == 0 ? 900 : 200;

		lens[want + i] = len;
		tu_spsc_fill(buf, want + i, len);
		while ((rc = shmbus_spsc_push_try(p, buf, len)) == -EAGAIN)
			assert_int_equal(pop(c, &seq), -EAGAIN); /* frees padding */
		assert_int_equal(rc, 0);
		assert_int_equal(pop(c, &seq), 0);
		assert_int_equal(seq, want + i);
	}
	assert_int_equal(shmbus_spsc_stats(c, &st), 0);
	assert_false(st.corrupt);
	assert_int_equal(st.used, 0);
	shmbus_spsc_close(p);
	shmbus_spsc_close(c);
}

static bool ptrace_works(void)
{
	static int works = -1;
	pid_t pid;
	int st;

	if (works >= 0)
		return works;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	works = stopped(pid, &st) && ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) == 0;
	kill(pid, SIGKILL);
	while (stopped(pid, &st))
		;
	return works;
}

/* One run: a fresh ring in the scenario's state, the child killed after @k
 * instructions (or not at all), the checks.  Returns what run_child_for()
 * does. */
static uint64_t one_run(const struct scen *s, const char *name, uint64_t k)
{
	struct shmbus_spsc *p, *c;
	uint64_t steps;

	assert_int_equal(shmbus_spsc_create(name, RING, 0), 0);
	assert_int_equal(shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER), 0);
	prepare_sources(s); /* the lengths the child will use; setup may set
			     * others by pushing */
	s->setup(p, c);
	if (s->victim == SHMBUS_SPSC_PRODUCER) {
		shmbus_spsc_close(p);
		p = NULL;
	} else {
		shmbus_spsc_close(c);
		c = NULL;
	}
	steps = run_child_for(k);
	check_after(s, p, c, name);
	assert_int_equal(shmbus_block_unlink(name), 0);
	return steps;
}

static void crash_everywhere(const struct scen *s)
{
	const char *name = tu_name(s->what);
	uint64_t len, k, step, points = 0;

	if (!ptrace_works())
		skip();
	child_scen = s;
	child_name = name;
	/* First through without a kill: how many instructions there are. */
	len = one_run(s, name, UINT64_MAX);
	assert_true(len < 1000000);
	/* Under sanitizers every instruction is several, and each kill point
	 * costs a run from the start: 40 points spread over the call. */
	step = tu_sanitized() ? len / 40 + 1 : 1;
	for (k = 0; k < len; k += step) {
		uint64_t got = one_run(s, name, k);

		/* A run's length varies by a few dozen instructions (what it
		 * reads from /proc, e.g. pids, differs in length): a point in
		 * the last 1% may come after a shorter run ended, uncut,
		 * which check_after() has checked like any other. */
		if (got != k)
			assert_true(got < k && k + len / 100 + 64 >= len);
		points++;
	}
	print_message("%s: %llu instructions, killed after 0, %llu, %llu, ... of them (%llu runs)\n",
		      s->what, (unsigned long long)len, (unsigned long long)step,
		      (unsigned long long)(2 * step), (unsigned long long)points);
}

static void test_producer_commit(void **state) { (void)state; crash_everywhere(&scens[0]); }
static void test_producer_burst(void **state) { (void)state; crash_everywhere(&scens[1]); }
static void test_producer_pad_alone(void **state) { (void)state; crash_everywhere(&scens[2]); }
static void test_producer_push(void **state) { (void)state; crash_everywhere(&scens[3]); }
static void test_consumer_release(void **state) { (void)state; crash_everywhere(&scens[4]); }
static void test_consumer_burst(void **state) { (void)state; crash_everywhere(&scens[5]); }
static void test_consumer_pop(void **state) { (void)state; crash_everywhere(&scens[6]); }
static void test_consumer_unpeeked(void **state) { (void)state; crash_everywhere(&scens[7]); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_producer_commit, tu_teardown),
		cmocka_unit_test_teardown(test_producer_burst, tu_teardown),
		cmocka_unit_test_teardown(test_producer_pad_alone, tu_teardown),
		cmocka_unit_test_teardown(test_producer_push, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_release, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_burst, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_pop, tu_teardown),
		cmocka_unit_test_teardown(test_consumer_unpeeked, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_spsc_crashpoints", tests, NULL, NULL);
}
