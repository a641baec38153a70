/*
 * spsc_fd.c - transports "pipe" and "unix-socket": the kernel baselines.
 *
 * One write(2) per message on the sending side and read(2)s of exactly
 * msg_size bytes on the receiving side (looping on short reads, which a
 * byte stream may give) - the way an application that frames messages on
 * a pipe or an AF_UNIX SOCK_STREAM socketpair moves them.  Kernel buffer
 * sizes are the defaults (64 KiB pipe buffer; net.core socket defaults).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "bench_spsc.h"

static int fd_send(void *link, const void *buf, size_t len)
{
	int fd = *(int *)link;
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_recv(void *link, void *buf, size_t len)
{
	int fd = *(int *)link;
	unsigned char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE; /* the other side is gone */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fd_cleanup(struct spsc_cfg *c)
{
	unsigned i;

	for (i = 0; i < 4; i++) {
		if (c->fd[i] >= 0)
			close(c->fd[i]);
		c->fd[i] = -1;
	}
}

/* fd[0]/fd[1]: read/write ends 0 -> 1; fd[2]/fd[3]: 1 -> 0. */
static int pipe_prepare(struct spsc_cfg *c)
{
	int rc = 0;

	/* pipe() leaves the array alone when it fails, so fd_cleanup() closes
	 * exactly what was made. */
	if (pipe(c->fd) < 0 || (c->pingpong && pipe(c->fd + 2) < 0)) {
		rc = -errno;
		fd_cleanup(c);
	}
	return rc;
}

/* One socketpair: process 0 uses fd[0], process 1 fd[1], both ways. */
static int unix_prepare(struct spsc_cfg *c)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, c->fd) < 0) {
		int rc = -errno;

		fd_cleanup(c);
		return rc;
	}
	return 0;
}

static int pipe_stream(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	int rfd = c->fd[0], wfd = c->fd[1];

	return spsc_stream_roles(p, c, &wfd, &rfd, fd_send, fd_recv);
}

static int pipe_pingpong(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	int wfd = p->index == 0 ? c->fd[1] : c->fd[3];
	int rfd = p->index == 0 ? c->fd[2] : c->fd[0];

	return spsc_pingpong_roles(p, c, &wfd, &rfd, fd_send, fd_recv);
}

static int unix_roles(struct bench_proc *p, void *arg)
{
	const struct spsc_cfg *c = arg;
	int fd = c->fd[p->index == 0 ? 0 : 1];

	if (c->pingpong)
		return spsc_pingpong_roles(p, c, &fd, &fd, fd_send, fd_recv);
	return spsc_stream_roles(p, c, &fd, &fd, fd_send, fd_recv);
}

const struct spsc_transport spsc_tp_pipe = {
	.name = "pipe",
	.prepare = pipe_prepare,
	.cleanup = fd_cleanup,
	.stream = pipe_stream,
	.pingpong = pipe_pingpong,
};

const struct spsc_transport spsc_tp_unix = {
	.name = "unix-socket",
	.prepare = unix_prepare,
	.cleanup = fd_cleanup,
	.stream = unix_roles,
	.pingpong = unix_roles,
};
