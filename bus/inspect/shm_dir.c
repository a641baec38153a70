/*
 * shm_dir.c - the names of the blocks in /dev/shm, for shmbus_block_list()
 * (the tool's ls) and gc alike, so both see the same set: regular files with
 * valid block names, the whole directory or an error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_dir_internal.h"

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void shmbus_block_list_free(char **names, size_t count)
{
	while (count)
		free(names[--count]);
	free(names);
}

int shm_list(int dirfd, const char *prefix, char ***out, size_t *count)
{
	size_t plen = prefix ? strlen(prefix) : 0, n = 0, cap = 0;
	char **names = NULL;
	struct dirent *e;
	struct stat st;
	int fd;
	DIR *d;

	/* A descriptor of our own (close-on-exec, like the open below): the
	 * DIR stream owns and closes it.  It shares @dirfd's position, so
	 * rewind before reading. */
	fd = dirfd >= 0 ? fcntl(dirfd, F_DUPFD_CLOEXEC, 0) :
			  open(SHMBUS_SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	rewinddir(d);
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e)
			break;
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		if (shmbus_name_check(e->d_name) != 0 || (plen && strncmp(e->d_name, prefix, plen) != 0))
			continue;
		/* A file system without d_type: ask, without following links.
		 * (Callers open each name with shm_file_open(), which checks
		 * again on the descriptor: this only keeps the list honest.) */
		if (e->d_type == DT_UNKNOWN &&
		    (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		     !S_ISREG(st.st_mode)))
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!grown)
				goto nomem;
			names = grown;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	if (errno) { /* readdir() failed: not the end of the directory */
		int rc = -errno;

		closedir(d);
		shmbus_block_list_free(names, n);
		return rc;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*out = names;
	*count = n;
	return 0;
nomem:
	closedir(d);
	shmbus_block_list_free(names, n);
	return -ENOMEM;
}

int shmbus_block_list(const char *prefix, char ***names, size_t *count)
{
	if (!names || !count)
		return -EINVAL;
	return shm_list(-1, prefix, names, count);
}
