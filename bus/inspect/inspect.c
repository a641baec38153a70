/*
 * inspect.c - snapshots of blocks: the common part (object, header,
 * participants, liveness) and the dispatch to each kind's hooks.
 *
 * Invariant: every byte used here came from a pread() copy and was checked
 * before it sized, indexed or bounded anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect_internal.h"
#include "name_internal.h"
#include "shm_file_internal.h"
#include "proc_internal.h"

const struct snap_kind_ops *const snap_kinds[SHMBUS_KIND_MAX] = {
	[SHMBUS_KIND_UNKNOWN] = NULL,
	[SHMBUS_KIND_MANAGER] = &snap_manager,
	[SHMBUS_KIND_SPSC] = &spsc_snap_kind,
	[SHMBUS_KIND_MPMC] = &mpmc_snap_kind,
	[SHMBUS_KIND_BROADCAST] = &bcast_snap_kind,
	[SHMBUS_KIND_SLOTS] = &snap_slots,   /* probe: our trailer magic */
	[SHMBUS_KIND_PYLIST] = &snap_pylist, /* probe: strict structure */
};

/*
 * Header first: `ready` alone, then (if ready) the whole header.  The second
 * read starts after the first returned, so if `ready` was seen set, the
 * creator's writes before it (release) are in the second copy too.
 */
static int snap_header(const struct snap_src *src, struct shmbus_snapshot *snap,
		       struct shm_header *hdr)
{
	uint32_t ready;
	int rc;

	if (src->size < sizeof(*hdr)) {
		char magic[SHMBUS_MAGIC_LEN];

		if (src->size >= SHMBUS_MAGIC_LEN &&
		    snap_read(src, 0, magic, sizeof(magic)) == 0 &&
		    memcmp(magic, SHMBUS_MAGIC, SHMBUS_MAGIC_LEN - 1) == 0)
			return -SHMBUS_ETRUNCATED;
		return -SHMBUS_EMAGIC;
	}
	rc = snap_read(src, offsetof(struct shm_header, ready), &ready, sizeof(ready));
	if (rc)
		return rc;
	rc = snap_read(src, 0, hdr, sizeof(*hdr));
	if (rc)
		return rc;
	rc = header_check(hdr, src->size, &snap->info);
	if (rc == -SHMBUS_ENOTREADY)
		snap->building_creator = hdr->creator;
	return rc;
}

static int snap_participants(const struct snap_src *src,
			     const struct shm_header *hdr, struct shmbus_snapshot *snap)
{
	const struct snap_kind_ops *k = snap_kinds[hdr->kind];
	struct participant *tbl;
	uint32_t i, n = hdr->participants_max;
	enum proc_verdict v;
	int rc;

	if (!hdr->participants_off || n == 0)
		return 0;
	tbl = calloc(n, sizeof(*tbl));
	snap->participants = calloc(n, sizeof(*snap->participants));
	if (!tbl || !snap->participants) {
		free(tbl);
		return -ENOMEM;
	}
	rc = snap_read(src, hdr->participants_off, tbl, (size_t)n * sizeof(*tbl));
	for (i = 0; rc == 0 && i < n; i++) {
		/* Relaxed: a private copy. */
		shmbus_ident_t id = atomic_load_explicit(&tbl[i].ident, memory_order_relaxed);
		uint32_t role = atomic_load_explicit(&tbl[i].role, memory_order_relaxed);
		struct shmbus_snapshot_participant *p;

		if (id == SHMBUS_IDENT_NONE)
			continue;
		p = &snap->participants[snap->nparticipants++];
		p->index = i;
		p->role = role;
		p->role_name = k && k->role_name ? k->role_name(role) : "participant";
		p->ident = id;
		/* Relaxed: a private copy. */
		v = proc_judge(id, atomic_load_explicit(&tbl[i].ns, memory_order_relaxed));
		p->alive = v != PROC_DEAD;
		p->liveness_unknown = v == PROC_UNKNOWN;
		if (p->alive)
			snap->any_alive = true;
	}
	free(tbl);
	return rc;
}

