/*
 * shmbus/inspect.h - the list of blocks in /dev/shm and snapshots of them,
 * for tools and for programs that export their own state.
 *
 * A snapshot is taken without joining anything: the object is opened
 * read-only and the bytes needed are copied out with pread(2), then checked
 * as untrusted input.  Copying (rather than reading a mapping in place) means
 * a block truncated under our feet gives a short read and a clear error, never
 * SIGBUS, and nothing is validated in one place and used from another.
 *
 * Thread-safe; blocking only in the kernel calls it makes; never waits for
 * another process.
 */
#ifndef SHMBUS_INSPECT_H
#define SHMBUS_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmbus/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the JSON documents that shmbus_snapshot_json() produces.
 * Bumped whenever a change could break a reader (see tools/schema/). */
#define SHMBUS_SCHEMA_VERSION 1

struct shmbus_snapshot_participant {
	uint32_t index;         /* entry in the block's participant table */
	uint32_t role;          /* layout-defined role code */
	const char *role_name;  /* "producer", "consumer", ... (static) */
	shmbus_ident_t ident;
	bool alive;             /* runs, or may run (liveness_unknown) */
	bool liveness_unknown;  /* recorded in another pid namespace (or our
				 * /proc is not our namespace's) and not found
				 * by pid: never judged dead (counted alive) */
};

struct shmbus_snapshot {
	char name[SHMBUS_NAME_MAX + 1];
	enum shmbus_kind kind;       /* SHMBUS_KIND_UNKNOWN for foreign blocks */
	uint64_t size_bytes;         /* object size (fstat) */
	uid_t owner_uid;             /* object owner (fstat) */
	mode_t mode;                 /* permission bits */
	int64_t mtime_ns;            /* object modification time, CLOCK_REALTIME */
	int header_error;            /* why a block is "unknown": 0 or -SHMBUS_E* */
	bool has_header;             /* the common header checked out */
	struct shmbus_block_info info; /* valid if has_header */
	bool creator_alive;          /* as a participant's `alive` */
	bool manager_alive;
	uint32_t nparticipants;
	struct shmbus_snapshot_participant *participants;
	bool any_alive;              /* creator, manager or a participant lives */
	int kind_error;              /* 0, or why the kind-specific part is missing */
	void *kind_state;            /* kind-specific part (internal) */
	/* The block's last activity, CLOCK_REALTIME ns, for `gc --idle-for`:
	 * its creation, or the latest join, takeover or leave of a participant
	 * entry (second resolution), whichever is later; 0 for a block without a
	 * header.  A participant killed without leaving counts as last active
	 * when it joined. */
	int64_t active_ns;
	/* A block still being built (header_error -SHMBUS_ENOTREADY): who
	 * builds it, as recorded in the header, or SHMBUS_IDENT_NONE. */
	shmbus_ident_t building_creator;
};

/* Where POSIX shared memory objects live on Linux: the directory that
 * shmbus_block_list() reads and that "/dev/shm/NAME" refers to. */
#define SHMBUS_SHM_DIR "/dev/shm"

/*
 * shmbus_block_list - the names of the blocks in SHMBUS_SHM_DIR.
 * @prefix: keep only names that start with it (NULL or "": every name).
 * @names:  receives a malloc'd array of *@count malloc'd, NUL-terminated
 *          names (without a leading '/'), in strcmp() order; release it with
 *          shmbus_block_list_free().  With no name to list, *@count is 0 and
 *          *@names may be NULL.
 * @count:  receives the number of names.
 * Lists every regular file of the directory (or one whose type the file
 * system does not report) whose name is a valid block name
 * (shmbus_name_check()): shmbus's blocks, Python's, and any other program's
 * shared memory objects alike; shmbus_snapshot_take() tells them apart.
 * Subdirectories and other special files are left out.  Names are bytes, as
 * file names are: they need not be UTF-8 (see shmbus_name_utf8()).
 * The whole directory is read on every call, so the list is complete or the
 * call fails: never a partial list.  It shows the directory at one moment; a
 * block can be created or unlinked right after (a later snapshot of a listed
 * name may give -ENOENT).
 * Returns 0, or -EINVAL (@names or @count NULL), -ENOMEM, -EACCES, -ENOENT
 * (no SHMBUS_SHM_DIR), or another -errno from opening or reading the
 * directory; on failure *@names and *@count are left as they were.
 * Thread-safe; blocking only in the kernel calls it makes (open, getdents).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_block_list(const char *prefix, char ***names,
						    size_t *count);

/*
 * shmbus_block_list_free - release what shmbus_block_list() returned: the
 * @count names and the array.  @names may be NULL when @count is 0.
 * Thread-safe (on distinct lists); wait-free apart from free(3).
 */
SHMBUS_API void shmbus_block_list_free(char **names, size_t count);

/*
 * shmbus_name_utf8 - @name as valid UTF-8, the way snapshot documents
 * (shmbus_snapshot_json()) and the tool show names.  Block names, like file
 * names, may hold any bytes, and JSON needs UTF-8: every byte that is not
 * part of a well-formed UTF-8 sequence (overlong forms, surrogates and code
 * points above U+10FFFF are not) becomes U+FFFD; a valid name comes back
 * unchanged.  @name may be any NUL-terminated string, not only a valid block
 * name.
 * Returns 0 and a malloc'd string in *@out (free(3) it), -EINVAL (@name or
 * @out NULL), or -ENOMEM.
 * Thread-safe; wait-free apart from malloc(3).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_name_utf8(const char *name, char **out);

/*
 * shmbus_snapshot_take - snapshot the block @name.
 * Returns 0 and fills *@out (free it with shmbus_snapshot_free()), or
 * -EINVAL, -ENAMETOOLONG, -ENOENT, -EACCES, -SHMBUS_EEMPTY, -ENOMEM.
 * A block that is not ours still gives a snapshot (kind "unknown").
 * A block of a known kind whose state is corrupt gives a snapshot with
 * kind_error set (and shmbus_snapshot_json() reports it).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_snapshot_take(const char *name,
						       struct shmbus_snapshot **out);

SHMBUS_API void shmbus_snapshot_free(struct shmbus_snapshot *snap);

/*
 * shmbus_snapshot_json - the snapshot as a JSON document (sorted keys,
 * "schema_version"), as a malloc'd string the caller frees.  @indent: 0 for
 * one line, else spaces per level.  Returns NULL on out-of-memory.
 */
SHMBUS_API char *shmbus_snapshot_json(const struct shmbus_snapshot *snap, int indent);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_INSPECT_H */
