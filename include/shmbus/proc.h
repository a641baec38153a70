/*
 * shmbus/proc.h - process identity and liveness.
 *
 * A pid alone does not identify a process: pids are recycled.  shmbus names a
 * process by its pid *and* its start time (clock ticks since boot, field 22 of
 * /proc/PID/stat), packed into one 64-bit word so that it can be compared and
 * swapped atomically inside shared memory:
 *
 *     ident = start_ticks << 22 | pid          (pid < 2^22 = PID_MAX_LIMIT)
 *
 * Two processes that ever existed on one boot never share an ident (a pid is
 * reused only after its previous owner is gone, and then with a later start
 * time), so a compare-and-swap on an ident word cannot suffer ABA.  0 is never
 * a valid ident and means "nobody".
 *
 * Limits: identities are only meaningful within one boot and in the pid
 * namespace of the /proc they were read from.  shmbus_proc_self() reads
 * /proc/self, so in a child namespace that sees its parent's /proc it is
 * the parent's view of us.  Blocks record each participant's namespace
 * (internally); a participant of another namespace is never called dead.
 */
#ifndef SHMBUS_PROC_H
#define SHMBUS_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t shmbus_ident_t;

#define SHMBUS_IDENT_PID_BITS 22
#define SHMBUS_IDENT_NONE ((shmbus_ident_t)0)

/* The pid inside an ident. */
static inline pid_t shmbus_ident_pid(shmbus_ident_t id)
{
	return (pid_t)(id & ((UINT64_C(1) << SHMBUS_IDENT_PID_BITS) - 1));
}

/* The start time (clock ticks after boot) inside an ident. */
static inline uint64_t shmbus_ident_start(shmbus_ident_t id)
{
	return id >> SHMBUS_IDENT_PID_BITS;
}

/*
 * shmbus_proc_ident - the identity of process @pid, read from /proc.
 * Returns 0 and fills @out, -ESRCH if there is no such (running) process,
 * -ERANGE if the pid does not fit, or another -errno.  Zombies count as gone.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_proc_ident(pid_t pid, shmbus_ident_t *out);

/*
 * shmbus_proc_self - the identity of the calling process (cached; refreshed
 * after fork).  Never 0 on Linux with /proc mounted; 0 if /proc is missing.
 */
SHMBUS_API shmbus_ident_t shmbus_proc_self(void);

/*
 * shmbus_proc_alive - whether the process named by @id still runs.
 * True when a process with that pid exists, is not a zombie, and started at
 * the recorded time, and also when /proc cannot tell (an error other than
 * "no such process", e.g. this process is out of descriptors, or our /proc
 * is not our own pid namespace's): "dead" is only ever said on proof.  SHMBUS_IDENT_NONE is never alive.  Costs one
 * read of /proc/PID/stat; safe from any thread.
 */
SHMBUS_API bool shmbus_proc_alive(shmbus_ident_t id);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_PROC_H */
