/*
 * tu_manager.h - helpers shared by the manager and gc tests:
 * existence checks with a generous upper bound, and hand-built blocks with a
 * shmbus header (the manager must not depend on the ring code).
 */
#ifndef SHMBUS_TU_MANAGER_H
#define SHMBUS_TU_MANAGER_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "header_internal.h"
#include "testutil.h"

/* A stable copy of tu_name(@what) (tu_name's buffers are recycled). */
#define TU_MGR_NAME(var, what)                          \
	char var[SHMBUS_NAME_MAX + 1];              \
	snprintf(var, sizeof(var), "%s", tu_name(what))

/* Upper bound for "eventually": generous so load never makes a test flaky;
 * the assertion is that the thing happens, not how fast. */
#define TU_MGR_EVENTUALLY_MS 10000

static inline bool tu_mgr_exists(const char *name)
{
	int dir = open("/dev/shm", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	bool there = dir >= 0 && faccessat(dir, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;

	if (dir >= 0)
		close(dir);
	return there;
}

static inline void tu_mgr_nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Names in /dev/shm starting with @prefix. */
static inline int tu_mgr_count_prefixed(const char *prefix)
{
	size_t len = strlen(prefix);
	struct dirent *e;
	int n = 0;
	DIR *d = opendir("/dev/shm");

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strncmp(e->d_name, prefix, len) == 0;
	closedir(d);
	return n;
}

/* Wait until no name starting with @prefix is left (within the bound);
 * returns how many are left then. */
static inline int tu_mgr_wait_prefix_gone(const char *prefix)
{
	int waited, n;

	for (waited = 0; (n = tu_mgr_count_prefixed(prefix)) != 0 && waited < TU_MGR_EVENTUALLY_MS;
	     waited += 10)
		tu_mgr_nap_ms(10);
	return n;
}

/* Wait until none of @names exists; true if so within the bound. */
static inline bool tu_mgr_wait_gone(const char *const *names, int n)
{
	int waited, i;

	for (waited = 0; waited <= TU_MGR_EVENTUALLY_MS; waited += 10) {
		for (i = 0; i < n && !tu_mgr_exists(names[i]); i++) {
		}
		if (i == n)
			return true;
		tu_mgr_nap_ms(10);
	}
	return false;
}

/* Wait until process @id is gone (zombies count as gone). */
static inline bool tu_mgr_wait_dead(shmbus_ident_t id)
{
	int waited;

	for (waited = 0; waited <= TU_MGR_EVENTUALLY_MS; waited += 10) {
		if (!shmbus_proc_alive(id))
			return true;
		tu_mgr_nap_ms(10);
	}
	return false;
}

/*
 * A block with a valid shmbus header made by this process (kind MPMC,
 * layout version 0, which no ring code accepts: only the common header
 * matters here) and a participant table of @nparts entries.
 */
static inline struct shmbus_block *tu_mgr_layout(const char *name, uint32_t nparts)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_MPMC, .version = 0,
					.total_size = 4096,
					.participants_off = nparts ? 256 : 0,
					.participants_max = nparts };
	struct shmbus_block *b;
	void *p;

	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	header_init(p, &d);
	header_publish(p);
	return b;
}

/* The guardian named in the header of block @name (0 if none or no header). */
static inline shmbus_ident_t tu_mgr_header_manager(const char *name)
{
	struct shmbus_block_info info;
	struct shmbus_block *b;
	shmbus_ident_t id = 0;

	if (shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY) != 0)
		return 0;
	if (shmbus_block_info(b, &info) == 0)
		id = info.manager;
	shmbus_block_close(b);
	return id;
}

/* Validate @doc against tools/schema/@schema (see tu_schema_check()). */
static inline void tu_mgr_validate(const char *schema, const char *doc)
{
	assert_int_equal(tu_schema_check(schema, doc), 0);
}

#endif
