/*
 * header.c - the common block header: build, publish, load, check; the
 * participant table.
 *
 * Invariant: nothing in a header is used until a private copy of it has passed
 * header_check() against the object's real size.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "header_internal.h"
#include "proc_internal.h"

static const char *const kind_names[SHMBUS_KIND_MAX] = {
	[SHMBUS_KIND_UNKNOWN] = "unknown",
	[SHMBUS_KIND_SPSC] = "spsc",
	[SHMBUS_KIND_MPMC] = "mpmc",
	[SHMBUS_KIND_SLOTS] = "slots",
	[SHMBUS_KIND_PYLIST] = "python-shareablelist",
	[SHMBUS_KIND_MANAGER] = "manager",
	[SHMBUS_KIND_BROADCAST] = "broadcast",
};

_Thread_local uint32_t header_create_flags;

/* Relaxed: the stamp is informational (gc --idle-for); nothing orders on it.
 * Rounded up to the next second, so that a block never looks idle for longer
 * than it has been. */
void header_touch(struct shm_header *hdr)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	atomic_store_explicit(&hdr->active_s, (uint32_t)now.tv_sec + (now.tv_nsec > 0),
			      memory_order_relaxed);
}

const char *shmbus_kind_name(enum shmbus_kind kind)
{
	if ((unsigned)kind >= SHMBUS_KIND_MAX)
		return "unknown";
	return kind_names[kind];
}

void header_init(struct shm_header *hdr, const struct layout_desc *desc)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	memcpy(hdr->magic, SHMBUS_MAGIC, SHMBUS_MAGIC_LEN);
	hdr->kind = (uint16_t)desc->kind;
	hdr->version = desc->version;
	hdr->byte_order = SHMBUS_BYTE_ORDER;
	hdr->header_size = sizeof(*hdr);
	hdr->cacheline = SHMBUS_CACHELINE;
	hdr->creator_uid = (uint32_t)getuid();
	hdr->total_size = desc->total_size;
	hdr->creator = shmbus_proc_self();
	hdr->creator_ns = proc_ns_tag(hdr->creator);
	hdr->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	hdr->participants_off = desc->participants_off;
	hdr->participants_max = desc->participants_max;
	hdr->flags = header_create_flags;
	/* Relaxed: the block is not published yet; publish() orders it. */
	atomic_store_explicit(&hdr->manager, 0, memory_order_relaxed);
	if (desc->participants_off)
		memset((char *)hdr + desc->participants_off, 0,
		       (size_t)desc->participants_max * sizeof(struct participant));
}

void header_publish(struct shm_header *hdr)
{
	/* R1: pairs with A1 in header_load(): the header and the layout
	 * behind it are complete before anyone sees `ready`. */
	atomic_store_explicit(&hdr->ready, SHMBUS_READY, memory_order_release);
}

void header_load(const struct shm_header *shared, struct shm_header *copy)
{
	struct shm_header *src = (struct shm_header *)(uintptr_t)shared;
	uint32_t ready;

	/* A1: pairs with R1 in header_publish(). */
	ready = atomic_load_explicit(&src->ready, memory_order_acquire);
	/* The plain fields are immutable once ready; copy them one by one so
	 * that the atomics (ready, manager) are never read non-atomically. */
	memcpy(copy->magic, src->magic, SHMBUS_MAGIC_LEN);
	atomic_init(&copy->ready, ready);
	copy->kind = src->kind;
	copy->version = src->version;
	copy->byte_order = src->byte_order;
	copy->header_size = src->header_size;
	copy->cacheline = src->cacheline;
	copy->creator_uid = src->creator_uid;
	copy->total_size = src->total_size;
	copy->creator = src->creator;
	copy->created_ns = src->created_ns;
	copy->participants_off = src->participants_off;
	copy->participants_max = src->participants_max;
	copy->flags = src->flags;
	copy->creator_ns = src->creator_ns;
	/* Relaxed: the manager field is informational, set after publication. */
	atomic_init(&copy->manager, atomic_load_explicit(&src->manager, memory_order_relaxed));
	memset(copy->reserved, 0, sizeof(copy->reserved));
}

