/*
 * manager_ops.c - what a running manager does to its list: create a block,
 * track one, untrack, unlink one, count.
 *
 * Invariant: entry i of the shared list and the private mirror
 * (m->items[i], m->used[i]) change together, under m->lock, in the owning
 * process only.  An entry is published before its name is linked and
 * cleared only after its name was unlinked (or it was untracked), which is
 * what lets the guardian trust "not listed" to mean "not ours to remove".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager_internal.h"
#include "name_internal.h"
#include "registry_internal.h"

/*
 * Whether the guardian is gone: its end of the socket pair closes when it
 * dies, whatever killed it (SIGTERM, SIGQUIT, SIGUSR1... all kill it, see
 * guard_signals()), and ours then polls as hung up.  One poll(2) with no
 * wait per list operation; nothing is read, so a pending reply stays.
 * /proc is asked too: a guardian with threads (a sanitizer runtime's) is
 * already a zombie, dead to everyone else, while its last thread still
 * holds the socket open; we must not say otherwise.
 */
static bool guardian_gone(const struct shmbus_manager *m)
{
	struct pollfd p = { .fd = m->sock, .events = POLLRDHUP };

	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)))
		return true;
	return m->guardian != SHMBUS_IDENT_NONE && !shmbus_proc_alive(m->guardian);
}

/* Lock @m for a list operation; on success the caller must unlock. */
static int enter(struct shmbus_manager *m)
{
	if (!m)
		return -EINVAL;
	if (getpid() != m->owner_pid)
		return -EPERM;
	pthread_mutex_lock(&m->lock);
	if (m->stopped) {
		pthread_mutex_unlock(&m->lock);
		return -ESHUTDOWN;
	}
	/* A block made now would have nobody to unlink it if we died. */
	if (guardian_gone(m)) {
		pthread_mutex_unlock(&m->lock);
		return -SHMBUS_EPEERDEAD;
	}
	return 0;
}

