/*
 * shm_file.c - opening an existing block's object by name, for every path
 * of the library (see shm_file_internal.h).
 *
 * /dev/shm is world-writable: any local user can plant a FIFO, a directory,
 * a socket or a symbolic link under the name a tool is about to read.  A
 * plain read-only open of a FIFO blocks until a writer comes; a link could
 * lead anywhere.  So the open never blocks and never follows a link, and
 * the descriptor it returns is checked with fstat before anything maps it:
 * what is checked is what gets mapped (no stat-then-open race).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "name_internal.h"
#include "shm_file_internal.h"
#include "shmbus/inspect.h" /* SHMBUS_SHM_DIR */

/* An object larger than this cannot be mapped whole, nor sized by off_t. */
#define SHM_FILE_MAX ((uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? (uint64_t)SIZE_MAX \
							       : (uint64_t)INT64_MAX)

static int open_errno(int err)
{
	switch (err) {
	case ELOOP: /* O_NOFOLLOW on a symbolic link */
		return -SHMBUS_ESYMLINK;
	case EISDIR: /* a directory opened for writing */
	case ENXIO:  /* a socket (or a FIFO opened write-only) */
	case ENODEV: /* a device without a driver */
		return -SHMBUS_ENOTREG;
	default:
		return -err;
	}
}

int shm_file_open(int dirfd, const char *name, bool rdonly, struct stat *st)
{
	char path[sizeof(SHMBUS_SHM_DIR) + SHMBUS_PATH_MAX];
	const char *at = path;
	int fd, fl, rc;

	rc = shmbus_name_check(name);
	if (rc)
		return rc;
	if (name[0] == '/')
		name++;
	if (dirfd < 0) {
		strcpy(path, SHMBUS_SHM_DIR "/");
		strcat(path, name); /* length checked above */
	} else {
		at = name;
	}
	fd = openat(dirfd < 0 ? AT_FDCWD : dirfd, at,
		    (rdonly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return open_errno(errno);
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto fail;
	}
	if (S_ISLNK(st->st_mode)) { /* O_PATH-like opens only; for completeness */
		rc = -SHMBUS_ESYMLINK;
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		rc = -SHMBUS_ENOTREG;
		goto fail;
	}
	if (st->st_size <= 0) {
		rc = -SHMBUS_EEMPTY;
		goto fail;
	}
	if ((uint64_t)st->st_size > SHM_FILE_MAX) {
		rc = -EFBIG;
		goto fail;
	}
	/* Regular files ignore O_NONBLOCK today; clear it all the same, so
	 * that nothing later depends on that. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		rc = -errno;
		goto fail;
	}
	return fd;

fail:
	close(fd);
	return rc;
}
