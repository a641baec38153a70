/*
 * inspect_internal.h - how each kind plugs into snapshots.
 *
 * The snapshot code copies bytes out of the object with pread() (see
 * shmbus/inspect.h) and hands them to the kind's hooks, which validate the
 * copy and keep what they need in a private state; later the JSON hook adds
 * the kind's fields to the document.
 */
#ifndef SHMBUS_INSPECT_INTERNAL_H
#define SHMBUS_INSPECT_INTERNAL_H

#include <jansson.h>

#include "header_internal.h"
#include "shmbus/inspect.h"

struct snap_src {
	int fd;
	uint64_t size; /* fstat size when the snapshot started */
};

/*
 * snap_read - (snap_util.c) copy [@off, @off + @len) of the object into @buf.
 * Returns 0, -SHMBUS_ETRUNCATED if the range is past the (current) end, or
 * -errno.
 */
int snap_read(const struct snap_src *src, uint64_t off, void *buf, size_t len);

struct snap_kind_ops {
	/* Name for a participant role code (static string). */
	const char *(*role_name)(uint32_t role);
	/*
	 * Header-less kinds (slot tables): recognise the object by structure.
	 * Returns 1 and sets snap->kind when it is one, 0 when it is not, or a
	 * negative code on a read error.  NULL for kinds with a header.
	 */
	int (*probe)(const struct snap_src *src, struct shmbus_snapshot *snap);
	/*
	 * Read and validate the kind's state into snap->kind_state.  @hdr is a
	 * checked copy of the header (NULL for header-less kinds).  Returns 0
	 * or a -SHMBUS_E* code, which becomes snap->kind_error.
	 */
	int (*take)(const struct snap_src *src, const struct shm_header *hdr,
		    struct shmbus_snapshot *snap);
	/* Add the kind's fields to the document @doc. */
	int (*json)(const struct shmbus_snapshot *snap, json_t *doc);
	void (*free)(void *kind_state);
};

/*
 * snapshot_fd - snapshot the object open at @fd (any readable file:
 * a shm object, or a memfd in the fuzz target), reported under @name.
 * Returns as shmbus_snapshot_take().
 */
int snapshot_fd(int fd, const char *name, struct shmbus_snapshot **out);

/* Hooks of each kind; a kind not built yet has none. */
extern const struct snap_kind_ops *const snap_kinds[SHMBUS_KIND_MAX];
extern const struct snap_kind_ops snap_manager; /* manager_inspect.c */
extern const struct snap_kind_ops spsc_snap_kind;
extern const struct snap_kind_ops mpmc_snap_kind; /* mpmc_inspect.c */
extern const struct snap_kind_ops bcast_snap_kind; /* bcast_inspect.c */
extern const struct snap_kind_ops snap_slots;  /* slots_snap.c */
extern const struct snap_kind_ops snap_pylist; /* slots_snap.c */

/* JSON helpers for hooks (snap_util.c).  ijson_set - set @key to a new value, failing on out-of-memory. */
int ijson_set(json_t *obj, const char *key, json_t *value);

/* A JSON string of @s (NULL: null) whatever its bytes: invalid UTF-8 (file
 * names, garbage in a block) becomes U+FFFD (shmbus_name_utf8()) instead of
 * failing.  NULL only on out-of-memory. */
json_t *ijson_text(const char *s);

/* An unsigned counter or position as a JSON number (a real above INT64_MAX). */
json_t *ijson_u64(uint64_t v);

/* CLOCK_REALTIME nanoseconds as an ISO 8601 UTC string (ms precision). */
json_t *ijson_time(uint64_t ns);

/* {"pid", "start_ticks", "alive"} for a process identity, null for none. */
json_t *ijson_process(shmbus_ident_t id, bool alive);

#endif
