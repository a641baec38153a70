/*
 * shmbus/block.h - named shared memory blocks.
 *
 * A block is a POSIX shared memory object with the semantics of Python's
 * multiprocessing.shared_memory.SharedMemory: it is created by name (or with
 * a generated name), attached by name from any process, detached with
 * shmbus_block_close() and destroyed with shmbus_block_unlink().  A block
 * outlives the process that made it; its size is fixed at creation.
 * "/dev/shm/NAME" and Python's SharedMemory(name="NAME") reach the same bytes.
 *
 * Names follow Python's rules: 1 to 255 bytes, no '/' inside; one leading '/'
 * is accepted and ignored ("/x" and "x" are the same block); "." and ".." are
 * refused.  Functions report names without the leading '/'.
 *
 * Within one process, attaching a block that is already attached (same object,
 * same access) shares the one mapping; it is unmapped when the last handle is
 * closed.  Handles may be used from any thread; one handle must not be closed
 * while another thread still uses it.
 *
 * Synchronisation: every function here is thread-safe.  Progress: blocking
 * only in the kernel calls they make (shm_open, mmap, ...); none waits on
 * another process, except the attach of a shmbus layout that is still being
 * built (see shmbus_block_attach_kind()).
 */
#ifndef SHMBUS_BLOCK_H
#define SHMBUS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/error.h"
#include "shmbus/proc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest name, in bytes, without the leading '/'. */
#define SHMBUS_NAME_MAX 255

struct shmbus_block;

/* Flags for shmbus_block_attach(). */
enum shmbus_attach_flags {
	SHMBUS_ATTACH_RDONLY = 1u << 0, /* map read-only: writes are refused */
};

/*
 * Persistent or ephemeral.  A block is persistent by default, as in Python:
 * it outlives its creator, and a plain `shmbus gc` (shmbus_gc_run()) never
 * removes it.  OR SHMBUS_MODE_EPHEMERAL into the @mode (or params.mode) of
 * shmbus_spsc_create(), shmbus_mpmc_create() or shmbus_bcast_create() to make
 * the ring ephemeral: gc then removes it once its creator and every recorded
 * participant are dead.  The choice is recorded in the header
 * (SHMBUS_BLOCK_EPHEMERAL in shmbus_block_info.flags) and never changes.
 * shmbus_block_create() and the manager's create calls refuse the bit with
 * -EINVAL (a raw block has no header to record it in; a manager's blocks
 * are collected through its list already); so does an older library.
 */
#define SHMBUS_MODE_EPHEMERAL ((mode_t)01000000)
/* shmbus_block_info.flags: the block was created ephemeral. */
#define SHMBUS_BLOCK_EPHEMERAL UINT32_C(0x1)

/* What a block holds, from its header (or, for CPython lists, its shape). */
enum shmbus_kind {
	SHMBUS_KIND_UNKNOWN = 0, /* raw bytes or another program's segment */
	SHMBUS_KIND_SPSC = 1,
	SHMBUS_KIND_MPMC = 2,
	SHMBUS_KIND_SLOTS = 3,   /* a ShareableList made by shmbus */
	SHMBUS_KIND_PYLIST = 4,  /* a ShareableList made by CPython */
	SHMBUS_KIND_MANAGER = 5, /* a manager's list of blocks (manager.h) */
	SHMBUS_KIND_BROADCAST = 6, /* one producer, many subscribers (broadcast.h) */
	SHMBUS_KIND_MAX
};

/* Lower-case name of a kind ("spsc", "python-shareablelist", ...). */
SHMBUS_API const char *shmbus_kind_name(enum shmbus_kind kind);

