/*
 * test_mpmc_liveness.c - telling dead participants from live ones, and
 * cleaning up after the dead: a waiter that cannot read /proc (out of file
 * descriptors) must not take a live owner for dead and rob its slot; a
 * consumer killed while asleep stops counting as a waiter (else every later
 * commit pays a futex wake-up system call, for ever), at the next wake-up
 * or at once with the explicit sweep.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "relax_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"
#include "tu_mpmc_unit.h"

/* --- a waiter out of file descriptors ----------------------------------- */

/* A producer that reserves a slot, says so on @fd, and lives on. */
static int slow_producer(void *arg)
{
	const char *name = ((const char **)arg)[0];
	int fd = (int)(intptr_t)((const char **)arg)[1];
	struct shmbus_mpmc *h;
	void *w;

	/* Never outlive a test that failed before it could kill us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	if (shmbus_mpmc_open(&h, name, SHMBUS_MPMC_PRODUCER))
		return 2;
	if (shmbus_mpmc_reserve_try(h, 4, &w))
		return 3;
	if (write(fd, "r", 1) != 1)
		return 4;
	for (;;)
		pause();
}

static void test_no_fds_no_robbery(void **state)
{
	const char *name = tu_mpmc_make("nofds", 4, 8, 20, 8);
	const void *arg[2];
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct mpmc_slot *s0 = mpmc_slot_at(c, 0);
	struct rlimit old, low;
	uint64_t w;
	char buf[8], r;
	int fds[2], lowest;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	arg[0] = name;
	arg[1] = (const void *)(intptr_t)fds[1];
	pid = tu_spawn(slow_producer, arg);
	assert_int_equal(read(fds[0], &r, 1), 1);
	w = atomic_load(&s0->word);
	assert_int_equal(mpmc_word_state(w), MPMC_WRITING);
	/* No descriptor left for this process: /proc cannot be read. */
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)lowest;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* Many liveness timeouts stuck on the live producer's slot. */
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 200), -ETIMEDOUT);
	assert_int_equal(shmbus_mpmc_recover(c), 0);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Its slot is still its own; nothing lost, nobody recovered. */
	assert_int_equal(atomic_load(&s0->word), w);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 0);
	assert_int_equal(tu_mpmc_stats_of(c).recovered, 0);
	/* Once it is really dead, the slot is recovered. */
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(shmbus_mpmc_recover(c), 1);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	close(fds[0]);
	close(fds[1]);
	shmbus_mpmc_close(c);
}

static uint32_t waiters_of(struct waitq *q)
{
	return waitq_word_waiters(atomic_load(&q->word));
}

/* --- a sleeper killed -------------------------------------------------- */

static int sleeping_consumer(void *arg)
{
	const char *name = arg;
	struct shmbus_mpmc *h;
	char buf[8];

	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
		return 1;
	if (shmbus_mpmc_open(&h, name, SHMBUS_MPMC_CONSUMER))
		return 2;
	shmbus_mpmc_set_yields(h, 0);
	for (;;) {
		if (shmbus_mpmc_pop(h, buf, sizeof(buf), -1) < 0)
			return 3;
	}
}

/* Start a consumer, let it fall asleep on the empty ring, kill it. */
static void kill_asleep(const char *name, struct shmbus_mpmc *p)
{
	struct waitq *q = &p->ctl->not_empty.q;
	pid_t pid = tu_spawn(sleeping_consumer, (void *)name);
	int i;

	for (i = 0; i < 20000 && waiters_of(q) != 1; i++)
		usleep(500);
	assert_int_equal(waiters_of(q), 1);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(waiters_of(q), 1); /* dead, still counted */
}

static void test_dead_sleeper_forgotten(void **state)
{
	const char *name = tu_mpmc_make("deadsleep", 8, 8, 20, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct waitq *q = &p->ctl->not_empty.q;
	struct shmbus_mpmc *c;
	uint64_t wakes, recovered;
	char buf[8];
	int i;

	(void)state;
	/* The busy path: the first wake takes the dead sleeper out of the
	 * count, with one system call, and no later commit makes one. */
	kill_asleep(name, p);
	c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	wakes = tu_mpmc_stats_of(p).wakes;
	assert_int_equal(shmbus_mpmc_push_try(p, "m", 1), 0);
	assert_int_equal(waiters_of(q), 0);
	assert_int_equal(tu_mpmc_stats_of(p).wakes, wakes + 1);
	for (i = 0; i < 100; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "m", 1), 0);
	}
	assert_int_equal(tu_mpmc_stats_of(p).wakes, wakes + 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_true(shmbus_mpmc_recover(p) >= 0); /* settles the first one's entry */
	recovered = tu_mpmc_stats_of(p).recovered;
	/* The explicit sweep recovers a dead sleeper's entry, and its count,
	 * at once. */
	shmbus_mpmc_close(c);
	kill_asleep(name, p);
	assert_int_equal(shmbus_mpmc_recover(p), 0); /* no claim recovered */
	assert_int_equal(waiters_of(q), 0);
	assert_int_equal(tu_mpmc_stats_of(p).recovered, recovered + 1);
	shmbus_mpmc_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_no_fds_no_robbery, tu_teardown),
		cmocka_unit_test_teardown(test_dead_sleeper_forgotten, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
