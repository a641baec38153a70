/*
 * header_internal.h - the common header at offset 0 of every block that a
 * shmbus layout (spsc, mpmc) builds, and the participant table it points to.
 *
 * Protocol: the creator zero-fills the block (creation does), writes every
 * header field and its whole layout, and only then stores `ready` with
 * release order (header_publish()).  A reader loads `ready` with
 * acquire order first; if it is not SHMBUS_READY it must not trust anything
 * else in the block.  After `ready`, header fields never change except
 * `manager` (atomic, see manager.c).
 *
 * Participants: a table of (ident, role, ns) entries, each owned by at most
 * one process.  The ident word is claimed with a CAS from 0 or from the ident
 * of a dead process; idents never repeat (see proc.h), so the CAS has no ABA.
 * A process in another pid namespace (or when our /proc is not our
 * namespace's) is never proven dead: its entry is not taken
 * (-SHMBUS_EPEERUNKNOWN), and inspection calls it alive, liveness unknown.
 *
 * Namespace tags use words that were reserved (always zero) before: no
 * layout grows and no version changes.  A block written by an older build
 * has 0 there, which means "judge by pid alone" as that build did.
 */
#ifndef SHMBUS_HEADER_INTERNAL_H
#define SHMBUS_HEADER_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "shmbus/block.h"

#define SHMBUS_MAGIC_LEN 8
/* "SHMBUS", NUL, then the version of this common header format. */
#define SHMBUS_MAGIC "SHMBUS\0\1"
#define SHMBUS_BYTE_ORDER UINT32_C(0x01020304)
#define SHMBUS_READY UINT32_C(0x52454459) /* "REDY" */
#define SHMBUS_CACHELINE 64
#define SHMBUS_HEADER_SIZE 128
#define SHMBUS_PARTICIPANTS_MAX 4096

struct shm_header {
	char magic[SHMBUS_MAGIC_LEN];
	_Atomic uint32_t ready;       /* SHMBUS_READY once built; release/acquire */
	uint16_t kind;                /* enum shmbus_kind */
	uint16_t version;             /* layout version of that kind */
	uint32_t byte_order;          /* SHMBUS_BYTE_ORDER, native */
	uint32_t header_size;         /* sizeof(struct shm_header) */
	uint32_t cacheline;           /* the creator's cache-line size */
	uint32_t creator_uid;
	uint64_t total_size;          /* bytes the layout uses */
	uint64_t creator;             /* shmbus_ident_t of the creator */
	uint64_t created_ns;          /* CLOCK_REALTIME */
	uint32_t participants_off;    /* offset of the participant table, 0: none */
	uint32_t participants_max;    /* entries in it */
	uint32_t flags;               /* SHMBUS_BLOCK_* (block.h); fixed at creation */
	uint32_t creator_ns;          /* pid namespace tag of `creator`
				       * (proc_internal.h); 0 in older blocks */
	_Atomic uint64_t manager;     /* ident of a guardian that will unlink it */
	/* CLOCK_REALTIME seconds, rounded up, of the block's last join,
	 * takeover or leave of a participant (0: never stamped, e.g. a block
	 * made before the field existed): its last activity for
	 * `gc --idle-for`.  Relaxed, informational only (block_touch()). */
	_Atomic uint32_t active_s;
	uint32_t reserved1;
	uint8_t reserved[40];
};

struct participant {
	_Atomic uint64_t ident;       /* owner, or 0 when free */
	_Atomic uint32_t role;        /* layout-defined; written by the owner */
	_Atomic uint32_t ns;          /* pid namespace tag of the owner (see
				       * proc_internal.h); 0 in older blocks */
};

static_assert(sizeof(struct shm_header) == SHMBUS_HEADER_SIZE, "header size");
static_assert(offsetof(struct shm_header, ready) == 8, "header layout");
static_assert(offsetof(struct shm_header, kind) == 12, "header layout");
static_assert(offsetof(struct shm_header, total_size) == 32, "header layout");
static_assert(offsetof(struct shm_header, creator) == 40, "header layout");
static_assert(offsetof(struct shm_header, participants_off) == 56, "header layout");
static_assert(offsetof(struct shm_header, manager) == 72, "header layout");
static_assert(sizeof(struct participant) == 16, "participant size");
static_assert(offsetof(struct shm_header, active_s) == 80, "header layout");
static_assert(offsetof(struct participant, ns) == 12, "participant layout");
static_assert(ATOMIC_INT_LOCK_FREE == 2 && ATOMIC_LLONG_LOCK_FREE == 2,
	      "cross-process atomics must be lock-free");

/* What a layout tells header_init(). */
struct layout_desc {
	enum shmbus_kind kind;
	uint16_t version;
	uint64_t total_size;
	uint32_t participants_off;
	uint32_t participants_max;
};

/*
 * header_init - fill every header field but `ready` in a zeroed block
 * and zero the participant table.  The caller then builds its layout and
 * calls header_publish().
 */