bool header_blank(const struct shm_header *copy)
{
	static const char zero[SHMBUS_MAGIC_LEN];

	return memcmp(copy->magic, zero, SHMBUS_MAGIC_LEN) == 0;
}

static bool power_of_two(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

int header_check(const struct shm_header *h, uint64_t object_size,
			struct shmbus_block_info *info)
{
	uint64_t part_end;

	if (object_size < SHMBUS_MAGIC_LEN)
		return -SHMBUS_EMAGIC;
	if (memcmp(h->magic, SHMBUS_MAGIC, SHMBUS_MAGIC_LEN - 1) != 0)
		return -SHMBUS_EMAGIC;
	if (h->magic[SHMBUS_MAGIC_LEN - 1] != SHMBUS_MAGIC[SHMBUS_MAGIC_LEN - 1])
		return -SHMBUS_EVERSION;
	if (object_size < sizeof(*h))
		return -SHMBUS_ETRUNCATED;
	if (atomic_load_explicit(&h->ready, memory_order_relaxed) != SHMBUS_READY)
		return atomic_load_explicit(&h->ready, memory_order_relaxed) == 0 ?
			-SHMBUS_ENOTREADY : -SHMBUS_ECORRUPT;
	if (h->byte_order != SHMBUS_BYTE_ORDER)
		return h->byte_order == __builtin_bswap32(SHMBUS_BYTE_ORDER) ?
			-SHMBUS_EBYTEORDER : -SHMBUS_ECORRUPT;
	if (h->kind == SHMBUS_KIND_UNKNOWN || h->kind == SHMBUS_KIND_PYLIST)
		return -SHMBUS_ECORRUPT;
	if (h->kind >= SHMBUS_KIND_MAX)
		return -SHMBUS_EVERSION;
	if (h->header_size != sizeof(*h) || !power_of_two(h->cacheline) ||
	    h->cacheline > 4096 || h->total_size < h->header_size)
		return -SHMBUS_ECORRUPT;
	if (h->total_size > object_size)
		return -SHMBUS_ETRUNCATED;
	if (h->participants_off != 0) {
		if (h->participants_off < h->header_size || h->participants_off % 8 != 0 ||
		    h->participants_max == 0 || h->participants_max > SHMBUS_PARTICIPANTS_MAX)
			return -SHMBUS_ECORRUPT;
		part_end = (uint64_t)h->participants_off +
			   (uint64_t)h->participants_max * sizeof(struct participant);
		if (part_end > h->total_size)
			return -SHMBUS_ECORRUPT;
	} else if (h->participants_max != 0) {
		return -SHMBUS_ECORRUPT;
	}
	if (info) {
		info->kind = (enum shmbus_kind)h->kind;
		info->version = h->version;
		info->header_size = h->header_size;
		info->cacheline = h->cacheline;
		info->total_size = h->total_size;
		info->creator = h->creator;
		info->creator_uid = h->creator_uid;
		info->created_ns = h->created_ns;
		info->manager = atomic_load_explicit(&h->manager, memory_order_relaxed);
		info->flags = h->flags;
	}
	return 0;
}

struct participant *header_participants(struct shm_header *hdr, uint32_t *n)
{
	*n = hdr->participants_max;
	if (!hdr->participants_off)
		return NULL;
	return (struct participant *)((char *)hdr + hdr->participants_off);
}

int part_verdict(const struct participant *p, shmbus_ident_t id)
{
	/* Relaxed: the caller's acquire load of the ident ordered it; the
	 * owner wrote its tag before its claim CAS (release), see below. */
	return (int)proc_judge(id, atomic_load_explicit(&((struct participant *)(uintptr_t)p)->ns,
							memory_order_relaxed));
}

bool part_alive(const struct participant *p, shmbus_ident_t id)
{
	return part_verdict(p, id) != PROC_DEAD;
}

/* Write our tag, then CAS the ident from @cur to @me.  The tag goes first,
 * so that whoever sees our ident (acquire) sees our tag, not a previous
 * owner's (that one would only decode as "unknown") or a free entry's 0
 * (which would mean "judge by pid": wrong for a process of another
 * namespace).  A claimer that loses the CAS may leave its own tag: for the
 * winner that decodes as "unknown", never as a wrong namespace; the winner
 * writes its tag again after the CAS. */
static bool part_cas(struct participant *p, shmbus_ident_t *cur, shmbus_ident_t me,
		     uint32_t tag, bool weak)
{
	bool won;

	/* Relaxed: published by the release side of the CAS. */
	atomic_store_explicit(&p->ns, tag, memory_order_relaxed);
	/* C1: acq_rel.  Acquire: what the dead owner wrote before it died
	 * (and before its last release) is visible to the taker.  Release:
	 * pairs with the acquire load of readers that check ownership, and
	 * publishes the tag. */
	won = weak ? atomic_compare_exchange_weak_explicit(&p->ident, cur, me,
							   memory_order_acq_rel,
							   memory_order_relaxed) :
		     atomic_compare_exchange_strong_explicit(&p->ident, cur, me,
							     memory_order_acq_rel,
							     memory_order_relaxed);
	if (won)
		atomic_store_explicit(&p->ns, tag, memory_order_relaxed);
	return won;
}

int part_claim(struct participant *p, uint32_t role, shmbus_ident_t me,
		      shmbus_ident_t *prev)
{
	/* Acquire: part_verdict() reads the owner's tag after it. */
	shmbus_ident_t cur = atomic_load_explicit(&p->ident, memory_order_acquire);
	uint32_t tag = proc_ns_tag(me);

	for (;;) {
		if (cur == me)
			return -EBUSY; /* we already own it: a second role holder */
		if (cur != SHMBUS_IDENT_NONE) {
			int v = part_verdict(p, cur);

			if (v == PROC_ALIVE)
				return -EBUSY;
			if (v == PROC_UNKNOWN)
				return -SHMBUS_EPEERUNKNOWN;
		}
		if (part_cas(p, &cur, me, tag, true))
			break;
	}
	/* Relaxed: role is informational for inspection; ownership is ident. */
	atomic_store_explicit(&p->role, role, memory_order_relaxed);
	if (prev)
		*prev = cur;
	return 0;
}

int part_join(struct participant *tbl, uint32_t n, uint32_t role,
		     shmbus_ident_t me, shmbus_ident_t *prev)
{
	uint32_t tag = proc_ns_tag(me);
	bool unknown = false;
	uint32_t i;
	int rc;

	/* Free entries first, so live history is kept as long as possible. */
	for (i = 0; i < n; i++) {
		shmbus_ident_t cur = SHMBUS_IDENT_NONE;

		/* Relaxed look first: only a free entry gets our tag. */
		if (atomic_load_explicit(&tbl[i].ident, memory_order_relaxed) != cur)
			continue;
		if (part_cas(&tbl[i], &cur, me, tag, false)) {
			atomic_store_explicit(&tbl[i].role, role, memory_order_relaxed);
			if (prev)
				*prev = SHMBUS_IDENT_NONE;
			return (int)i;
		}
	}
	for (i = 0; i < n; i++) {
		if (atomic_load_explicit(&tbl[i].ident, memory_order_relaxed) == me)
			continue;
		rc = part_claim(&tbl[i], role, me, prev);
		if (rc == 0)
			return (int)i;
		unknown |= rc == -SHMBUS_EPEERUNKNOWN;
	}
	return unknown ? -SHMBUS_EPEERUNKNOWN : -ENOSPC;
}

void part_leave(struct participant *p, shmbus_ident_t me)
{
	shmbus_ident_t cur = me;

	/* R2: release.  Everything the owner wrote is visible to the next
	 * owner, whose claim CAS acquires (C1/C2). */
	atomic_compare_exchange_strong_explicit(&p->ident, &cur, SHMBUS_IDENT_NONE,
						memory_order_release, memory_order_relaxed);
}
