/*
 * shm_dir_internal.h - listing the blocks in /dev/shm.
 */
#ifndef SHMBUS_SHM_DIR_INTERNAL_H
#define SHMBUS_SHM_DIR_INTERNAL_H

#include <stddef.h>

#include "shmbus/block.h"

/* Where POSIX shared memory objects live on Linux. */
#define SHMBUS_SHM_DIR "/dev/shm"

/*
 * shm_list - the names in the directory @dirfd (-1: /dev/shm) that
 * are regular files (or of unknown type) with a valid block name starting
 * with @prefix (NULL or "": any), sorted.  Reads the whole directory each
 * call (@dirfd's own position is not used).  Returns 0 and fills *@out
 * (free with shm_list_free()) and *@count, or -errno (an error of
 * the directory read too: never a partial list).
 */
int shm_list(int dirfd, const char *prefix, char ***out, size_t *count);
void shm_list_free(char **names, size_t n);

#endif
