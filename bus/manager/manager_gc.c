/*
 * manager_gc.c - shmbus_gc_run(): unlink shmbus blocks that nobody lives for.
 *
 * Liveness comes from the same snapshot `shmbus ls` shows (any_alive: the
 * creator, the manager's guardian, or a recorded participant runs), so gc
 * and ls never disagree.  A block is examined through a descriptor whose
 * identity (device, inode) is recorded; just before unlinking it is opened
 * and examined again, and the name is unlinked only if it still holds that
 * same object (mgr_unlink_same()).
 *
 * Invariant: nothing is unlinked unless it carries our magic in a header
 * that checks out (or, for raw blocks, is listed by a manager block that
 * does), is owned by the caller (unless root), and has no live process
 * recorded in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/inspect_internal.h"
#include "manager_internal.h"
#include "inspect/shm_dir_internal.h"
#include "shm_file_internal.h"

struct gc_ctx {
	int dirfd;
	const char *prefix; /* "" for all */
	unsigned flags;
	shmbus_gc_fn fn;
	void *arg;
	int count;
	struct gc_seen { uint64_t dev, ino; } *seen; /* reported already */
	size_t nseen, capseen;
};

/* One examination of a name: its identity and its snapshot. */
struct gc_look {
	struct stat st;
	struct shmbus_snapshot *snap;
	shmbus_ident_t unready_creator; /* header not ready: who builds it */
};


/* The creator recorded in a header that is not ready yet (0 if none). */
static shmbus_ident_t unready_creator(int fd)
{
	struct shm_header h;

	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, SHMBUS_MAGIC, SHMBUS_MAGIC_LEN) != 0)
		return SHMBUS_IDENT_NONE;
	return h.creator;
}

/*
 * Open @name (shm_file_open(): no links, no blocking, regular files only)
 * and snapshot that very descriptor.  Returns 0, or a negative code for a
 * name to leave alone (gone, not a regular file, empty, unreadable).
 * l->st is filled whenever the object could be opened, even when the
 * snapshot then fails (e.g. empty).
 */
static int look(struct gc_ctx *c, const char *name, struct gc_look *l)
{
	int fd, rc;

	memset(l, 0, sizeof(*l));
	fd = shm_file_open(c->dirfd, name, true, &l->st);
	if (fd < 0)
		return fd;
	rc = snapshot_fd(fd, name, &l->snap);
	if (rc == 0 && l->snap->header_error == -SHMBUS_ENOTREADY)
		l->unready_creator = unready_creator(fd);
	close(fd);
	return rc;
}

static void unlook(struct gc_look *l)
{
	shmbus_snapshot_free(l->snap);
	l->snap = NULL;
}

static bool same_object(const struct stat *a, uint64_t dev, uint64_t ino)
{
	return (uint64_t)a->st_dev == dev && (uint64_t)a->st_ino == ino;
}

/* Ours to remove at all: the caller owns it, or is root. */
static bool may_remove(const struct stat *st)
{
	uid_t me = geteuid();

	return me == 0 || st->st_uid == me;
}

/* Why the examined block may go, or NULL if it must stay. */
static const char *verdict(const struct gc_look *l)
{
	const struct shmbus_snapshot *s = l->snap;

	if (!may_remove(&l->st))
		return NULL;
	if (s->has_header) {
		if (s->any_alive)
			return NULL;
		return s->kind == SHMBUS_KIND_MANAGER ? "manager process and guardian dead" :
							 "creator and all participants dead";
	}
	/* Being built: leave it to a live creator; a dead one never finishes. */
	if (s->header_error == -SHMBUS_ENOTREADY && l->unready_creator != SHMBUS_IDENT_NONE &&
	    !shmbus_proc_alive(l->unready_creator))
		return "creator died while building it";
	return NULL;
}

/* Remember (dev, ino) as handled; false if it was already. */
static bool first_time(struct gc_ctx *c, uint64_t dev, uint64_t ino)
{
	size_t i;

	for (i = 0; i < c->nseen; i++) {
		if (c->seen[i].dev == dev && c->seen[i].ino == ino)
			return false;
	}
	if (c->nseen == c->capseen) {
		size_t cap = c->capseen ? c->capseen * 2 : 64;
		struct gc_seen *grown = realloc(c->seen, cap * sizeof(*grown));

		if (!grown)
			return true; /* worst case: a dry run reports a block twice */
		c->seen = grown;
		c->capseen = cap;
	}
	c->seen[c->nseen].dev = dev;
	c->seen[c->nseen].ino = ino;
	c->nseen++;
	return true;
}

