/*
 * proc.c - process identity (pid + start time) and liveness from /proc.
 *
 * Invariant: an ident is built only from a process that was seen running, so
 * its start field is the kernel's own start time for that pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "proc_internal.h"

#define START_BITS (64 - SHMBUS_IDENT_PID_BITS)

/*
 * Reads /proc/PID/stat.  The command name (field 2) may hold spaces and
 * parentheses, so parsing starts after the *last* ')'.
 */
int shmbus_proc_ident(pid_t pid, shmbus_ident_t *out)
{
	char path[64], buf[1024];
	unsigned long long start = 0;
	const char *p;
	ssize_t n;
	int fd, field;

	if (pid <= 0 || (uint64_t)pid >= (UINT64_C(1) << SHMBUS_IDENT_PID_BITS))
		return -ERANGE;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n == 0 ? -ESRCH : -errno;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	/* p is at field 3, the state: Z (zombie) and X (dead) never run again. */
	if (*p == 'Z' || *p == 'X')
		return -ESRCH;
	for (field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	start = strtoull(p, NULL, 10);
	if (start >= (UINT64_C(1) << START_BITS))
		return -ERANGE;
	*out = (shmbus_ident_t)start << SHMBUS_IDENT_PID_BITS | (uint64_t)pid;
	return 0;
}

/*
 * What this process knows about its own namespace, computed once per pid
 * (a fork recomputes it).  Relaxed everywhere: each field is something any
 * thread of this process would compute the same; `pid` is stored last with
 * release and loaded first with acquire, so a reader that sees its pid sees
 * the fields computed for it.
 */
static struct {
	_Atomic shmbus_ident_t ident;
	_Atomic uint32_t ns;       /* folded inode, or PROC_NS_UNTRUSTED */
	_Atomic int trusted;
	_Atomic pid_t pid;
} self_cache;

static uint32_t fold(uint64_t x)
{
	return (uint32_t)(x ^ x >> 32);
}

/* The pid /proc/self names: ours in /proc's namespace. */
static pid_t proc_self_pid(void)
{
	char buf[32];
	ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return (pid_t)strtol(buf, NULL, 10);
}

/* Whether the rest of the line at @p holds one number (NSpid of a process
 * in /proc's own namespace). */
static bool single_pid(const char *p)
{
	p += strspn(p, " \t");
	p += strspn(p, "0123456789");
	p += strspn(p, " \t");
	return *p == '\n' || *p == '\0';
}

/*
 * The pid namespace of the /proc we see, named through a process that lives
 * in it: the first ancestor of @pid whose NSpid line in /proc/PID/status has
 * a single pid (NSpid lists the pids from /proc's namespace down to the
 * process's own).  PROC_NS_UNTRUSTED if none can be read.
 */
static uint32_t proc_ns_of_procfs(pid_t pid)
{
	char path[64], buf[2048], *line;
	struct stat st;
	int depth, fd;
	ssize_t n;

	for (depth = 0; depth < 32 && pid > 0; depth++) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			break;
		buf[n] = '\0';
		line = strstr(buf, "\nNSpid:");
		if (line && single_pid(line + 7)) {
			snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
			if (stat(path, &st) == 0 && fold(st.st_ino) > 1)
				return fold(st.st_ino);
			break;
		}
		line = strstr(buf, "\nPPid:");
		pid = line ? (pid_t)strtol(line + 6, NULL, 10) : 0;
	}
	return PROC_NS_UNTRUSTED;
}

