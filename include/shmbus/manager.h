/*
 * shmbus/manager.h - block lifetimes: a manager unlinks the blocks it owns at
 * shutdown, or when its process dies (SIGKILL included); gc removes shmbus
 * blocks nobody lives for any more.
 *
 * A manager is like Python's multiprocessing.managers.SharedMemoryManager:
 *
 *     struct shmbus_manager *m;
 *     shmbus_manager_start(&m, "myapp_mgr", 0);       // forks the guardian
 *     shmbus_manager_create_spsc(m, "myapp_events", 1 << 16, 0);
 *     shmbus_manager_create_mpmc(m, "myapp_jobs", &mpmc_params);
 *     shmbus_manager_create_slots(m, &sl, "myapp_cfg", values, n, 0);
 *     shmbus_manager_create_block(m, "myapp_frames", 1 << 20, 0, &blk);
 *     shmbus_manager_shutdown(m);                     // unlinks all of them
 *     shmbus_manager_free(m);
 *
 * Blocks made or tracked through a manager are ordinary named blocks: any
 * process attaches them by name (shmbus_spsc_open(), shmbus_mpmc_open(),
 * shmbus_slots_attach(), shmbus_block_attach()), and attaching never
 * unlinks anything.  A block made by the kind's own create call can be put
 * under a manager's care afterwards with shmbus_manager_track(), but a crash
 * between the two is then covered only by gc; the create calls of the
 * manager have no such window.
 *
 * State.  The manager keeps its list in a small block of its own (kind
 * "manager", named at start), so `shmbus inspect NAME` lists the blocks it
 * manages and `shmbus ls` shows it as alive.  Blocks with a shmbus header
 * (rings) also carry the guardian's identity in their header (`manager`), so
 * `ls` marks them "managed".  A slot table has no shmbus header (offset 0 is
 * Python's ShareableList, and its trailer has no such field): a managed slot
 * table is one listed by the manager -- unlinked at shutdown or when the
 * owner dies, shown by `shmbus inspect` of the manager -- while the table
 * itself does not name its manager (`ls` does not mark it "managed", and
 * gc removes it only through a dead manager's list).
 *
 * The guardian.  shmbus_manager_start() forks a small process that watches
 * the caller through a pidfd and, if the caller ends without
 * shmbus_manager_shutdown() (crash, SIGKILL, exit, exec), unlinks every block
 * still listed and the list itself, then exits.  It runs in its own session
 * (a signal to the caller's process group does not reach it), ignores SIGINT
 * and SIGHUP, holds no descriptor of the caller's but its own, and makes only
 * raw system calls (the caller may have threads: see manager_guardian.c).
 * It unlinks a name only if the object there is still the one the manager
 * listed (same device and inode), so a name re-created by someone else is
 * never touched.  If the guardian itself is killed, nothing is lost for
 * good: `shmbus gc` (shmbus_gc_run()) removes a dead manager's blocks once
 * the manager's process is dead too.
 *
 * Costs the caller should know:
 *  - start forks: the guardian shares the caller's pages copy-on-write, so
 *    start a manager early, before the process grows large;
 *  - start reaps its short-lived intermediate child with waitpid() on that
 *    pid only (the guardian is double-forked, so it never becomes the
 *    caller's zombie).  A SIGCHLD handler of the caller sees that one child
 *    exit; if the handler reaps it first, start does not mind.  If the caller
 *    is a child subreaper (PR_SET_CHILD_SUBREAPER), the guardian is
 *    re-parented to it when it exits and the caller must reap it;
 *  - Linux >= 5.3 (pidfd_open) and a tmpfs /dev/shm with O_TMPFILE.
 *
 * Synchronisation table (all calls blocking only in system calls, except
 * shutdown, which waits at most a few seconds for the guardian to confirm):
 *
 *   call                              may run concurrently with
 *   --------------------------------  -------------------------------------
 *   shmbus_manager_start              anything
 *   create_block, create_spsc,        each other and shutdown, on the same
 *   create_mpmc, create_slots,        manager, from any thread (the list
 *   track, untrack, unlink,           under one mutex; a create_* call lays
 *   shutdown, count                   its structure out outside the mutex)
 *   shmbus_manager_name, _guardian    anything but free
 *   shmbus_manager_free               nothing else on the same manager
 *   shmbus_gc_run                     anything, including other gc runs
 *
 * fork(): a child process inherits a copy of a manager it must not use: in
 * the child every call but shmbus_manager_free() fails with -EPERM, and free
 * releases the child's copy without unlinking anything (the parent still
 * owns the blocks).
 */
