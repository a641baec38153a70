/*
 * harness_spawn.c - the processes of one measurement: fork them, let them
 * set up untimed, release them together through a barrier in shared memory,
 * collect what they measured, and never hang on a broken one.
 *
 * Invariant: the clock of a measurement starts when the last process arrives
 * at the start barrier; nothing a role does before bench_proc_start() is
 * timed.  Every process reads the clock just after leaving the barrier, and
 * the harness takes the earliest of those reads as the start.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Spins at a barrier before each sched_yield(): long enough to catch a peer
 * that is a few microseconds behind, short enough not to starve a peer that
 * shares our CPU. */
#define BARRIER_SPINS 4096

/* One process's results; its own 128-byte region, written by it alone. */
struct bench_slot {
	alignas(128) uint64_t t_start, t_end;
	uint64_t msgs, bytes;
	uint32_t done, has_lat;
	struct bench_lat lat;
};

struct bench_shared {
	/* The barrier.  arrived counts processes inside the current round;
	 * generation names the round and is the word waiters watch. */
	alignas(128) _Atomic uint32_t arrived;
	_Atomic uint32_t generation;
	uint32_t nprocs;
	struct bench_slot slot[BENCH_MAX_PROCS];
};

static_assert(ATOMIC_INT_LOCK_FREE == 2, "cross-process atomics must be lock-free");
static_assert(sizeof(struct bench_slot) % 128 == 0, "slots must not share lines");

void *bench_shared_alloc(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Fault the pages in now (in the parent), outside any timing. */
	memset(p, 0, n);
	return p;
}

void bench_shared_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

void bench_proc_sync(struct bench_proc *p)
{
	struct bench_shared *sh = p->sh;
	/* A1: acquire, pairs with R1 below: once we see the round change,
	 * everything the others wrote before arriving is visible to us. */
	uint32_t gen = atomic_load_explicit(&sh->generation, memory_order_acquire);
	unsigned spins = 0;

	/* AR1: acq_rel: the last to arrive acquires every earlier arrival's
	 * writes (release half) before releasing them all through R1. */
	if (atomic_fetch_add_explicit(&sh->arrived, 1, memory_order_acq_rel) ==
	    sh->nprocs - 1) {
		/* Relaxed: nobody reads arrived until generation moves (R1). */
		atomic_store_explicit(&sh->arrived, 0, memory_order_relaxed);
		/* R1: release, pairs with A1/A2: opens the next round. */
		atomic_store_explicit(&sh->generation, gen + 1, memory_order_release);
		return;
	}
	/* A2: acquire, pairs with R1. */
	while (atomic_load_explicit(&sh->generation, memory_order_acquire) == gen) {
		if (++spins < BARRIER_SPINS)
			shmbus_cpu_relax();
		else
			sched_yield();
	}
}

void bench_proc_start(struct bench_proc *p)
{
	bench_proc_sync(p);
	p->sh->slot[p->index].t_start = bench_now_ns();
}

void bench_proc_done(struct bench_proc *p, uint64_t msgs, uint64_t bytes)
{
	struct bench_slot *s = &p->sh->slot[p->index];

	s->t_end = bench_now_ns();
	s->msgs = msgs;
	s->bytes = bytes;
	/* Plain store: the parent reads it only after waitpid(), which
	 * orders everything the child did before exiting. */
	s->done = 1;
}

void bench_proc_latency(struct bench_proc *p, uint64_t *samples, size_t n)
{
	struct bench_slot *s = &p->sh->slot[p->index];

	bench_lat_compute(samples, n, &s->lat);
	s->has_lat = 1;
}

int bench_pin_self(unsigned index)
{
	cpu_set_t allowed, one;
	int cpu, seen = 0, want;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return -1;
	want = (int)(index % (unsigned)CPU_COUNT(&allowed));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (seen++ == want)
			break;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return -1;
	return cpu;
}

static void child_main(const struct bench_run *run, struct bench_shared *sh, unsigned index,
		       unsigned nprocs, bench_proc_fn fn, void *arg)
{
	struct bench_proc p = {
		.index = index, .nprocs = nprocs, .cpu = -1, .run = run, .sh = sh,
	};
	int rc;

	if (run->opts->pin) {
		p.cpu = bench_pin_self(index);
		if (p.cpu < 0)
			fprintf(stderr, "shmbus-bench: cannot pin process %u: %s\n", index,
				strerror(errno));
	}
	rc = fn(&p, arg);
	if (rc == 0 && !sh->slot[index].done) {
		fprintf(stderr, "shmbus-bench: %s: process %u never called bench_proc_done()\n",
			run->wl->name, index);
		rc = -EPROTO;
	}
	if (rc < 0)
		fprintf(stderr, "shmbus-bench: %s: process %u: %s\n", run->wl->name, index,
			strerror(-rc));
	/* _exit: the stdio buffers inherited from the parent are not ours
	 * to flush (they would be printed twice). */
	_exit(rc < 0 ? 1 : 0);
}