/*
 * Unlink (unless dry run) and report.  Returns true if the object is gone
 * (or, in a dry run, would be), false if it is still there.
 */
static bool gc_remove(struct gc_ctx *c, const char *name, enum shmbus_kind kind,
		      const char *manager, const char *reason, uint64_t dev, uint64_t ino)
{
	struct shmbus_gc_item item = {
		.name = name, .kind = kind, .manager = manager, .reason = reason,
	};

	if (!first_time(c, dev, ino))
		return true; /* handled (and reported) earlier in this run */
	if (!(c->flags & SHMBUS_GC_DRY_RUN)) {
		item.error = mgr_unlink_same(c->dirfd, name, dev, ino);
		if (item.error == -ESTALE)
			return true; /* gone or replaced meanwhile: not ours to report */
	}
	if (item.error == 0)
		c->count++;
	if (c->fn)
		c->fn(&item, c->arg);
	return item.error == 0;
}

/*
 * A block listed by a dead manager: remove it if the name still holds the
 * listed object, owned by the manager block's owner, and (if it has a
 * header) nobody recorded in it lives.  Returns true if the listed object
 * is gone (or would be), false if it stays: then the manager block must
 * stay too, or a raw block would become unreachable for good.
 */
static bool gc_listed(struct gc_ctx *c, const char *manager, uid_t owner,
		      const struct mgr_item *it)
{
	enum shmbus_kind kind = SHMBUS_KIND_UNKNOWN;
	size_t plen = strlen(c->prefix);
	bool gone = false;
	struct gc_look l;
	int rc;

	rc = look(c, it->name, &l);
	/* Zero length: no snapshot, but look() has its identity all the same. */
	if (rc && rc != -SHMBUS_EEMPTY)
		return rc == -ENOENT;
	if (!same_object(&l.st, it->dev, it->ino)) {
		gone = true; /* the listed object is gone; someone else's now */
		goto out;
	}
	/* --prefix restricts everything gc touches, listed blocks included. */
	if (strncmp(it->name, c->prefix, plen) != 0 || l.st.st_uid != owner ||
	    !may_remove(&l.st))
		goto out;
	if (l.snap) {
		kind = l.snap->kind;
		if ((l.snap->has_header && l.snap->any_alive) ||
		    (l.snap->header_error == -SHMBUS_ENOTREADY &&
		     shmbus_proc_alive(l.unready_creator)))
			goto out;
	}
	gone = gc_remove(c, it->name, kind, manager, "listed by a dead manager", it->dev,
			 it->ino);
out:
	unlook(&l);
	return gone;
}

static void gc_one(struct gc_ctx *c, const char *name)
{
	struct gc_look l, again;
	const char *why;
	uint32_t i;

	if (look(c, name, &l))
		return;
	why = verdict(&l);
	if (!why)
		goto out;
	if (!(c->flags & SHMBUS_GC_DRY_RUN)) {
		/* Look again right before acting: someone may have joined the
		 * block, or replaced it, since the first look. */
		if (look(c, name, &again))
			goto out;
		why = same_object(&again.st, (uint64_t)l.st.st_dev, (uint64_t)l.st.st_ino) ?
			      verdict(&again) : NULL;
		unlook(&l);
		l = again;
		if (!why)
			goto out;
	}
	if (l.snap->kind == SHMBUS_KIND_MANAGER && l.snap->kind_state && !l.snap->kind_error) {
		const struct mgr_snap *ms = l.snap->kind_state;
		bool all_gone = true;

		for (i = 0; i < ms->n; i++)
			all_gone &= gc_listed(c, name, l.st.st_uid, &ms->entries[i].item);
		if (!all_gone)
			goto out; /* kept, so that a later run can finish the job */
	}
	gc_remove(c, name, l.snap->kind, NULL, why, (uint64_t)l.st.st_dev, (uint64_t)l.st.st_ino);
out:
	unlook(&l);
}

int shmbus_gc_run(const char *prefix, unsigned flags, shmbus_gc_fn fn, void *arg)
{
	struct gc_ctx c = { .flags = flags, .fn = fn, .arg = arg };
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if (flags & ~(unsigned)SHMBUS_GC_DRY_RUN)
		return -EINVAL;
	c.dirfd = open(SHMBUS_SHM_DIR, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (c.dirfd < 0)
		return -errno;
	c.prefix = prefix ? prefix : "";
	rc = shm_list(c.dirfd, c.prefix, &names, &n);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		gc_one(&c, names[i]);
	rc = c.count;
	shmbus_block_list_free(names, n);
out:
	free(c.seen);
	close(c.dirfd);
	return rc;
}
