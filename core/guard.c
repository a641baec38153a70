/*
 * guard.c - the opt-in SIGBUS guard: a fault in a block that was truncated
 * under its mapping becomes an error on the handle instead of killing the
 * process.
 *
 * The threat: anyone who may write a block may also ftruncate(2) it.  Pages
 * of a MAP_SHARED mapping past the object's new end raise SIGBUS on the next
 * access, in every process that maps it.  No check before an access can
 * rule that out (the truncation may come between check and access), so the
 * fault itself is caught.
 *
 * The handler looks the fault address up in the table of mappings the
 * library made (guard_table); for one of ours it maps anonymous private zero
 * pages over the mapping from the faulting page to its end (mmap(2) with
 * MAP_FIXED, async-signal-safe) and marks the entry lost; the faulting
 * instruction then runs again on a zero page.  Reads there see zeros, writes
 * land in memory only this process sees: harmless to everybody else.  Every
 * later call on a handle of that block returns -SHMBUS_ESHRUNK; the user
 * closes it (the close unmaps the whole range, replaced pages included).  A
 * fault anywhere else goes to the handler installed before ours, or, if that
 * was the default, kills the process as it would have without us.
 *
 * Table protocol: an entry is taken by a CAS on `used` and then written
 * only by its taker, under the sequence word `seq` (odd while written), so
 * a handler running in any thread at any instant either sees a consistent
 * (start, len) or skips the entry.  The handler writes only `lost`.
 * Entries are static and never freed, so a handler holding a stale index
 * writes to valid memory; an entry is only removed by the last close, after
 * which no correct program touches the range.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "guard_internal.h"
#include "shmbus/guard.h"

struct guard_entry {
	_Atomic uint32_t used;   /* 0 free, 1 taken (CAS) */
	_Atomic uint32_t seq;    /* odd while start/len/rdonly are written */
	_Atomic uintptr_t start;
	_Atomic size_t len;
	_Atomic uint32_t rdonly;
	_Atomic uint32_t lost;   /* set by the handler: pages were replaced */
};

static struct guard_entry guard_table[GUARD_ENTRIES];
static _Atomic int guard_state;  /* 0 off, 1 being installed, 2 on */
static struct sigaction guard_prev; /* written before guard_state is 2 */
static uintptr_t guard_page;        /* page size, idem */

/* Always-zero word for handles whose mapping has no entry. */
static const _Atomic uint32_t guard_never;

int guard_register(void *addr, size_t len, bool rdonly)
{
	int i;

	for (i = 0; i < GUARD_ENTRIES; i++) {
		struct guard_entry *e = &guard_table[i];
		uint32_t free_ = 0, s;

		/* Relaxed first look; the CAS decides.  acq_rel: the entry's
		 * previous user is done with it (its release in unregister). */
		if (atomic_load_explicit(&e->used, memory_order_relaxed) ||
		    !atomic_compare_exchange_strong_explicit(&e->used, &free_, 1,
							     memory_order_acq_rel,
							     memory_order_relaxed))
			continue;
		s = atomic_load_explicit(&e->seq, memory_order_relaxed);
		/* Odd: a handler skips the entry while the fields change.  The
		 * fields are stored with release (R2), so a reader that sees a
		 * new field (acquire, A2) also sees the odd seq. */
		atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
		atomic_store_explicit(&e->start, (uintptr_t)addr, memory_order_release);
		atomic_store_explicit(&e->len, len, memory_order_release);
		atomic_store_explicit(&e->rdonly, rdonly, memory_order_release);
		atomic_store_explicit(&e->lost, 0, memory_order_relaxed);
		/* R1: release, pairs with A1 in guard_find(): fields before the
		 * even seq. */
		atomic_store_explicit(&e->seq, s + 2, memory_order_release);
		return i;
	}
	return GUARD_NONE;
}

void guard_unregister(int idx)
{
	struct guard_entry *e;
	uint32_t s;

	if (idx == GUARD_NONE)
		return;
	e = &guard_table[idx];
	s = atomic_load_explicit(&e->seq, memory_order_relaxed);
	atomic_store_explicit(&e->seq, s + 1, memory_order_relaxed);
	/* R2: release, as in guard_register(). */
	atomic_store_explicit(&e->start, 0, memory_order_release);
	atomic_store_explicit(&e->len, 0, memory_order_release);
	atomic_store_explicit(&e->seq, s + 2, memory_order_release); /* R1 */
	/* Release: pairs with the acq_rel CAS of the next taker. */
	atomic_store_explicit(&e->used, 0, memory_order_release);
}

const _Atomic uint32_t *guard_lost_word(int idx)
{
	return idx == GUARD_NONE ? &guard_never : &guard_table[idx].lost;
}

