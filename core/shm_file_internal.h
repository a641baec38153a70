/*
 * shm_file_internal.h - the one way the library opens an existing block's
 * object by name (attach, snapshot, gc, ...).
 */
#ifndef SHMBUS_SHM_FILE_INTERNAL_H
#define SHMBUS_SHM_FILE_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>

/*
 * shm_file_open - open @name (a block name, one leading '/' allowed) in the
 * directory @dirfd (-1: SHMBUS_SHM_DIR), read-only or read-write, safely
 * against whatever another local user put under that name:
 *  - non-blocking (a FIFO would block a read-only open for ever), then the
 *    flag is cleared again on the descriptor;
 *  - O_NOFOLLOW (a symbolic link is refused, never followed);
 *  - fstat of that very descriptor: a regular file only, 1 .. min(SIZE_MAX,
 *    INT64_MAX) bytes.
 * The owner is not restricted: the object's permission bits decide, as for
 * shm_open(); @st carries st_uid to callers that care (gc).
 * Returns the descriptor (close-on-exec) and fills @st, or:
 *   -EINVAL, -ENAMETOOLONG  bad name
 *   -SHMBUS_ESYMLINK        a symbolic link
 *   -SHMBUS_ENOTREG         a FIFO, directory, socket or device
 *   -SHMBUS_EEMPTY          a zero-length object (@st is filled, so that gc
 *                           still knows its identity)
 *   -EFBIG                  larger than this process can map
 *   -ENOENT, -EACCES, ...   from openat()
 */
int shm_file_open(int dirfd, const char *name, bool rdonly, struct stat *st);

#endif
