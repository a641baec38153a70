/*
 * relax_internal.h - CPU hints for the hot paths.  shmbus_cpu_relax() is the
 * spin-wait hint of every polling loop of the library (x86 "pause", arm64
 * "yield"; nothing elsewhere): it lets the sibling hyperthread run and keeps
 * the loop from flooding the memory system; it is not a barrier to the CPU,
 * but it is one to the compiler, so a loop around it re-reads what it polls
 * even through plain loads.  shmbus_prefetch_r() starts a cache miss early.
 */
#ifndef SHMBUS_RELAX_INTERNAL_H
#define SHMBUS_RELAX_INTERNAL_H

static inline void shmbus_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
	__asm__ __volatile__("" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Start fetching the cache line of @p for reading: a hint, it changes no
 * memory and orders nothing. */
static inline void shmbus_prefetch_r(const void *p)
{
	__builtin_prefetch(p, 0, 3);
}

#endif
