/*
 * shmbus/relax.h - the spin-wait hint for polling loops.
 *
 * The _try calls never block, so a caller that wants to wait without
 * sleeping polls one until it succeeds.  Such a loop should pause between
 * two attempts with shmbus_cpu_relax(), the hint the library's own blocking
 * calls use in their spinning phase:
 *
 *     while ((rc = shmbus_spsc_peek_try(q, &p, &n)) == -EAGAIN)
 *             shmbus_cpu_relax();
 *
 * A pure spin only pays while the process it waits for is running on
 * another CPU: a loop that may wait longer should fall back to
 * sched_yield(), or use the blocking calls, which spin, then sleep.
 */
#ifndef SHMBUS_RELAX_H
#define SHMBUS_RELAX_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * shmbus_cpu_relax - tell the CPU that the caller is spinning: x86 "pause",
 * arm64 "yield", nothing on other CPUs or compilers.  It lets the sibling
 * hyperthread run and keeps the loop from flooding the memory system with
 * loads.  It is a barrier to the compiler (a loop around it re-reads what it
 * polls) but not to the CPU: it orders no memory access, so the poll itself
 * still needs its acquire load (the _try calls have theirs).
 * Never blocks, makes no system call, touches no memory; callable from any
 * thread and from a signal handler.
 */
static inline void shmbus_cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
	__builtin_ia32_pause();
	__asm__ __volatile__("" ::: "memory");
#elif defined(__GNUC__) && defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_RELAX_H */
