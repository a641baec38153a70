/*
 * shmbus/guard.h - surviving a block truncated under its users.
 *
 * The threat.  Whoever may write a block (its owner uid, or anyone the
 * mode lets in) may also shrink it with ftruncate(2), by mistake or on
 * purpose.  Every process that has it mapped then gets SIGBUS on its next
 * access to a page past the new end, and by default dies of it, however
 * carefully the library validates what it reads: no check before an access
 * can exclude a truncation between the check and the access.  Attaching a
 * block that is already too small is refused (-SHMBUS_ETRUNCATED) and
 * inspection copies with pread(2); the guard covers the mappings in use.
 *
 * The guard (opt-in, once per process).  shmbus_sigbus_guard_enable()
 * installs a SIGBUS handler.  For a fault inside a mapping this library
 * made (a block, ring or slot table handle), it maps anonymous private zero
 * pages over that mapping from the faulting page to its end and lets the
 * faulting access run again there; the block's handles are marked, and every
 * later call on them returns -SHMBUS_ESHRUNK.  The call during which the
 * fault happened may still return what it read from the zero pages (e.g.
 * an empty message); its next call, or a wait that is in progress (waits
 * look at least once per sleep cap or liveness period), returns the error.
 * Writes into the zero pages stay private to this process and are lost:
 * no other process and no byte of the object is touched.  What to do then:
 * close every handle of the block (shmbus_*_close(): the close unmaps the
 * replaced pages with the rest) and attach again once someone has rebuilt
 * it, or give up.
 *
 * A SIGBUS that is not ours (another mapping, a sent signal) goes to the
 * handler that was installed before the guard, or kills the process as it
 * would have without it.  An application that installs its own SIGBUS
 * handler after enabling the guard replaces it; chaining to the guard is
 * then its own business.  The guard covers up to 1024 mappings at once
 * (attaching one object twice in one process shares one mapping); beyond
 * that, a mapping is unguarded.  Threads: the handler runs in the faulting
 * thread and takes no lock; a handle used concurrently by several threads
 * sees the mark at their next calls.  A program that keeps touching a
 * block's memory through a pointer it got before the mark (e.g. from
 * shmbus_block_data()) reads zeros; it should test shmbus_block_check().
 */
#ifndef SHMBUS_GUARD_H
#define SHMBUS_GUARD_H

#include <stdbool.h>

#include "shmbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * shmbus_sigbus_guard_enable - install the SIGBUS guard (see above) for the
 * whole process; idempotent and thread-safe.  Covers blocks attached before
 * and after the call.  Returns 0, or -errno from sigaction(2).
 */
SHMBUS_API int shmbus_sigbus_guard_enable(void);

/* shmbus_sigbus_guard_enabled - whether the guard is installed. */
SHMBUS_API bool shmbus_sigbus_guard_enabled(void);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_GUARD_H */