/*
 * shmbus_name_check - whether @name is a valid block name.
 * Returns 0, -EINVAL (NULL, empty, "/" inside, ".", ".."), or -ENAMETOOLONG.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_name_check(const char *name);

/*
 * shmbus_block_create - create a new block and attach it read-write.
 * @out:  receives the handle.
 * @name: the name, or NULL for a generated unique one ("shmbus_" + hex).
 * @size: bytes, > 0; all of it is reserved now (posix_fallocate), so a full
 *        /dev/shm fails here with -ENOSPC rather than with SIGBUS later.
 * @mode: permission bits, or 0 for 0600.
 * Creation is exclusive.  The bytes start zeroed.  On failure nothing is left
 * behind (no object, no mapping).
 * Returns 0, -EINVAL (bad name or size), -ENAMETOOLONG, -EEXIST, -ENOSPC,
 * -ENOMEM, -EACCES, or another -errno.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_create(struct shmbus_block **out,
						      const char *name, size_t size,
						      mode_t mode);

/*
 * shmbus_block_attach - attach an existing block by name.
 * The size is the object's current size (fstat).  @flags: 0 or
 * SHMBUS_ATTACH_RDONLY.  Whatever another user put under the name, attach
 * never blocks and never follows a link: the object is opened non-blocking
 * and without following symbolic links, and only a regular file is mapped
 * (every open of a name by this library, snapshots and gc included, goes
 * through the same checks).
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES, -SHMBUS_ENOTREG (a
 * FIFO, directory, socket or device), -SHMBUS_ESYMLINK (a symbolic link),
 * -SHMBUS_EEMPTY (a zero-length object: there is nothing to map), -EFBIG
 * (too large to map), -ENOSPC (read-write only: the object is sparse, as
 * Python's SharedMemory makes them, and the file system has no room for the
 * rest of it; attach reserves every page of a block it may write, so that a
 * full /dev/shm gives this error here instead of SIGBUS on a later store).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_attach(struct shmbus_block **out,
						      const char *name,
						      unsigned flags);

/*
 * shmbus_block_close - detach: drop this handle.  The block itself stays
 * (see shmbus_block_unlink()).  NULL is accepted.  Cannot fail.
 */
SHMBUS_API void shmbus_block_close(struct shmbus_block *block);

/*
 * shmbus_block_unlink - destroy the name @name.  Processes that have the
 * block attached keep their mapping until they close it.  Returns 0,
 * -EINVAL, -ENAMETOOLONG, -ENOENT (no such block, e.g. a second unlink),
 * -EACCES.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_unlink(const char *name);

/* The block's name without the leading '/'. */
SHMBUS_API const char *shmbus_block_name(const struct shmbus_block *block);
/* The mapped size in bytes. */
SHMBUS_API size_t shmbus_block_size(const struct shmbus_block *block);
/* Whether the handle is read-only. */
SHMBUS_API bool shmbus_block_readonly(const struct shmbus_block *block);

/* The mapped bytes, for reading.  Valid until the handle is closed. */
SHMBUS_API const void *shmbus_block_cdata(const struct shmbus_block *block);

/*
 * shmbus_block_data - the mapped bytes, for writing.
 * Returns 0 and fills @out, or -EROFS if the handle is read-only.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_data(struct shmbus_block *block,
						    void **out);

/*
 * shmbus_block_write / shmbus_block_read - bounds-checked copies.
 * Return 0, -ERANGE if [@off, @off + @len) is not inside the block,
 * -SHMBUS_ESHRUNK (see shmbus_block_check(); the copy may have touched the
 * zero pages), or (write) -EROFS on a read-only handle.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_write(struct shmbus_block *block,
						     size_t off, const void *src,
						     size_t len);
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_read(const struct shmbus_block *block,
						    size_t off, void *dst,
						    size_t len);

/*
 * shmbus_block_check - whether the block is still whole in this process.
 * Returns 0, or -SHMBUS_ESHRUNK once the SIGBUS guard (shmbus/guard.h) has
 * caught an access past the object's end: the object was truncated under
 * the mapping, whose tail now reads as zeros.  With the guard enabled it
 * also touches the mapping's last byte, so a truncation no access has hit
 * yet is found too (without the guard it only reads the mark).  The
 * handle stays valid until closed.  Wait-free; any thread.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_check(const struct shmbus_block *block);

/* The common header of shmbus layouts, decoded and validated. */
struct shmbus_block_info {
	enum shmbus_kind kind;
	uint32_t version;        /* layout version of that kind */
	uint32_t header_size;
	uint32_t cacheline;
	uint64_t total_size;     /* bytes the layout uses (<= object size) */
	shmbus_ident_t creator;  /* creating process */
	uint32_t creator_uid;
	uint64_t created_ns;     /* CLOCK_REALTIME at creation, ns */
	shmbus_ident_t manager;  /* guardian of a live manager, or 0 */
	uint32_t flags;          /* SHMBUS_BLOCK_EPHEMERAL or 0 */
};

/*
 * shmbus_block_info - read and check the common header of @block.
 * Returns 0, -SHMBUS_EMAGIC (not a shmbus layout: raw bytes, a Python
 * block...), -SHMBUS_EVERSION, -SHMBUS_EBYTEORDER, -SHMBUS_ETRUNCATED,
 * -SHMBUS_ECORRUPT, or -SHMBUS_ENOTREADY (still being built).  Never waits.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_info(const struct shmbus_block *block,
						    struct shmbus_block_info *info);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_BLOCK_H */
