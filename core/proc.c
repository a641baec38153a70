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

#include "shmbus/proc.h"

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

shmbus_ident_t shmbus_proc_self(void)
{
	/*
	 * Relaxed is enough: the cache holds a value any thread could compute on
	 * its own; a stale or racing store only costs a recomputation.
	 */
	static _Atomic shmbus_ident_t cached;
	shmbus_ident_t id = atomic_load_explicit(&cached, memory_order_relaxed);
	pid_t me = getpid();

	if (id != SHMBUS_IDENT_NONE && shmbus_ident_pid(id) == me)
		return id;
	if (shmbus_proc_ident(me, &id) != 0)
		return SHMBUS_IDENT_NONE;
	atomic_store_explicit(&cached, id, memory_order_relaxed);
	return id;
}

bool shmbus_proc_alive(shmbus_ident_t id)
{
	shmbus_ident_t now;
	int rc;

	if (id == SHMBUS_IDENT_NONE)
		return false;
	rc = shmbus_proc_ident(shmbus_ident_pid(id), &now);
	/*
	 * Dead only on proof: no such process (or a zombie), or a pid no
	 * process can have.  Any other failure (out of descriptors or memory,
	 * /proc unreadable) says nothing about the process, and callers take
	 * "dead" as a licence to take its place (participant entries, claimed
	 * slots): a live process must never lose those to our own trouble.
	 */
	if (rc == -ESRCH || rc == -ERANGE)
		return false;
	if (rc != 0)
		return true;
	return now == id;
}
