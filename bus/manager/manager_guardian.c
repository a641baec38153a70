/*
 * manager_guardian.c - the guardian process: forked by shmbus_manager_start(),
 * it unlinks the manager's blocks if the owner ends without shutting down.
 *
 * Why a forked child that makes raw system calls, and not exec:
 *  - a library has no reliable path to a helper program (the `shmbus` tool
 *    may not be installed, or be another version), and /proc/self/exe is the
 *    *application*, not us;
 *  - the owner may have threads.  After fork() only the calling thread exists
 *    in the child, and any lock another thread held (malloc, stdio, the
 *    dynamic loader, our registry's RCU) stays locked forever.  So from fork
 *    to _exit the child calls only async-signal-safe functions (POSIX
 *    2.4.3): setsid, sigaction, sigprocmask, dup2, fcntl, open, read, close,
 *    poll, recv, send, fstatat, unlinkat, chdir, memcpy, _exit, plus munmap
 *    (a bare system call in glibc, though POSIX does not list it) and raw
 *    syscall() for pidfd-era calls (close_range, prctl).  No malloc, no
 *    stdio, no locks, no atexit handlers (_exit).  All it needs was made by the
 *    parent before fork: the pidfd, the socket, the /dev/shm directory fd,
 *    /dev/null, the block's own name and identity (in @args, copied into the
 *    child by fork), and the list itself (the shared mapping, inherited).
 *  - fork() (not a raw clone) so that the sanitizers' and the C library's
 *    own fork handling runs; application pthread_atfork() handlers run too,
 *    as for any fork the application makes.
 *
 * Double fork: the parent forks an intermediate child, which forks the
 * guardian and exits at once; the parent reaps the intermediate by its pid.
 * The guardian is re-parented to init, so it never lingers as the owner's
 * zombie and never confuses the owner's waitpid(-1) or SIGCHLD bookkeeping.
 *
 * What the guardian costs the owner: fork copies the owner's page tables
 * and makes its private pages copy-on-write until the guardian exits (start
 * a manager early); the guardian drops every inherited *shared* mapping but
 * the manager block at once (guard_unmap_shared()), so it never keeps the
 * memory of another block alive.
 *
 * What wakes the guardian (poll):
 *  - the pidfd becomes readable: the owner (its whole thread group) has
 *    exited, however.  pidfds name one process, so pid reuse cannot fool it.
 *  - the socket: 'S' means shutdown finished (the owner already unlinked
 *    everything): answer 'D' and exit without touching anything.  End of
 *    file means every copy of the owner's end is closed: the owner exited or
 *    exec'd (the end is close-on-exec).  Without pidfd (Linux < 5.3) this is
 *    the only signal, and it comes late if the owner's forked children keep
 *    the inherited end open.
 * Then it unlinks each listed name whose object is still the listed one
 * (device and inode), then the manager's own block, and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "manager_internal.h"

#define READY_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define FD_SCAN_LIMIT 65536

/* ---- in the guardian: async-signal-safe only ---------------------------- */

static void guard_signals(void)
{
	struct sigaction dfl, ign;
	sigset_t none;
	int sig;

	memset(&dfl, 0, sizeof(dfl));
	memset(&ign, 0, sizeof(ign));
	dfl.sa_handler = SIG_DFL;
	ign.sa_handler = SIG_IGN;
	/* The owner's handlers are code of the owner's: none of them may run
	 * here.  SIGINT (a Ctrl-C meant for the application, as Python's
	 * manager process does), SIGHUP and SIGPIPE are ignored; anything else,
	 * SIGTERM included, kills the guardian (gc covers that case). */
	for (sig = 1; sig < NSIG; sig++) {
		bool ignore = sig == SIGINT || sig == SIGHUP || sig == SIGPIPE;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sigaction(sig, ignore ? &ign : &dfl, NULL)) { /* reserved signal */ }
	}
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL)) { /* cannot fail with a valid set */ }
}

/* Close every fd >= 3 except the (sorted, distinct) @keep. */
static void guard_close_except(const int *keep, int nkeep)
{
	unsigned lo = 3;
	int i, fd;

	for (i = 0; i <= nkeep; i++) {
		unsigned hi = i < nkeep ? (unsigned)keep[i] : ~0u;

		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) < 0) {
			/* Linux < 5.9: close one by one up to a bound. */
			for (fd = (int)lo; fd < FD_SCAN_LIMIT && (unsigned)fd < hi; fd++)
				close(fd);
		}
		if (i < nkeep && (unsigned)keep[i] + 1 > lo)
			lo = (unsigned)keep[i] + 1;
	}
}

static void sort_fds(int *v, int n)
{
	int i, j;

	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
}

