/*
 * manager_list.c - the entries of a manager block: publish, clear, read
 * back (a sequence lock per entry), and unlink-if-still-the-same-object.
 *
 * Invariant: a reader acts only on an entry it copied between two equal,
 * even readings of `seq`, and only after checking every field of the copy.
 * The read side is async-signal-safe because the forked guardian runs it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "manager_internal.h"

/*
 * The fences W1/F1 order accesses that only *another process* observes (the
 * guardian, a snapshot).  ThreadSanitizer cannot build fences, and it never
 * sees another process anyway, so under TSan they are left out.
 */
#if defined(__SANITIZE_THREAD__)
#define mgr_fence_release() ((void)0)
#define mgr_fence_acquire() ((void)0)
#else
#define mgr_fence_release() atomic_thread_fence(memory_order_release)
#define mgr_fence_acquire() atomic_thread_fence(memory_order_acquire)
#endif

void mgr_entry_write(struct mgr_entry *e, const struct mgr_item *it)
{
	/* Relaxed: the owner is the only writer of seq. */
	uint32_t seq = atomic_load_explicit(&e->seq, memory_order_relaxed);
	struct timespec now;
	size_t len = strlen(it->name);

	clock_gettime(CLOCK_REALTIME, &now);
	/* Relaxed store of the odd value, then W1: a release fence, so a reader
	 * that sees any of the field writes below also sees seq odd (pairs with
	 * the acquire fence F1 in mgr_entry_read()). */
	atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
	mgr_fence_release();
	e->active = 1;
	e->dev = it->dev;
	e->ino = it->ino;
	e->listed_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	e->name_len = (uint32_t)len;
	e->flags = it->flags;
	memset(e->name, 0, sizeof(e->name));
	memcpy(e->name, it->name, len);
	/* R1: release; pairs with A1 in mgr_entry_read(): the fields are
	 * complete before seq is even again. */
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}

void mgr_entry_clear(struct mgr_entry *e)
{
	uint32_t seq = atomic_load_explicit(&e->seq, memory_order_relaxed); /* sole writer */

	atomic_store_explicit(&e->seq, seq + 1, memory_order_relaxed);
	mgr_fence_release(); /* W1, as in entry_write */
	e->active = 0;
	/* R1, as in entry_write. */
	atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}

/* A valid block name, checked without library calls (async-signal-safe). */
static bool name_ok(const char *name, uint32_t len)
{
	uint32_t i;

	if (len == 0 || len > SHMBUS_NAME_MAX || name[len] != '\0')
		return false;
	for (i = 0; i < len; i++) {
		if (name[i] == '/' || name[i] == '\0')
			return false;
	}
	if (name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.')))
		return false;
	return true;
}

int mgr_entry_read(const struct mgr_entry *shared, struct mgr_item *out)
{
	struct mgr_entry *e = (struct mgr_entry *)(uintptr_t)shared;
	uint32_t seq1, seq2, active, len;

	/* A1: acquire; pairs with R1 in entry_write()/entry_clear(). */
	seq1 = atomic_load_explicit(&e->seq, memory_order_acquire);
	if (seq1 & 1)
		return 0; /* being written: the owner has not linked that name yet */
	active = e->active;
	len = e->name_len;
	out->dev = e->dev;
	out->ino = e->ino;
	out->flags = e->flags;
	memcpy(out->name, e->name, sizeof(out->name));
	/* F1: acquire fence; pairs with W1: if any field read above saw a later
	 * write, the load below sees seq moved on. */
	mgr_fence_acquire();
	seq2 = atomic_load_explicit(&e->seq, memory_order_relaxed);
	if (seq1 != seq2)
		return 0; /* rewritten while we copied: not a stable entry */
	if (active == 0)
		return 0;
	if (active != 1 || len > SHMBUS_NAME_MAX || !name_ok(out->name, len))
		return -SHMBUS_ECORRUPT;
	return 1;
}

int mgr_region_check(const struct mgr_region *r, uint64_t total_size)
{
	if (r->entry_size != sizeof(struct mgr_entry) ||
	    r->entries_off != SHMBUS_MGR_ENTRIES_OFF || r->capacity == 0 ||
	    r->capacity > SHMBUS_MANAGER_CAPACITY_MAX ||
	    mgr_total_size(r->capacity) != total_size)
		return -SHMBUS_ECORRUPT;
	return 0;
}

int mgr_unlink_same(int dirfd, const char *name, uint64_t dev, uint64_t ino)
{
	struct stat st;

	/*
	 * There is no "unlink this inode" call for a name: between fstatat()
	 * and unlinkat() someone could unlink the object and create another
	 * under the same name.  The window is a few instructions and both steps
	 * of that would have to be done by a process with the right to unlink
	 * our block; we accept it (see the design notes in manager.h).
	 */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino)
		return -ESTALE;
	if (unlinkat(dirfd, name, 0) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	return 0;
}