#ifndef SHMBUS_MANAGER_H
#define SHMBUS_MANAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/block.h"

#ifdef __cplusplus
extern "C" {
#endif

struct shmbus_manager;
struct shmbus_mpmc_params; /* shmbus/mpmc.h */
struct shmbus_slots;       /* shmbus/slots.h */
struct shmbus_slot_value;

/* Entries a manager's list holds when start is given 0, and at most. */
#define SHMBUS_MANAGER_CAPACITY_DEFAULT 1024
#define SHMBUS_MANAGER_CAPACITY_MAX 16384

/*
 * shmbus_manager_start - create a manager and its guardian process.
 * @out:      receives the manager.
 * @name:     name of the manager's own state block, or NULL for a generated
 *            one ("shmbus_mgr_" + hex); created exclusively, mode 0600.
 * @capacity: how many blocks it can manage at once; 0 for the default.
 * Returns once the guardian is watching: from then on, whatever happens to
 * the caller, the blocks the manager lists are unlinked.
 * Returns 0, -EINVAL (bad name or capacity), -ENAMETOOLONG, -EEXIST, -ENOMEM,
 * -ENOSPC, -EOPNOTSUPP (/dev/shm does not support O_TMPFILE), -EAGAIN
 * (fork failed), -ETIMEDOUT (the guardian never reported), or another -errno.
 * On failure nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_start(struct shmbus_manager **out,
						       const char *name, uint32_t capacity);

/*
 * shmbus_manager_create_block - create a raw block (zeroed bytes, like
 * shmbus_block_create()) owned by @m, and attach it read-write into *@out.
 * @name: NULL for a generated one.  @mode: permission bits, 0 for 0600.
 * The object is built unnamed (O_TMPFILE), listed, and only then linked under
 * @name, so there is no moment at which it exists by name but is not listed:
 * a crash at any point leaves either nothing or a listed block.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -EEXIST, -ENOSPC (/dev/shm full, or the
 * manager's list is full), -SHMBUS_EPEERDEAD (the guardian was killed: nothing
 * would unlink the block if this process died; every list operation then
 * fails so; shut the manager down and start a new one), -ESHUTDOWN (after
 * shutdown), -EPERM (in a forked
 * child), or another -errno.  On failure nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_create_block(struct shmbus_manager *m,
							      const char *name, size_t size,
							      mode_t mode,
							      struct shmbus_block **out);

/*
 * shmbus_manager_create_spsc / _create_mpmc / _create_slots - create an spsc
 * ring, an mpmc ring or a slot table owned by @m: the same block, the same
 * parameters and errors as shmbus_spsc_create(), shmbus_mpmc_create() and
 * shmbus_slots_create() (create_slots also fills @out with a handle on the
 * new list; the rings are created detached, like their own create calls).
 * The block is made by shmbus_manager_create_block() -- listed before it is
 * linked under @name -- and the structure is laid out in it and published
 * only then, so at no instant does the name exist without being listed: if
 * the owner dies anywhere in the call, the guardian unlinks whatever was
 * linked.  An attacher that finds the name before the layout is published
 * sees a block not yet ready, and waits briefly as for any create.
 * Rings carry the guardian in their header's `manager` field from the
 * moment they are published (`shmbus inspect` shows it live).  Slot tables
 * have no header: they are managed through the list only (see "State").
 * @name must not be NULL for the rings (as their own create calls);
 * create_slots accepts NULL for a generated name (shmbus_slots_name()).
 * Extra errors: -ENOSPC (the manager's list is full), -SHMBUS_EPEERDEAD (the
 * guardian was killed, see shmbus_manager_create_block()), -ESHUTDOWN (after
 * shutdown), -EPERM (in a forked child), -EOPNOTSUPP (no O_TMPFILE).
 * On failure nothing is left behind and nothing is listed.  A shutdown that
 * runs concurrently may unlink the new block as soon as it is listed: the
 * call then still returns 0 (it happened before the shutdown).
 * Blocking (system calls); see the synchronisation table.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_create_spsc(struct shmbus_manager *m,
							     const char *name, size_t capacity,
							     mode_t mode);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_create_mpmc(
	struct shmbus_manager *m, const char *name, const struct shmbus_mpmc_params *params);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_create_slots(
	struct shmbus_manager *m, struct shmbus_slots **out, const char *name,
	const struct shmbus_slot_value *values, size_t n, mode_t mode);

/*
 * shmbus_manager_track - put the existing block @name (made by any shmbus
 * API, e.g. a ring) under @m's care: it is unlinked with the others.  The
 * object now at @name is recorded (device, inode); if it has a shmbus header,
 * its `manager` field is set to the guardian.  A crash between the block's
 * creation and this call is not covered by the guardian (gc still finds a
 * block with a header once its creator is dead).  The create_spsc,
 * create_mpmc and create_slots calls above have no such window; for another
 * layout, make the block with shmbus_manager_create_block(), lay the
 * structure out inside it, then call track on its name: for a name already
 * listed with the same object, track only marks the header and returns 0.
 * Returns 0, -ENOENT, -EEXIST (listed with another object), -EBUSY (its
 * header names another live manager), -ENOSPC (list full), -ESHUTDOWN,
 * -EPERM, -EACCES, or another -errno.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_track(struct shmbus_manager *m,
						       const char *name);

/*
 * shmbus_manager_untrack - take @name off the list without unlinking it; the
 * `manager` field of its header is cleared if it still names this guardian.
 * Returns 0, -ENOENT (not listed), -ESHUTDOWN, -EPERM.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_untrack(struct shmbus_manager *m,
							 const char *name);

/*
 * shmbus_manager_unlink - unlink one listed block now and take it off the
 * list.  The name is unlinked only if it still holds the listed object.
 * Returns 0, -ENOENT (not listed), -ESTALE (the name now holds another
 * object, or none: the entry is dropped, nothing is unlinked), -ESHUTDOWN,
 * -EPERM, or another -errno.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_manager_unlink(struct shmbus_manager *m,
							const char *name);

/*
 * shmbus_manager_shutdown - unlink every listed block and the manager's own
 * block, then tell the guardian to exit without doing anything (it confirms;
 * shutdown waits for that at most a few seconds).  Safe to call twice and
 * from several threads: later calls return 0 and do nothing.  Names that now
 * hold another object (or none) are left alone.
 * Returns 0, -EPERM (in a forked child), or the first error of an unlink
 * (e.g. -EACCES); the other blocks are still unlinked.
 */
SHMBUS_API int shmbus_manager_shutdown(struct shmbus_manager *m);

/*
 * shmbus_manager_free - shut down (if not done yet, and only in the process
 * that started it) and release @m.  NULL is accepted.  Handles returned by
 * create_block stay valid (they are ordinary block handles).
 */
SHMBUS_API void shmbus_manager_free(struct shmbus_manager *m);

/* The name of the manager's own block (for `shmbus inspect`). */
SHMBUS_API const char *shmbus_manager_name(const struct shmbus_manager *m);

/* The guardian's process identity (see proc.h). */
SHMBUS_API shmbus_ident_t shmbus_manager_guardian(const struct shmbus_manager *m);

/* How many blocks are listed now; -ESHUTDOWN after shutdown, -EPERM. */
SHMBUS_API int shmbus_manager_count(struct shmbus_manager *m);

/* ---- gc ------------------------------------------------------------------ */

/* Flags for shmbus_gc_run(). */
enum shmbus_gc_flags {
	SHMBUS_GC_DRY_RUN = 1u << 0, /* report what would be removed, remove nothing */
};

/* One block gc removed (or would remove, or failed to remove). */
struct shmbus_gc_item {
	const char *name;
	enum shmbus_kind kind;   /* SHMBUS_KIND_UNKNOWN: a raw block */
	const char *manager;     /* the dead manager that listed it, or NULL */
	const char *reason;      /* "all participants dead", ... (static) */
	int error;               /* 0, or why unlinking failed */
};

typedef void (*shmbus_gc_fn)(const struct shmbus_gc_item *item, void *arg);

/*
 * What gc does with one block, as `shmbus ls` and `shmbus inspect` show it.
 * Blocks are persistent unless created ephemeral (SHMBUS_MODE_EPHEMERAL,
 * block.h).  A plain gc removes only what is abandoned:
 *   class        removed by a plain gc when
 *   ephemeral    its creator and every recorded participant are dead
 *   managed      (made through a manager) its guardian, creator and every
 *                participant are dead; or listed by a dead manager
 *   manager      its process and guardian are dead (after what it lists)
 *   building     its creator died before it was ready
 *   persistent   never; with an idle time (gc --idle-for), once nobody
 *                recorded in it lives and its last activity
 *                (shmbus_snapshot.active_ns) is at least that old
 *   slots        never (a slot table records no participants nor activity);
 *                or listed by a dead manager
 *   foreign      never: not a shmbus block (raw, Python's, unreadable header)
 * Blocks owned by another user are never removed (unless gc runs as root).
 */
struct shmbus_snapshot; /* inspect.h */

struct shmbus_gc_verdict {
	const char *class_name; /* "persistent", ... as above (static) */
	bool removable;         /* gc with the same idle time would remove it */
	const char *reason;     /* why it goes or stays, one phrase (static) */
};

/*
 * shmbus_gc_judge - classify the block of @snap as shmbus_gc_run_idle()
 * would, at time @now_ns (CLOCK_REALTIME), with @idle_for_ns (< 0: no idle
 * removal, as a plain gc).  The list of a dead manager is not considered
 * here (a listed block is judged on its own).  Pure function of its
 * arguments and the liveness recorded in @snap.
 * Returns 0 and fills @out, or -EINVAL (@snap or @out NULL).
 * Thread-safe; wait-free.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_gc_judge(const struct shmbus_snapshot *snap,
						  int64_t idle_for_ns, int64_t now_ns,
						  struct shmbus_gc_verdict *out);

/*
 * shmbus_gc_run - unlink the abandoned blocks in /dev/shm:
 *  - the blocks shmbus_gc_judge() finds removable with no idle time:
 *    ephemeral and managed blocks whose creator, guardian and every
 *    recorded participant are dead, dead managers' own blocks, and blocks
 *    whose creator died before they were ready;
 *  - the blocks listed by a dead manager (its process and its guardian both
 *    dead), if the name still holds the listed object, that object has the
 *    same owner as the manager's block, and (when it has a header) none of
 *    its participants lives.  The manager's own block goes last, and only
 *    if every block it lists is gone: otherwise it stays, so that a later
 *    run can still find them (a corrupt list is not trusted: that manager
 *    block goes, its raw blocks are then left to `shmbus rm`).
 * Never touches anything else: foreign or Python blocks, zero-length
 * objects, blocks of live processes, objects owned by another user (unless
 * the caller is root).  Just before unlinking, the block is examined again
 * and its identity (device, inode) compared.
 * @prefix: only names starting with it (NULL or "" for all), listed blocks
 *          included: a test or an application confines gc to its own.
 * @flags:  SHMBUS_GC_DRY_RUN.
 * @fn:     called for each block removed, that would be removed, or that
 *          could not be removed (item->error); may be NULL.
 * Returns the number of blocks removed (or that would be), or a negative
 * code if /dev/shm cannot be read (-ENOMEM, -errno).  Per-block failures are
 * reported through @fn only.
 */
SHMBUS_API int shmbus_gc_run(const char *prefix, unsigned flags, shmbus_gc_fn fn, void *arg);

/*
 * shmbus_gc_run_idle - shmbus_gc_run(), and also the persistent blocks
 * that nobody recorded in lives and whose last activity is at least
 * @idle_for_ns old (>= 0; a negative value makes it shmbus_gc_run()).
 * Returns and reports as shmbus_gc_run().
 */
SHMBUS_API int shmbus_gc_run_idle(const char *prefix, unsigned flags, int64_t idle_for_ns,
				  shmbus_gc_fn fn, void *arg);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_MANAGER_H */