static void kill_all(pid_t *pids, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

/* Reap every child that ended; returns -ECHILD if one failed.  @killed:
 * we killed them, so a death by signal is no news. */
static int reap(pid_t *pids, unsigned n, unsigned *left, bool killed)
{
	unsigned i;
	int rc = 0, st;

	for (i = 0; i < n; i++) {
		pid_t got;

		if (pids[i] <= 0)
			continue;
		do
			got = waitpid(pids[i], &st, WNOHANG);
		while (got < 0 && errno == EINTR);
		if (got == 0)
			continue;
		if (got < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			if (got > 0 && WIFSIGNALED(st) && !killed)
				fprintf(stderr, "shmbus-bench: process %u killed by signal %d\n",
					i, WTERMSIG(st));
			rc = -ECHILD;
		}
		pids[i] = 0;
		(*left)--;
	}
	return rc;
}

/* Wait for all children; kill the rest if one fails or time runs out. */
static int wait_all(const struct bench_run *run, pid_t *pids, unsigned n)
{
	uint64_t deadline = bench_now_ns() + (uint64_t)run->opts->timeout_s * 1000000000u;
	unsigned left = n;
	sigset_t chld;
	int rc = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (left) {
		uint64_t now = bench_now_ns();
		struct timespec ts;

		if (reap(pids, n, &left, false) < 0) {
			rc = -ECHILD;
			break;
		}
		if (!left)
			break;
		if (now >= deadline) {
			fprintf(stderr, "shmbus-bench: %s: still running after %u s, killed\n",
				run->wl->name, run->opts->timeout_s);
			rc = -ETIMEDOUT;
			break;
		}
		/* Sleep until a child changes state (SIGCHLD is blocked, so
		 * it stays pending and cannot be missed between reap() and
		 * here), at most 100 ms. */
		ts.tv_sec = 0;
		ts.tv_nsec = 100000000;
		if (deadline - now < 100000000u)
			ts.tv_nsec = (long)(deadline - now);
		sigtimedwait(&chld, NULL, &ts);
	}
	if (rc < 0) {
		kill_all(pids, n);
		while (left) {
			reap(pids, n, &left, true);
			if (left)
				sigtimedwait(&chld, NULL, &(struct timespec){ 0, 10000000 });
		}
	}
	return rc;
}

int bench_spawn(const struct bench_run *run, unsigned nprocs, bench_proc_fn fn, void *arg,
		struct bench_sample *out)
{
	pid_t pids[BENCH_MAX_PROCS] = { 0 };
	struct bench_shared *sh;
	sigset_t chld, old;
	uint64_t t0 = UINT64_MAX, t1 = 0;
	unsigned i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (nprocs == 0 || nprocs > BENCH_MAX_PROCS)
		return -EINVAL;
	sh = bench_shared_alloc(sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	sh->nprocs = nprocs;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	fflush(NULL);
	for (i = 0; i < nprocs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			rc = -errno;
			pids[i] = 0;
			kill_all(pids, i);
			break;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			child_main(run, sh, i, nprocs, fn, arg);
		}
	}
	if (rc == 0) {
		rc = wait_all(run, pids, nprocs);
	} else {
		unsigned left = i;

		while (left) {
			reap(pids, i, &left, true);
			if (left)
				sigtimedwait(&chld, NULL, &(struct timespec){ 0, 10000000 });
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (rc < 0)
		goto fail;
	for (i = 0; i < nprocs; i++) {
		struct bench_slot *s = &sh->slot[i];

		if (s->t_start < t0)
			t0 = s->t_start;
		if (s->t_end > t1)
			t1 = s->t_end;
		out->msgs += s->msgs;
		out->bytes += s->bytes;
		if (s->has_lat) {
			out->has_lat = true;
			out->lat = s->lat;
		}
	}
	if (t0 == 0 || t1 <= t0) {
		fprintf(stderr, "shmbus-bench: %s: a process did not call bench_proc_start()\n",
			run->wl->name);
		rc = -EPROTO;
		goto fail;
	}
	out->elapsed_ns = t1 - t0;
fail:
	bench_shared_free(sh, sizeof(*sh));
	return rc;
}