/* Move @fd to a number above 2; keeps @fd itself if that fails. */
static int fd_move_up(int fd)
{
	int nfd = fd > 2 ? fd : fcntl(fd, F_DUPFD, 3);

	return nfd < 0 ? fd : nfd;
}

/*
 * Hold nothing of the owner's: stdin/out/err go to /dev/null (a test
 * harness or a shell pipeline waiting for EOF must not wait for us), every
 * other inherited fd is closed.  Our own fds are first moved above 2, in case
 * the owner had closed its standard streams and they landed there.
 */
static void guard_fds(struct mgr_guard_args *a)
{
	int keep[3], n = 0, std, i;

	a->sock = fd_move_up(a->sock);
	a->dirfd = fd_move_up(a->dirfd);
	if (a->pidfd >= 0)
		a->pidfd = fd_move_up(a->pidfd);
	if (a->devnull >= 0)
		a->devnull = fd_move_up(a->devnull);
	keep[n++] = a->sock;
	keep[n++] = a->dirfd;
	if (a->pidfd >= 0)
		keep[n++] = a->pidfd;
	for (std = 0; std < 3; std++) {
		bool ours = false;

		for (i = 0; i < n; i++)
			ours |= keep[i] == std; /* only if the move failed (EMFILE) */
		if (ours)
			continue;
		if (a->devnull >= 0)
			dup2(a->devnull, std);
		else
			close(std);
	}
	sort_fds(keep, n);
	guard_close_except(keep, n);
}

/* Parse a hex number up to @stop; false if anything else comes first. */
static bool parse_hex(const char **p, const char *end, char stop, uintptr_t *out)
{
	uintptr_t v = 0;
	const char *s = *p;

	for (; s < end && *s != stop; s++) {
		int d = *s >= '0' && *s <= '9' ? *s - '0' :
			*s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uintptr_t)d;
	}
	if (s == end || s == *p)
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

/* From the start of one /proc/self/maps line: a shared mapping to drop? */
static bool shared_range(const char *line, size_t len, uintptr_t keep, uintptr_t r[2])
{
	const char *p = line, *end = line + len;

	if (!parse_hex(&p, end, '-', &r[0]) || !parse_hex(&p, end, ' ', &r[1]))
		return false;
	return end - p >= 4 && p[3] == 's' && r[0] != keep && r[1] > r[0];
}

/* Up to @max shared mappings other than @keep, read from /proc/self/maps. */
static int guard_shared_ranges(uintptr_t keep, uintptr_t (*r)[2], int max)
{
	char buf[4096], line[64];
	size_t llen = 0;
	ssize_t got;
	int fd, n = 0;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (n < max && (got = read(fd, buf, sizeof(buf))) > 0) {
		ssize_t i;

		for (i = 0; i < got && n < max; i++) {
			if (buf[i] != '\n') {
				if (llen < sizeof(line))
					line[llen++] = buf[i]; /* only the start matters */
				continue;
			}
			if (shared_range(line, llen, keep, r[n]))
				n++;
			llen = 0;
		}
	}
	close(fd);
	return n;
}

/*
 * Drop every shared mapping inherited from the owner but the manager
 * block: otherwise the guardian would keep alive the memory of any block the
 * owner had mapped when it started us, long after everyone else unlinked and
 * closed it.  (Private mappings only cost the owner copy-on-write faults;
 * they cannot be dropped safely, the guardian runs on them.)  Reading the
 * map while unmapping may skip lines, so it is read again until clean.
 */
static void guard_unmap_shared(const struct mgr_guard_args *a)
{
	uintptr_t r[64][2];
	int pass, n, i;

	for (pass = 0; pass < 64; pass++) {
		n = guard_shared_ranges((uintptr_t)a->map, r, 64);
		if (n == 0)
			break;
		for (i = 0; i < n; i++)
			munmap((void *)r[i][0], r[i][1] - r[i][0]);
	}
}

static void guard_send(int sock, char tag, pid_t pid)
{
	struct mgr_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.tag = tag;
	msg.pid = (int32_t)pid;
	/* MSG_NOSIGNAL: an owner that is gone must not kill us with SIGPIPE. */
	if (send(sock, &msg, sizeof(msg), MSG_NOSIGNAL) < 0) { /* owner gone: fine */ }
}

static void guard_cleanup(const struct mgr_guard_args *a)
{
	struct mgr_item it;
	uint32_t i;

	for (i = 0; i < a->capacity; i++) {
		if (mgr_entry_read(&a->entries[i], &it) != 1)
			continue;
		if (mgr_unlink_same(a->dirfd, it.name, it.dev, it.ino)) {
			/* gone already, or not ours any more: leave it */
		}
	}
	if (mgr_unlink_same(a->dirfd, a->name, a->dev, a->ino)) { /* as above */ }
}