static int snap_fill(const struct snap_src *src, struct shmbus_snapshot *snap)
{
	const struct snap_kind_ops *k;
	struct shm_header hdr;
	int64_t active;
	enum shmbus_kind kind;
	int rc;

	rc = snap_header(src, snap, &hdr);
	snap->header_error = rc;
	if (rc == 0) {
		snap->has_header = true;
		snap->kind = snap->info.kind;
		snap->creator_alive = proc_judge(snap->info.creator, hdr.creator_ns) != PROC_DEAD;
		snap->manager_alive = shmbus_proc_alive(snap->info.manager);
		snap->any_alive = snap->creator_alive || snap->manager_alive;
		/* The later of its creation and its last join or leave. */
		snap->active_ns = (int64_t)snap->info.created_ns;
		/* Relaxed: a private copy. */
		active = (int64_t)atomic_load_explicit(&hdr.active_s, memory_order_relaxed) *
			 1000000000;
		if (active > snap->active_ns)
			snap->active_ns = active;
		rc = snap_participants(src, &hdr, snap);
		if (rc == -ENOMEM)
			return rc;
		if (rc) {
			snap->kind_error = rc;
			return 0;
		}
		k = snap_kinds[snap->kind];
		if (k && k->take)
			snap->kind_error = k->take(src, &hdr, snap);
		return snap->kind_error == -ENOMEM ? -ENOMEM : 0;
	}
	if (rc != -SHMBUS_EMAGIC)
		return rc == -ENOMEM ? rc : 0;
	/* Not a shmbus header: maybe a kind recognised by its structure. */
	for (kind = 0; kind < SHMBUS_KIND_MAX; kind++) {
		k = snap_kinds[kind];
		if (!k || !k->probe)
			continue;
		rc = k->probe(src, snap);
		if (rc < 0)
			return rc == -ENOMEM ? rc : 0;
		if (rc == 1) {
			snap->header_error = 0;
			if (k->take)
				snap->kind_error = k->take(src, NULL, snap);
			return snap->kind_error == -ENOMEM ? -ENOMEM : 0;
		}
	}
	return 0;
}

int snapshot_fd(int fd, const char *name, struct shmbus_snapshot **out)
{
	struct snap_src src = { .fd = fd };
	struct shmbus_snapshot *snap;
	struct stat st;
	int rc;

	*out = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= 0)
		return -SHMBUS_EEMPTY;
	src.size = (uint64_t)st.st_size;
	snap = calloc(1, sizeof(*snap));
	if (!snap)
		return -ENOMEM;
	snprintf(snap->name, sizeof(snap->name), "%s", name);
	snap->size_bytes = src.size;
	snap->owner_uid = st.st_uid;
	snap->mode = st.st_mode & 07777;
	snap->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	rc = snap_fill(&src, snap);
	if (rc) {
		shmbus_snapshot_free(snap);
		return rc;
	}
	*out = snap;
	return 0;
}

int shmbus_snapshot_take(const char *name, struct shmbus_snapshot **out)
{
	char path[SHMBUS_PATH_MAX];
	struct stat st;
	int fd, rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = name_path(name, path);
	if (rc)
		return rc;
	fd = shm_file_open(-1, path, true, &st);
	if (fd < 0)
		return fd;
	rc = snapshot_fd(fd, path + 1, out);
	close(fd);
	return rc;
}

void shmbus_snapshot_free(struct shmbus_snapshot *snap)
{
	const struct snap_kind_ops *k;

	if (!snap)
		return;
	k = (unsigned)snap->kind < SHMBUS_KIND_MAX ? snap_kinds[snap->kind] : NULL;
	if (snap->kind_state && k && k->free)
		k->free(snap->kind_state);
	free(snap->participants);
	free(snap);
}
