/*
 * name_internal.h - block names to shm_open() paths.
 */
#ifndef SHMBUS_NAME_INTERNAL_H
#define SHMBUS_NAME_INTERNAL_H

#include "shmbus/block.h"

/* "/" + name + NUL */
#define SHMBUS_PATH_MAX (SHMBUS_NAME_MAX + 2)

/*
 * name_path - check @name and write "/name" (one leading '/' only)
 * into @path.  Returns 0 or the error of shmbus_name_check().
 */
int name_path(const char *name, char path[SHMBUS_PATH_MAX]);

/* Write a fresh random name, "shmbus_" + 16 hex digits, as a path "/...". */
int name_generate(char path[SHMBUS_PATH_MAX]);

#endif