/* Whether the owner has ended; false for "shutdown done" (*stop set). */
static bool guard_wait(const struct mgr_guard_args *a, bool *stop)
{
	const struct timespec nap = { 0, 100000000 }; /* 100 ms */
	struct pollfd pf[2];
	nfds_t n = 0;

	pf[n++] = (struct pollfd){ .fd = a->sock, .events = POLLIN };
	if (a->pidfd >= 0)
		pf[n++] = (struct pollfd){ .fd = a->pidfd, .events = POLLIN };
	for (;;) {
		struct mgr_msg msg;
		ssize_t got;

		if (poll(pf, n, -1) < 0) {
			if (errno != EINTR)
				nanosleep(&nap, NULL); /* e.g. ENOMEM: try again, never guess */
			continue;
		}
		if (n == 2 && pf[1].revents)
			return true;
		if (!pf[0].revents)
			continue;
		got = recv(a->sock, &msg, sizeof(msg), MSG_DONTWAIT);
		if (got == 0)
			return true; /* every copy of the owner's end is closed */
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return true; /* the connection is broken: the owner is gone */
		}
		if ((size_t)got == sizeof(msg) && msg.tag == 'S') {
			*stop = true;
			return false;
		}
	}
}

static __attribute__((noreturn)) void guard_main(struct mgr_guard_args *a)
{
	bool stop = false;

	if (setsid() < 0) { /* already a group leader: cannot happen after fork */ }
	guard_signals();
	guard_fds(a);
	guard_unmap_shared(a);
	if (chdir("/")) { /* keep going: the cwd only pins a directory */ }
	/* Visible as "shmbus-guardian" in ps/top. */
	if (syscall(SYS_prctl, PR_SET_NAME, (unsigned long)"shmbus-guardian", 0, 0, 0)) { }
	guard_send(a->sock, 'R', getpid());
	if (guard_wait(a, &stop))
		guard_cleanup(a);
	else
		guard_send(a->sock, 'D', getpid());
	_exit(0);
}

/* ---- in the owner ------------------------------------------------------- */

/* Wait up to @ms for one message; 0, -ETIMEDOUT, -ECHILD (peer gone). */
static int recv_msg(int sock, struct mgr_msg *msg, int ms)
{
	struct timespec deadline, now;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	for (;;) {
		struct pollfd pf = { .fd = sock, .events = POLLIN };
		ssize_t got;
		long left;
		int rc;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (long)(deadline.tv_sec - now.tv_sec) * 1000 +
		       (deadline.tv_nsec - now.tv_nsec) / 1000000;
		if (left < 0)
			return -ETIMEDOUT;
		rc = poll(&pf, 1, (int)left);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		got = recv(sock, msg, sizeof(*msg), MSG_DONTWAIT);
		if (got == 0)
			return -ECHILD;
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -ECHILD;
		}
		if ((size_t)got == sizeof(*msg))
			return 0;
	}
}

int mgr_guardian_spawn(struct shmbus_manager *m, struct mgr_guard_args *a)
{
	struct mgr_msg msg;
	pid_t mid, g;
	int st, rc = 0;

	mid = fork();
	if (mid == 0) {
		/* The intermediate: async-signal-safe only, as the guardian. */
		g = fork();
		if (g == 0)
			guard_main(a);
		_exit(g < 0 ? 1 : 0);
	}
	if (mid < 0)
		rc = errno == ENOMEM ? -ENOMEM : -EAGAIN;
	/* Ours no more: the guardian holds its copies. */
	close(a->sock);
	if (a->pidfd >= 0)
		close(a->pidfd);
	close(a->devnull);
	a->sock = a->pidfd = a->devnull = -1;
	if (rc)
		return rc;
	/* Reap the intermediate by pid only.  ECHILD: the caller's SIGCHLD
	 * handler (or SIG_IGN) reaped it first; the socket still tells. */
	while (waitpid(mid, &st, 0) < 0) {
		if (errno != EINTR)
			break;
	}
	rc = recv_msg(m->sock, &msg, READY_TIMEOUT_MS);
	if (rc == -ECHILD)
		return -EAGAIN; /* the second fork failed: nobody ever connected */
	if (rc)
		return rc;
	if (msg.tag != 'R' || msg.pid <= 0)
		return -EPROTO;
	m->guardian_pid = msg.pid;
	return 0;
}

void mgr_guardian_stop(struct shmbus_manager *m)
{
	struct mgr_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.tag = 'S';
	/* A dead guardian gives EPIPE here (never SIGPIPE: MSG_NOSIGNAL) and
	 * end-of-file below; either way there is nobody left to wait for. */
	if (send(m->sock, &msg, sizeof(msg), MSG_NOSIGNAL) == (ssize_t)sizeof(msg)) {
		while (recv_msg(m->sock, &msg, STOP_TIMEOUT_MS) == 0 && msg.tag != 'D') {
		}
	}
}