static void self_refresh(pid_t me)
{
	pid_t seen = proc_self_pid();
	bool trusted = seen == me;
	shmbus_ident_t id = SHMBUS_IDENT_NONE;
	struct stat st;
	uint32_t ns = PROC_NS_UNTRUSTED;

	/*
	 * Our identity as /proc knows it: if /proc belongs to another (the
	 * parent) namespace, /proc/self is still us, under the pid that
	 * namespace gives us, so the ident is a true one there, and is
	 * recorded with that namespace's tag.
	 */
	if (seen > 0 && shmbus_proc_ident(seen, &id) != 0)
		id = SHMBUS_IDENT_NONE;
	/* The namespace the idents of our /proc belong to: ours, or, when
	 * /proc is another namespace's, that of an ancestor living in it
	 * (when we may read it; otherwise nothing we see is proof). */
	if (trusted && stat("/proc/self/ns/pid", &st) == 0 && fold(st.st_ino) > 1)
		ns = fold(st.st_ino);
	else if (!trusted && seen > 0)
		ns = proc_ns_of_procfs(seen);
	atomic_store_explicit(&self_cache.ident, id, memory_order_relaxed);
	atomic_store_explicit(&self_cache.ns, ns, memory_order_relaxed);
	atomic_store_explicit(&self_cache.trusted, trusted, memory_order_relaxed);
	/* R1: release, pairs with A1 in self_fresh(). */
	atomic_store_explicit(&self_cache.pid, me, memory_order_release);
}

static void self_fresh(void)
{
	pid_t me = getpid();

	/* A1: acquire, pairs with R1. */
	if (atomic_load_explicit(&self_cache.pid, memory_order_acquire) != me)
		self_refresh(me);
}

shmbus_ident_t shmbus_proc_self(void)
{
	self_fresh();
	return atomic_load_explicit(&self_cache.ident, memory_order_relaxed);
}

bool proc_trusted(void)
{
	self_fresh();
	return atomic_load_explicit(&self_cache.trusted, memory_order_relaxed) != 0;
}

uint32_t proc_ns_tag(shmbus_ident_t id)
{
	self_fresh();
	return atomic_load_explicit(&self_cache.ns, memory_order_relaxed) ^ fold(id);
}

/* What /proc says about @id: PROC_ALIVE, PROC_DEAD (proof), or
 * PROC_UNKNOWN (an error that says nothing about the process). */
static enum proc_verdict proc_lookup(shmbus_ident_t id)
{
	shmbus_ident_t now;
	int rc;

	if (id == SHMBUS_IDENT_NONE)
		return PROC_DEAD;
	rc = shmbus_proc_ident(shmbus_ident_pid(id), &now);
	/*
	 * Dead only on proof: no such process (or a zombie), or a pid no
	 * process can have.  Any other failure (out of descriptors or memory,
	 * /proc unreadable) says nothing about the process, and callers take
	 * "dead" as a licence to take its place (participant entries, claimed
	 * slots): a live process must never lose those to our own trouble.
	 */
	if (rc == -ESRCH || rc == -ERANGE)
		return PROC_DEAD;
	if (rc != 0)
		return PROC_UNKNOWN;
	return now == id ? PROC_ALIVE : PROC_DEAD;
}

enum proc_verdict proc_judge(shmbus_ident_t id, uint32_t tag)
{
	enum proc_verdict v = proc_lookup(id);
	uint32_t ns;

	if (v != PROC_DEAD || id == SHMBUS_IDENT_NONE)
		return v;
	/* Not found by pid: proof only if the pid belongs to the namespace
	 * of the /proc we looked in.  An untagged ident (older blocks) is
	 * taken to be of our own namespace, and only a /proc of our own
	 * namespace can judge it. */
	self_fresh();
	ns = atomic_load_explicit(&self_cache.ns, memory_order_relaxed);
	if (tag == 0)
		return proc_trusted() && ns != PROC_NS_UNTRUSTED ? PROC_DEAD : PROC_UNKNOWN;
	if (ns == PROC_NS_UNTRUSTED || tag != proc_ns_tag(id))
		return PROC_UNKNOWN;
	return PROC_DEAD;
}

bool shmbus_proc_alive(shmbus_ident_t id)
{
	/* Without a recorded tag: dead only if our /proc can be trusted. */
	return proc_judge(id, 0) != PROC_DEAD;
}
