/*
 * relax_internal.h - the CPU's spin-wait hint, for every polling loop of the
 * library (x86 "pause", arm64 "yield"; nothing elsewhere).  It lets the
 * sibling hyperthread run and keeps the loop from flooding the memory
 * system; it is not a barrier to the CPU, but it is one to the compiler, so
 * a loop around it re-reads what it polls even through plain loads.
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

#endif
