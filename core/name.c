/*
 * name.c - block names, by Python's rules.
 *
 * Python's SharedMemory prepends "/" to the name it is given and glibc's
 * shm_open() drops leading slashes, so "x" and "/x" reach /dev/shm/x.  We
 * accept exactly one optional leading '/', and nothing else that could make
 * the object land outside /dev/shm or collide with "." and "..".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "name_internal.h"

int shmbus_name_check(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	if (name[0] == '/')
		name++;
	len = strnlen(name, SHMBUS_NAME_MAX + 1);
	if (len == 0)
		return -EINVAL;
	if (len > SHMBUS_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(name, '/', len))
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	return 0;
}

int name_path(const char *name, char path[SHMBUS_PATH_MAX])
{
	int rc = shmbus_name_check(name);

	if (rc)
		return rc;
	if (name[0] == '/')
		name++;
	path[0] = '/';
	strcpy(path + 1, name); /* length checked above */
	return 0;
}

int name_generate(char path[SHMBUS_PATH_MAX])
{
	unsigned char rnd[8];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	snprintf(path, SHMBUS_PATH_MAX, "/shmbus_%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	return 0;
}