static int find(const struct shmbus_manager *m, const char *name, int skip)
{
	uint32_t i;

	for (i = 0; i < m->capacity; i++) {
		if (m->used[i] && (int)i != skip && strcmp(m->items[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

static int find_free(const struct shmbus_manager *m)
{
	uint32_t i;

	for (i = 0; i < m->capacity; i++) {
		if (!m->used[i])
			return (int)i;
	}
	return -1;
}

static void list_set(struct shmbus_manager *m, int i, const struct mgr_item *it)
{
	m->items[i] = *it;
	m->used[i] = true;
	m->count++;
	mgr_entry_write(&mgr_entries(m->map)[i], it);
	/* Relaxed: an informational counter for inspection. */
	atomic_store_explicit(&mgr_region(m->map)->count, m->count, memory_order_relaxed);
}

static void list_drop(struct shmbus_manager *m, int i)
{
	mgr_entry_clear(&mgr_entries(m->map)[i]);
	m->used[i] = false;
	m->count--;
	/* Relaxed: as in list_set(). */
	atomic_store_explicit(&mgr_region(m->map)->count, m->count, memory_order_relaxed);
}

/* Copy a checked @name, without its leading '/', into @out. */
static int copy_name(char out[SHMBUS_NAME_MAX + 1], const char *name)
{
	int rc = shmbus_name_check(name);

	if (rc)
		return rc;
	snprintf(out, SHMBUS_NAME_MAX + 1, "%s", name[0] == '/' ? name + 1 : name);
	return 0;
}

/*
 * Mark a shmbus header as managed by @guardian.  A header that names another
 * live guardian is not taken over (two managers would race to unlink it); a
 * dead one's is.  Raw blocks and blocks still being built are left as they
 * are: the manager's list is where their association shows.
 */
static int header_claim(struct shmbus_block *b, shmbus_ident_t guardian)
{
	struct shmbus_block_info info;
	struct shm_header *h;
	shmbus_ident_t cur;

	if (shmbus_block_readonly(b) || shmbus_block_info(b, &info) != 0)
		return 0;
	h = block_header(b);
	/* Relaxed: `manager` is informational (header_internal.h); the CAS only
	 * keeps two managers from both believing they own the block. */
	cur = atomic_load_explicit(&h->manager, memory_order_relaxed);
	for (;;) {
		if (cur == guardian)
			return 0;
		if (cur != SHMBUS_IDENT_NONE && shmbus_proc_alive(cur))
			return -EBUSY;
		if (atomic_compare_exchange_weak_explicit(&h->manager, &cur, guardian,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return 0;
	}
}

/* Clear the header's `manager` if the listed object still names @guardian. */
static void header_release(const struct mgr_item *it, shmbus_ident_t guardian)
{
	struct shmbus_block_info info;
	struct shmbus_block *b;
	shmbus_ident_t cur = guardian;

	if (shmbus_block_attach(&b, it->name, 0) != 0)
		return;
	if ((uint64_t)b->dev == it->dev && (uint64_t)b->ino == it->ino &&
	    shmbus_block_info(b, &info) == 0) {
		/* Relaxed: as in header_claim(). */
		atomic_compare_exchange_strong_explicit(&block_header(b)->manager, &cur,
							SHMBUS_IDENT_NONE, memory_order_relaxed,
							memory_order_relaxed);
	}
	shmbus_block_close(b);
}

int shmbus_manager_create_block(struct shmbus_manager *m, const char *name, size_t size,
				mode_t mode, struct shmbus_block **out)
{
	struct mgr_item it;
	struct shmbus_block *b = NULL;
	struct stat st;
	int fd, rc, i, stale, tries;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m || size == 0 || size > (size_t)INT64_MAX || (mode & ~(mode_t)07777))
		return -EINVAL;
	memset(&it, 0, sizeof(it));
	if (name && (rc = copy_name(it.name, name)))
		return rc;
	if (getpid() != m->owner_pid)
		return -EPERM;
	/* The slow part (reserving memory) runs outside the lock. */
	fd = mgr_tmpfile(m->dirfd, size, mode ? mode : 0600, &st);
	if (fd < 0)
		return fd;
	it.dev = (uint64_t)st.st_dev;
	it.ino = (uint64_t)st.st_ino;
	it.flags = SHMBUS_MGR_ENTRY_CREATED;
	rc = enter(m);
	if (rc)
		goto out_fd;
	i = find_free(m);
	if (i < 0) {
		rc = -ENOSPC;
		goto out_unlock;
	}
	for (tries = 0;; tries++) {
		char path[SHMBUS_PATH_MAX];

		if (!name) {
			rc = name_generate(path);
			if (rc)
				goto out_unlock;
			memcpy(it.name, path + 1, strlen(path));
		}
		/* Listed first, linked second: see the invariant above. */
		list_set(m, i, &it);
		rc = mgr_link(fd, m->dirfd, it.name);
		if (rc == 0)
			break;
		list_drop(m, i);
		if (rc != -EEXIST || name || tries >= 63)
			goto out_unlock;
	}
	/* An older entry for this name is stale: the name was free. */
	stale = find(m, it.name, i);
	if (stale >= 0)
		list_drop(m, stale);
	/* Map it through the ordinary block API, so the handle is like any
	 * other; it must be the object we just linked. */
	rc = shmbus_block_attach(&b, it.name, 0);
	if (rc == 0 && ((uint64_t)b->dev != it.dev || (uint64_t)b->ino != it.ino)) {
		shmbus_block_close(b);
		rc = -ESTALE; /* replaced under our feet: not ours to unlink */
	}
	if (rc) {
		if (mgr_unlink_same(m->dirfd, it.name, it.dev, it.ino)) { /* gone */ }
		list_drop(m, i);
		goto out_unlock;
	}
	*out = b;
out_unlock:
	pthread_mutex_unlock(&m->lock);
out_fd:
	close(fd);
	return rc;
}

/*
 * The identity of the object now at @name (attached read-write if we may,
 * so that its header can be marked), and the header marked for @guardian.
 */
static int track_object(struct shmbus_manager *m, struct mgr_item *it)
{
	struct shmbus_block *b;
	struct stat st;
	int rc;

	rc = shmbus_block_attach(&b, it->name, 0);
	/* Not writable by us, or sparse on a full /dev/shm: tracking needs
	 * only its identity (the header is then left unmarked). */
	if (rc == -EACCES || rc == -ENOSPC)
		rc = shmbus_block_attach(&b, it->name, SHMBUS_ATTACH_RDONLY);
	if (rc == -SHMBUS_EEMPTY) {
		/* Zero length: nothing to map, but still a name to remove. */
		if (fstatat(m->dirfd, it->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		it->dev = (uint64_t)st.st_dev;
		it->ino = (uint64_t)st.st_ino;
		return 0;
	}
	if (rc)
		return rc;
	it->dev = (uint64_t)b->dev;
	it->ino = (uint64_t)b->ino;
	rc = header_claim(b, m->guardian);
	shmbus_block_close(b);
	return rc;
}

int shmbus_manager_track(struct shmbus_manager *m, const char *name)
{
	struct mgr_item it;
	int rc, i;

	memset(&it, 0, sizeof(it));
	if (!m)
		return -EINVAL;
	rc = copy_name(it.name, name);
	if (rc)
		return rc;
	it.flags = SHMBUS_MGR_ENTRY_TRACKED;
	rc = enter(m);
	if (rc)
		return rc;
	i = find(m, it.name, -1);
	if (i >= 0) {
		/* Listed already: if it is still the same object, this only
		 * (re)marks its header -- the way to hand a layout built inside
		 * a block from create_block to the guardian. */
		rc = track_object(m, &it);
		if (rc == 0 && (it.dev != m->items[i].dev || it.ino != m->items[i].ino))
			rc = -EEXIST;
		goto out;
	}
	i = find_free(m);
	if (i < 0) {
		rc = -ENOSPC;
		goto out;
	}
	rc = track_object(m, &it);
	if (rc == 0)
		list_set(m, i, &it);
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/*
 * Lock @m and find the listed entry for @name (copied into @key).  Returns
 * its index with the lock held, or a negative code with the lock not held
 * (-EINVAL, a name error, enter()'s errors, -ENOENT when not listed).
 */
static int enter_listed(struct shmbus_manager *m, const char *name,
			char key[SHMBUS_NAME_MAX + 1])
{
	int rc, i;

	if (!m)
		return -EINVAL;
	rc = copy_name(key, name);
	if (rc)
		return rc;
	rc = enter(m);
	if (rc)
		return rc;
	i = find(m, key, -1);
	if (i < 0) {
		pthread_mutex_unlock(&m->lock);
		return -ENOENT;
	}
	return i;
}

int shmbus_manager_untrack(struct shmbus_manager *m, const char *name)
{
	char key[SHMBUS_NAME_MAX + 1];
	int i = enter_listed(m, name, key);

	if (i < 0)
		return i;
	header_release(&m->items[i], m->guardian);
	list_drop(m, i);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int shmbus_manager_unlink(struct shmbus_manager *m, const char *name)
{
	char key[SHMBUS_NAME_MAX + 1];
	int rc, i = enter_listed(m, name, key);

	if (i < 0)
		return i;
	rc = mgr_unlink_same(m->dirfd, key, m->items[i].dev, m->items[i].ino);
	/* Unlinked, or the name no longer holds our object: either way the
	 * entry has nothing left to protect.  Other errors (EACCES) keep it
	 * listed. */
	if (rc == 0 || rc == -ESTALE)
		list_drop(m, i);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int shmbus_manager_count(struct shmbus_manager *m)
{
	int rc = enter(m);

	if (rc)
		return rc;
	rc = (int)m->count;
	pthread_mutex_unlock(&m->lock);
	return rc;
}
