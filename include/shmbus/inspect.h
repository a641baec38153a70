/*
 * shmbus/inspect.h - snapshots of blocks, for tools and for programs that
 * export their own state.
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
	bool alive;
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
	bool creator_alive;
	bool manager_alive;
	uint32_t nparticipants;
	struct shmbus_snapshot_participant *participants;
	bool any_alive;              /* creator, manager or a participant lives */
	int kind_error;              /* 0, or why the kind-specific part is missing */
	void *kind_state;            /* kind-specific part (internal) */
};

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
