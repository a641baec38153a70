/*
 * test_mpmc_eos.c - end of stream of the mpmc ring: consumers get every
 * message published before the end and then -SHMBUS_EEOS, from every
 * consumer call and repeatably; the end waits for every live producer that
 * holds the stream open; a producer that leaves or dies holds it open no
 * more (a dead one's claimed slot is recovered, and what was published
 * after it is still delivered); pushes after the close fail with -EPIPE
 * until an explicit reopen; a consumer asleep when the stream ends is woken.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"
#include "tu_mpmc_unit.h"

static void push_str(struct shmbus_mpmc *p, const char *s)
{
	assert_int_equal(shmbus_mpmc_push_try(p, s, strlen(s)), 0);
}

static void pop_str(struct shmbus_mpmc *c, const char *want, int timeout_ms)
{
	char buf[16];
	int n = shmbus_mpmc_pop(c, buf, sizeof(buf), timeout_ms);

	assert_int_equal(n, (int)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
}

/* Every consumer call form says end of stream, twice over. */
static void assert_eos(struct shmbus_mpmc *c)
{
	struct shmbus_mpmc_msg msgs[2];
	char b0[16], b1[16];
	void *bufs[2] = { b0, b1 };
	size_t lens[2], len;
	const void *data;
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, b0, sizeof(b0)), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_pop(c, b0, sizeof(b0), -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_pop(c, b0, sizeof(b0), 0), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_peek_try(c, &data, &len), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_peek(c, &data, &len, -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_peek_burst_try(c, msgs, 2), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_peek_burst(c, msgs, 2, -1), -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_pop_burst_try(c, bufs, sizeof(b0), lens, 2),
				 -SHMBUS_EEOS);
		assert_int_equal(shmbus_mpmc_pop_burst(c, bufs, sizeof(b0), lens, 2, -1),
				 -SHMBUS_EEOS);
	}
}

static void assert_pipe(struct shmbus_mpmc *p)
{
	struct shmbus_mpmc_msg m = { "x", 1 };
	struct shmbus_mpmc_buf b = { NULL, 1 };
	void *data;

	assert_int_equal(shmbus_mpmc_push_try(p, "x", 1), -EPIPE);
	assert_int_equal(shmbus_mpmc_push(p, "x", 1, -1), -EPIPE);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &data), -EPIPE);
	assert_int_equal(shmbus_mpmc_reserve(p, 1, &data, -1), -EPIPE);
	assert_int_equal(shmbus_mpmc_reserve_burst_try(p, &b, 1), -EPIPE);
	assert_int_equal(shmbus_mpmc_push_burst(p, &m, 1, -1), -EPIPE);
}

static void test_one_producer(void **state)
{
	const char *name = tu_mpmc_make("eos1", 8, 16, 50, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc_stats st;
	void *data;
	char buf[16];

	(void)state;
	assert_int_equal(shmbus_mpmc_close_stream(c), -EPERM);
	assert_int_equal(shmbus_mpmc_reopen_stream(c), -EPERM);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	push_str(p, "a");
	push_str(p, "b");
	/* A reservation is not a message: close_stream drops it. */
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &data), 0);
	st = tu_mpmc_stats_of(p);
	assert_int_equal(st.producers_open, 1);
	assert_int_equal(st.ended, 0);
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	assert_int_equal(shmbus_mpmc_close_stream(p), 0); /* idempotent */
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.ended, 1);
	assert_int_equal(st.producers_open, 0);
	assert_int_equal(st.producers_closed, 1);
	assert_int_equal(st.lost, 0);
	assert_pipe(p);
	assert_int_equal(shmbus_mpmc_commit(p, 1), -EINVAL); /* nothing reserved */
	pop_str(c, "a", 0);
	pop_str(c, "b", -1);
	assert_eos(c);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_two_producers(void **state)
{
	const char *name = tu_mpmc_make("eos2", 8, 16, 50, 8);
	struct shmbus_mpmc *p1 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *p2 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[16];

	(void)state;
	push_str(p1, "1");
	assert_int_equal(shmbus_mpmc_close_stream(p1), 0);
	pop_str(c, "1", 0);
	/* p2 still holds it open. */
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 20), -ETIMEDOUT);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 0);
	assert_int_equal(tu_mpmc_stats_of(c).producers_open, 1);
	push_str(p2, "2");
	push_str(p2, "3");
	assert_int_equal(shmbus_mpmc_close_stream(p2), 0);
	assert_int_equal(tu_mpmc_stats_of(c).producers_closed, 2);
	pop_str(c, "2", 0);
	pop_str(c, "3", 0);
	assert_eos(c);
	shmbus_mpmc_close(p1);
	shmbus_mpmc_close(p2);
	shmbus_mpmc_close(c);
}

