/*
 * shm_dir_internal.h - listing the blocks in a directory: /dev/shm for
 * shmbus_block_list() (shmbus/inspect.h), the manager's own descriptor of it
 * for gc, a scratch directory for the tests.
 */
#ifndef SHMBUS_SHM_DIR_INTERNAL_H
#define SHMBUS_SHM_DIR_INTERNAL_H

#include <stddef.h>

#include "shmbus/inspect.h" /* SHMBUS_SHM_DIR, shmbus_block_list_free() */

/*
 * shm_list - shmbus_block_list() on the directory @dirfd (-1:
 * SHMBUS_SHM_DIR).  Reads the whole directory each call (@dirfd's own
 * position is not used).  Returns 0 and fills *@out (free with
 * shmbus_block_list_free()) and *@count, or -errno (an error of the directory
 * read too: never a partial list).
 */
int shm_list(int dirfd, const char *prefix, char ***out, size_t *count);

#endif
