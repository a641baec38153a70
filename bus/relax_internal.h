/*
 * relax_internal.h - CPU hints for the hot paths.  relax_cpu() is the
 * spin-wait hint of every polling loop of the library: the public
 * shmbus_cpu_relax() (<shmbus/relax.h>, which says what it does), so that
 * our loops and our users' loops around the _try calls pause alike.
 * relax_prefetch_r() and relax_prefetch_w() start a cache miss early, for
 * reading or for writing.
 */
#ifndef SHMBUS_RELAX_INTERNAL_H
#define SHMBUS_RELAX_INTERNAL_H

#include <stdbool.h>

#include "shmbus/relax.h"
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static inline void relax_cpu(void)
{
	shmbus_cpu_relax();
}

/* Start fetching the cache line of @p for reading: a hint, it changes no
 * memory and orders nothing. */
static inline void relax_prefetch_r(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

/*
 * Whether relax_prefetch_w() really fetches for writing here, where its
 * users have measured it.  On x86 that is PREFETCHW, which a CPU has only if
 * CPUID says so (leaf 0x80000001, ECX bit 8; compilers for plain x86-64 turn
 * a write prefetch into a read one; old AMD CPUs that have it without the
 * bit just go without).  Elsewhere it compiles (arm64: prfm pstl1keep) but
 * nobody has measured what it does to the rings there: false.  Asked once
 * per handle, not on the hot path.  (valgrind's CPU lacks the bit.)
 */
static inline bool relax_have_prefetch_w(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;

	return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & (1u << 8));
#else
	return false;
#endif
}

/* Start fetching the cache line of @p, exclusive, for writing: a hint, it
 * changes no memory and orders nothing.  Only where
 * relax_have_prefetch_w() is true. */
static inline void relax_prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

#endif
