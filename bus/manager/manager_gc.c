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
 * recorded in it; and, unless the caller gave an idle time, was created
 * ephemeral or through a manager (shmbus_gc_judge()): a persistent block
 * outlives its creator.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect/inspect_internal.h"
#include "manager_internal.h"
#include "inspect/shm_dir_internal.h"
#include "shm_file_internal.h"

struct gc_ctx {
	int dirfd;
	const char *prefix; /* "" for all */
	unsigned flags;
	int64_t idle_for_ns; /* < 0: no idle removal */
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
};

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
static bool may_remove(uid_t owner)
{
	uid_t me = geteuid();

	return me == 0 || owner == me;
}

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void judged(struct shmbus_gc_verdict *out, const char *cls, bool removable,
		   const char *reason)
{
	out->class_name = cls;
	out->removable = removable;
	out->reason = reason;
}

/* The class of a block with a valid header, and whether gc takes it. */
static void judge_header(const struct shmbus_snapshot *s, int64_t idle_for_ns, int64_t now,
			 struct shmbus_gc_verdict *out)
{
	const char *cls = "persistent";
	bool ephemeral = s->info.flags & SHMBUS_BLOCK_EPHEMERAL;

	if (s->kind == SHMBUS_KIND_MANAGER)
		cls = "manager";
	else if (s->info.manager != SHMBUS_IDENT_NONE)
		cls = "managed";
	else if (ephemeral)
		cls = "ephemeral";
	if (s->any_alive)
		judged(out, cls, false, "a process recorded in it is alive");
	else if (!may_remove(s->owner_uid))
		judged(out, cls, false, "owned by another user");
	else if (s->kind == SHMBUS_KIND_MANAGER)
		judged(out, cls, true, "manager process and guardian dead");
	else if (s->info.manager != SHMBUS_IDENT_NONE)
		judged(out, cls, true, "manager, creator and all participants dead");
	else if (ephemeral)
		judged(out, cls, true, "ephemeral, creator and all participants dead");
	else if (idle_for_ns < 0)
		judged(out, cls, false, "only gc --idle-for removes it, once idle");
	/* A difference, never a sum, so a forged time cannot overflow. */
	else if (s->active_ns > now || now - s->active_ns < idle_for_ns)
		judged(out, cls, false, "active more recently than --idle-for");
	else
		judged(out, cls, true, "nobody alive and idle for longer than --idle-for");
}

int shmbus_gc_judge(const struct shmbus_snapshot *s, int64_t idle_for_ns, int64_t now,
		    struct shmbus_gc_verdict *out)
{
	if (!s || !out)
		return -EINVAL;
	if (s->has_header) {
		judge_header(s, idle_for_ns, now, out);
	} else if (s->header_error == -SHMBUS_ENOTREADY) {
		/* Being built: leave it to a live creator; a dead one never finishes. */
		if (s->building_creator != SHMBUS_IDENT_NONE &&
		    !shmbus_proc_alive(s->building_creator) && may_remove(s->owner_uid))
			judged(out, "building", true, "creator died while building it");
		else
			judged(out, "building", false, "its creator is still building it");
	} else if (s->kind == SHMBUS_KIND_SLOTS) {
		judged(out, "slots", false, "a slot table records no activity: use shmbus rm");
	} else {
		judged(out, "foreign", false, "not a shmbus block: never touched");
	}
	return 0;
}

/* Why the examined block may go, or NULL if it must stay. */
static const char *verdict(const struct gc_ctx *c, const struct gc_look *l)
{
	struct shmbus_gc_verdict v;

	if (!may_remove(l->st.st_uid) ||
	    shmbus_gc_judge(l->snap, c->idle_for_ns, now_ns(), &v) || !v.removable)
		return NULL;
	return v.reason;
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
	    !may_remove(l.st.st_uid))
		goto out;
	if (l.snap) {
		kind = l.snap->kind;
		if ((l.snap->has_header && l.snap->any_alive) ||
		    (l.snap->header_error == -SHMBUS_ENOTREADY &&
		     shmbus_proc_alive(l.snap->building_creator)))
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
	why = verdict(c, &l);
	if (!why)
		goto out;
	if (!(c->flags & SHMBUS_GC_DRY_RUN)) {
		/* Look again right before acting: someone may have joined the
		 * block, or replaced it, since the first look. */
		if (look(c, name, &again))
			goto out;
		why = same_object(&again.st, (uint64_t)l.st.st_dev, (uint64_t)l.st.st_ino) ?
			      verdict(c, &again) : NULL;
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
	return shmbus_gc_run_idle(prefix, flags, -1, fn, arg);
}

int shmbus_gc_run_idle(const char *prefix, unsigned flags, int64_t idle_for_ns,
		       shmbus_gc_fn fn, void *arg)
{
	struct gc_ctx c = { .flags = flags, .idle_for_ns = idle_for_ns, .fn = fn, .arg = arg };
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
