/*
 * manager_inspect.c - snapshot hooks for manager blocks: which blocks a
 * manager lists, and whether each name still holds the listed object.
 *
 * Invariant: every value comes from a pread() copy, and the region and each
 * entry are checked (mgr_region_check(), mgr_entry_read())
 * before they bound a loop or become a name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "inspect/inspect_internal.h"
#include "manager_internal.h"

#define CHUNK 32

static void mgr_free(void *state)
{
	struct mgr_snap *ms = state;

	if (ms)
		free(ms->entries);
	free(ms);
}

static int by_name(const void *a, const void *b)
{
	const struct mgr_snap_entry *x = a, *y = b;

	return strcmp(x->item.name, y->item.name);
}

/* Whether /dev/shm/NAME is the object (@dev, @ino) right now. */
static bool present(const struct mgr_item *it)
{
	char path[sizeof(SHMBUS_SHM_DIR) + SHMBUS_NAME_MAX + 1];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", SHMBUS_SHM_DIR, it->name);
	return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_dev == it->dev && (uint64_t)st.st_ino == it->ino;
}

static int read_entries(const struct snap_src *src, struct mgr_snap *ms)
{
	struct mgr_entry chunk[CHUNK];
	uint32_t base, k, n;
	int rc;

	for (base = 0; base < ms->capacity; base += n) {
		n = ms->capacity - base < CHUNK ? ms->capacity - base : CHUNK;
		rc = snap_read(src, SHMBUS_MGR_ENTRIES_OFF +
					   (uint64_t)base * sizeof(chunk[0]),
				      chunk, (size_t)n * sizeof(chunk[0]));
		if (rc)
			return rc;
		for (k = 0; k < n; k++) {
			struct mgr_snap_entry *e = &ms->entries[ms->n];

			rc = mgr_entry_read(&chunk[k], &e->item);
			if (rc < 0)
				return rc;
			if (rc == 1)
				ms->n++;
		}
	}
	return 0;
}

static int mgr_take(const struct snap_src *src, const struct shm_header *hdr,
		    struct shmbus_snapshot *snap)
{
	struct mgr_region r;
	struct mgr_snap *ms;
	uint32_t i;
	int rc;

	if (!hdr)
		return -SHMBUS_ECORRUPT;
	if (hdr->version != SHMBUS_MGR_VERSION)
		return -SHMBUS_EVERSION;
	rc = snap_read(src, SHMBUS_MGR_REGION_OFF, &r, sizeof(r));
	if (rc)
		return rc;
	rc = mgr_region_check(&r, hdr->total_size);
	if (rc)
		return rc;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->capacity = r.capacity;
	/* Relaxed: loads from our private copy. */
	ms->state = atomic_load_explicit(&r.state, memory_order_relaxed);
	ms->owner = r.owner;
	ms->guardian = atomic_load_explicit(&r.guardian, memory_order_relaxed);
	ms->entries = calloc(r.capacity, sizeof(*ms->entries));
	if (!ms->entries) {
		mgr_free(ms);
		return -ENOMEM;
	}
	rc = read_entries(src, ms);
	if (rc) {
		mgr_free(ms);
		return rc;
	}
	for (i = 0; i < ms->n; i++)
		ms->entries[i].present = present(&ms->entries[i].item);
	qsort(ms->entries, ms->n, sizeof(*ms->entries), by_name);
	snap->kind_state = ms;
	return 0;
}

static const char *state_name(uint32_t state)
{
	switch (state) {
	case SHMBUS_MGR_RUNNING: return "running";
	case SHMBUS_MGR_STOPPING: return "stopping";
	default: return "unknown";
	}
}

static int mgr_json(const struct shmbus_snapshot *snap, json_t *doc)
{
	const struct mgr_snap *ms = snap->kind_state;
	json_t *reg = json_object(), *blocks = json_array();
	uint32_t i;
	int rc = 0;

	if (!reg || !blocks) {
		json_decref(reg);
		json_decref(blocks);
		return -ENOMEM;
	}
	for (i = 0; i < ms->n && rc == 0; i++) {
		const struct mgr_snap_entry *e = &ms->entries[i];
		json_t *o = json_pack("{s:o, s:b, s:s}", "name", ijson_text(e->item.name),
				      "present", e->present,
				      "how", e->item.flags & SHMBUS_MGR_ENTRY_CREATED ?
						    "created" : "tracked");

		if (!o || json_array_append_new(blocks, o))
			rc = -ENOMEM;
	}
	rc |= ijson_set(reg, "state", json_string(state_name(ms->state)));
	rc |= ijson_set(reg, "capacity", json_integer(ms->capacity));
	rc |= ijson_set(reg, "count", json_integer(ms->n));
	rc |= ijson_set(reg, "blocks", blocks);
	rc |= ijson_set(doc, "registry", reg);
	return rc ? -ENOMEM : 0;
}

const struct snap_kind_ops snap_manager = {
	.role_name = NULL,
	.probe = NULL,
	.take = mgr_take,
	.json = mgr_json,
	.free = mgr_free,
};