void header_init(struct shm_header *hdr, const struct layout_desc *desc);

/*
 * Header flags for the blocks that block_create_built() makes on this thread
 * (SHMBUS_BLOCK_EPHEMERAL, from SHMBUS_MODE_EPHEMERAL in the create call's
 * mode): header_init() copies them into the header.  Thread-local, because
 * the kinds' build callbacks call header_init() from inside
 * block_create_built() and take no flags of their own.
 */
extern _Thread_local uint32_t header_create_flags;

/* Store `ready` (release): everything written before is visible to readers. */
void header_publish(struct shm_header *hdr);

/*
 * header_load - take a private copy of a live header: `ready` first
 * (acquire), then the rest.  Validate the copy, never the shared bytes.
 */
void header_load(const struct shm_header *shared, struct shm_header *copy);

/*
 * header_check - validate a header copy against the object's real
 * size and fill @info.  Returns 0 or a -SHMBUS_E* code (see
 * shmbus_block_info()).  @object_size: what fstat says.
 */
int header_check(const struct shm_header *copy, uint64_t object_size,
			struct shmbus_block_info *info);

/* True if the first bytes are all zero: a block whose creator has not yet
 * written anything (or a raw zero-filled block). */
bool header_blank(const struct shm_header *copy);

/*
 * block_attach_layout - attach @name as a shmbus layout of @kind whose
 * version must be @version.  Waits up to about 250 ms for a block that is
 * still being built by a live creator, then fails with -SHMBUS_ENOTREADY.
 * Returns 0 and fills @out and (if not NULL) @info, or a negative code; on
 * failure nothing stays attached.
 */
int block_attach_layout(struct shmbus_block **out, const char *name,
			       unsigned flags, enum shmbus_kind kind, uint16_t version,
			       struct shmbus_block_info *info);

/*
 * block_create_built - create @name exclusively with @size bytes and @mode,
 * and let @build lay it out in the zero-filled mapping (@mem, @size and
 * @arg are passed on).  The block is closed afterwards.  If @build fails the
 * block is unlinked too, so a failed create leaves nothing behind.  Returns 0,
 * shmbus_block_create()'s code, or @build's.
 */
int block_create_built(const char *name, uint64_t size, mode_t mode,
		       int (*build)(void *mem, uint64_t size, const void *arg), const void *arg);

/*
 * block_lost_word - the word the SIGBUS guard sets when it replaces pages
 * of @b's mapping (core/guard.c).  A ring handle keeps the pointer and tests
 * it with block_lost() at each call: one relaxed load.
 */
const _Atomic uint32_t *block_lost_word(const struct shmbus_block *b);

static inline int block_lost(const _Atomic uint32_t *word)
{
	/* Relaxed: a mark about the mapping, not about data it orders. */
	return atomic_load_explicit(word, memory_order_relaxed) ? -SHMBUS_ESHRUNK : 0;
}

/* The header at the start of a block (the caller has checked it). */
static inline struct shm_header *block_header(const struct shmbus_block *b)
{
	return (struct shm_header *)(uintptr_t)shmbus_block_cdata(b);
}

/*
 * Participant table operations; @tbl and @n come from a checked header.
 * part_claim - own entry @p if it is free or its owner is dead.
 *   Returns 0, -EBUSY if a live process owns it, or -SHMBUS_EPEERUNKNOWN if
 *   its owner cannot be judged (another pid namespace, see above).  @prev (may be NULL)
 *   receives the ident of the dead owner taken over (0 if it was free).
 * part_join - own any free or dead entry; returns its index, or
 *   -ENOSPC when every entry has a live owner.
 * part_leave - give the entry back if @me still owns it.
 */
int part_claim(struct participant *p, uint32_t role, shmbus_ident_t me,
		      shmbus_ident_t *prev);
/* part_verdict - whether the owner of @p (ident @id, loaded with acquire
 * order) runs: enum proc_verdict of proc_internal.h. */
int part_verdict(const struct participant *p, shmbus_ident_t id);
/* part_alive - the owner of @p runs or may run (unknown counts as alive). */
bool part_alive(const struct participant *p, shmbus_ident_t id);
int part_join(struct participant *tbl, uint32_t n, uint32_t role,
		     shmbus_ident_t me, shmbus_ident_t *prev);
void part_leave(struct participant *p, shmbus_ident_t me);
/* header_touch - stamp the block's last activity (shm_header.active_s);
 * block_touch() for a handle's block: each ring calls it when a participant
 * joins, takes over or leaves (never on a read-only mapping). */
void header_touch(struct shm_header *hdr);
static inline void block_touch(struct shmbus_block *b)
{
	header_touch(block_header(b));
}

/* The participant table of a checked header, or NULL if it has none. */
struct participant *header_participants(struct shm_header *hdr,
						      uint32_t *n);

#endif /* SHMBUS_HEADER_INTERNAL_H */