/* A producer that closes its handle without closing the stream leaves it:
 * it neither ends the stream on its own nor holds it open. */
static void test_leaver(void **state)
{
	const char *name = tu_mpmc_make("eosleave", 8, 16, 50, 8);
	struct shmbus_mpmc *p1 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *p2 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[16];

	(void)state;
	push_str(p1, "1");
	shmbus_mpmc_close(p1); /* left, not closed: no end */
	pop_str(c, "1", 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 0);
	assert_int_equal(shmbus_mpmc_close_stream(p2), 0);
	assert_eos(c);
	shmbus_mpmc_close(p2);
	shmbus_mpmc_close(c);
}

/* The other order: one closed, and the last holder leaves: ended. */
static void test_leaver_last(void **state)
{
	const char *name = tu_mpmc_make("eosleave2", 8, 16, 50, 8);
	struct shmbus_mpmc *p1 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *p2 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[16];

	(void)state;
	assert_int_equal(shmbus_mpmc_close_stream(p1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	push_str(p2, "2");
	shmbus_mpmc_close(p2);
	pop_str(c, "2", 0);
	assert_eos(c);
	shmbus_mpmc_close(p1);
	shmbus_mpmc_close(c);
}

/* --- a dead producer ---------------------------------------------------- */

/* Opens a producer, publishes "c1", claims a slot it never publishes, says
 * so on @fd, and lives on until killed. */
static int dying_producer(void *arg)
{
	const char *name = ((const char **)arg)[0];
	int fd = (int)(intptr_t)((const char **)arg)[1];
	struct shmbus_mpmc *h;
	void *w;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	if (shmbus_mpmc_open(&h, name, SHMBUS_MPMC_PRODUCER))
		return 2;
	if (shmbus_mpmc_push_try(h, "c1", 2) || shmbus_mpmc_reserve_try(h, 4, &w))
		return 3;
	if (write(fd, "r", 1) != 1)
		return 4;
	for (;;)
		pause();
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_dead_producer(void **state)
{
	const char *name = tu_mpmc_make("eosdead", 8, 16, 50, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	const void *arg[2];
	uint64_t t0;
	char buf[16], r;
	int fds[2];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	arg[0] = name;
	arg[1] = (void *)(intptr_t)fds[1];
	pid = tu_spawn(dying_producer, arg);
	assert_int_equal(read(fds[0], &r, 1), 1);
	/* Published after the dead one's claim: a position past it. */
	push_str(p, "p1");
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 0); /* the other one is alive */
	pop_str(c, "c1", 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	/* Dead, it counts as closed; its claim is recovered after the
	 * liveness timeout and what follows it is still delivered. */
	t0 = ms_now();
	pop_str(c, "p1", 10000);
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 10000), -SHMBUS_EEOS);
	assert_true(ms_now() - t0 < 5000);
	assert_eos(c);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 1);
	close(fds[0]);
	close(fds[1]);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* A dead producer that did not close is found by a _try consumer too, and
 * by the last closer at once. */
static void test_dead_then_close(void **state)
{
	const char *name = tu_mpmc_make("eosdead2", 8, 16, 50, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	const void *arg[2];
	char buf[16], r;
	int fds[2], rc, i;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	arg[0] = name;
	arg[1] = (void *)(intptr_t)fds[1];
	pid = tu_spawn(dying_producer, arg);
	assert_int_equal(read(fds[0], &r, 1), 1);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(tu_mpmc_stats_of(c).producers_open, 2);
	/* Nobody closed: a crash alone is no end. */
	pop_str(c, "c1", 0);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 0);
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 1); /* the closer saw it dead */
	/* _try calls wait out the dead claim (-EAGAIN, not the end: something
	 * may follow it), then recover it and report the end. */
	for (i = 0; i < 2000; i++) {
		rc = shmbus_mpmc_pop_try(c, buf, sizeof(buf));
		if (rc != -EAGAIN)
			break;
		usleep(1000);
	}
	assert_int_equal(rc, -SHMBUS_EEOS);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	close(fds[0]);
	close(fds[1]);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* --- reopen ------------------------------------------------------------- */

static void test_reopen(void **state)
{
	const char *name = tu_mpmc_make("eosreopen", 8, 16, 50, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc *late;
	struct shmbus_mpmc_stats st;

	(void)state;
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	assert_eos(c);
	/* Opening after the end does not reopen it. */
	late = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	assert_pipe(late);
	assert_eos(c);
	assert_int_equal(tu_mpmc_stats_of(c).producers_open, 0);
	/* Only the explicit call does. */
	assert_int_equal(shmbus_mpmc_reopen_stream(late), 0);
	assert_int_equal(shmbus_mpmc_reopen_stream(late), 0); /* idempotent */
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.ended, 0);
	assert_int_equal(st.reopens, 1);
	assert_int_equal(st.producers_closed, 0);
	assert_int_equal(st.producers_open, 1);
	push_str(late, "new");
	pop_str(c, "new", 0);
	assert_int_equal(shmbus_mpmc_pop(c, (char[16]){ 0 }, 16, 10), -ETIMEDOUT);
	/* The first producer is still closed; it rejoins by reopening too. */
	assert_pipe(p);
	assert_int_equal(shmbus_mpmc_reopen_stream(p), 0);
	assert_int_equal(tu_mpmc_stats_of(c).reopens, 1); /* joined, not restarted */
	push_str(p, "again");
	assert_int_equal(shmbus_mpmc_close_stream(late), 0);
	assert_int_equal(tu_mpmc_stats_of(c).ended, 0);
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	pop_str(c, "again", 0);
	assert_eos(c);
	shmbus_mpmc_close(late);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* --- a consumer asleep -------------------------------------------------- */

struct sleeper {
	struct shmbus_mpmc *c;
	int rc;
	_Atomic int done;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	char buf[16];

	s->rc = shmbus_mpmc_pop(s->c, buf, sizeof(buf), -1);
	atomic_store(&s->done, 1);
	return NULL;
}

static void test_sleeper_woken(void **state)
{
	/* A long liveness timeout: the sleep is ended by the wake-up, not by
	 * the cap. */
	const char *name = tu_mpmc_make("eossleep", 8, 16, 30000, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct sleeper s = { .c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER) };
	struct waitq *q = &p->ctl->not_empty.q;
	pthread_t t;
	uint64_t t0;
	int i;

	(void)state;
	shmbus_mpmc_set_yields(s.c, 0);
	assert_int_equal(pthread_create(&t, NULL, sleeper_main, &s), 0);
	for (i = 0; i < 20000 && !waitq_has_waiters(q); i++)
		usleep(500);
	assert_true(waitq_has_waiters(q));
	usleep(20000); /* into the futex sleep, most likely */
	assert_int_equal(atomic_load(&s.done), 0);
	t0 = ms_now();
	assert_int_equal(shmbus_mpmc_close_stream(p), 0);
	for (i = 0; i < 10000 && !atomic_load(&s.done); i++)
		usleep(500);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(s.rc, -SHMBUS_EEOS);
	assert_true(ms_now() - t0 < 5000);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(s.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_one_producer, tu_teardown),
		cmocka_unit_test_teardown(test_two_producers, tu_teardown),
		cmocka_unit_test_teardown(test_leaver, tu_teardown),
		cmocka_unit_test_teardown(test_leaver_last, tu_teardown),
		cmocka_unit_test_teardown(test_dead_producer, tu_teardown),
		cmocka_unit_test_teardown(test_dead_then_close, tu_teardown),
		cmocka_unit_test_teardown(test_reopen, tu_teardown),
		cmocka_unit_test_teardown(test_sleeper_woken, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