int guard_check(int idx)
{
	struct guard_entry *e;

	if (idx == GUARD_NONE)
		return 0;
	e = &guard_table[idx];
	if (atomic_load_explicit(&guard_state, memory_order_relaxed) == 2) {
		/* Only the owner of the entry calls this: start/len are stable.
		 * The read faults if the object no longer reaches the end of the
		 * mapping; the handler then marks the entry. */
		const volatile char *last = (const volatile char *)
			atomic_load_explicit(&e->start, memory_order_relaxed) +
			atomic_load_explicit(&e->len, memory_order_relaxed) - 1;
		(void)*last;
	}
	/* Relaxed: the handler ran in this thread, or its mark is a plain
	 * fact about another thread's fault; either way later calls see it. */
	return atomic_load_explicit(&e->lost, memory_order_relaxed) ? -SHMBUS_ESHRUNK : 0;
}

/* The entry holding @addr, or NULL.  Async-signal-safe. */
static struct guard_entry *guard_find(uintptr_t addr, uintptr_t *start, size_t *len,
				      bool *rdonly)
{
	int i;

	for (i = 0; i < GUARD_ENTRIES; i++) {
		struct guard_entry *e = &guard_table[i];
		/* A1: acquire, pairs with R1. */
		uint32_t s = atomic_load_explicit(&e->seq, memory_order_acquire);

		if (s & 1)
			continue;
		/* A2: acquire, pairs with R2: a field written after the odd seq
		 * brings that seq with it; and the re-read below cannot move
		 * before these loads. */
		*start = atomic_load_explicit(&e->start, memory_order_acquire);
		*len = atomic_load_explicit(&e->len, memory_order_acquire);
		*rdonly = atomic_load_explicit(&e->rdonly, memory_order_acquire);
		if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s)
			continue;
		if (*len && addr >= *start && addr - *start < *len)
			return e;
	}
	return NULL;
}

/* Replace our mapping from @addr's page on; true if done.  Async-signal-safe. */
static bool guard_replace(uintptr_t addr)
{
	struct guard_entry *e;
	uintptr_t start, page;
	size_t len;
	bool rdonly;
	long got;

	e = guard_find(addr, &start, &len, &rdonly);
	if (!e)
		return false;
	page = addr & ~(guard_page - 1);
	/* The raw system call: a sanitizer's mmap interceptor is not meant to
	 * run in a signal handler, and the range is already known to it. */
	got = syscall(SYS_mmap, (void *)page, (size_t)(start + len - page),
		      rdonly ? PROT_READ : PROT_READ | PROT_WRITE,
		      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (got == -1 || (uintptr_t)got != page)
		return false;
	/* Relaxed: see guard_check(). */
	atomic_store_explicit(&e->lost, 1, memory_order_relaxed);
	return true;
}

/* Hand a signal that is not ours to whoever had it before. */
static void guard_chain(int sig, siginfo_t *si, void *ctx)
{
	if (guard_prev.sa_flags & SA_SIGINFO) {
		guard_prev.sa_sigaction(sig, si, ctx);
		return;
	}
	if (guard_prev.sa_handler != SIG_DFL && guard_prev.sa_handler != SIG_IGN) {
		guard_prev.sa_handler(sig);
		return;
	}
	/* Default (or ignored, which the kernel does not honour for a fault):
	 * die of it as if we had never been here.  A fault re-runs the
	 * instruction on return; a sent signal is sent again. */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static void guard_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	bool ours = si->si_code == BUS_ADRERR && guard_replace((uintptr_t)si->si_addr);

	errno = saved;
	if (!ours)
		guard_chain(sig, si, ctx);
}

int shmbus_sigbus_guard_enable(void)
{
	struct sigaction sa;
	int expected = 0;
	long page;

	if (!atomic_compare_exchange_strong_explicit(&guard_state, &expected, 1,
						     memory_order_acq_rel,
						     memory_order_acquire)) {
		/* Another thread is installing it: wait for the outcome. */
		while (expected == 1) {
			sched_yield();
			expected = atomic_load_explicit(&guard_state, memory_order_acquire);
		}
		return expected == 2 ? 0 : shmbus_sigbus_guard_enable();
	}
	page = sysconf(_SC_PAGESIZE);
	guard_page = page > 0 ? (uintptr_t)page : 4096;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* The previous handler is known before ours can run: a fault that
	 * is not ours right after the install goes where it went before. */
	if (sigaction(SIGBUS, NULL, &guard_prev) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
		int rc = -errno;

		atomic_store_explicit(&guard_state, 0, memory_order_release);
		return rc;
	}
	/* Release: guard_prev and guard_page are set before anyone sees 2. */
	atomic_store_explicit(&guard_state, 2, memory_order_release);
	return 0;
}

bool shmbus_sigbus_guard_enabled(void)
{
	return atomic_load_explicit(&guard_state, memory_order_acquire) == 2;
}
