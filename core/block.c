/*
 * block.c - named shared memory blocks: create, attach, close, unlink.
 *
 * Invariant: a handle's mapping covers exactly the object's size as fstat
 * reported it at attach time; every accessor bounds-checks against it.
 * A failed create removes the name it made before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "guard_internal.h"
#include "header_internal.h"
#include "registry_internal.h"
#include "shm_file_internal.h"

#define GENERATE_TRIES 64

/* Map @fd and register the mapping; consumes nothing (caller closes fd). */
static int block_map(struct shmbus_block **out, int fd, const char *path,
		     const struct stat *st, bool rdonly)
{
	struct shmbus_block *b, *got;
	void *addr;

	b = registry_get(st->st_dev, st->st_ino, rdonly);
	if (b) {
		*out = b;
		return 0;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	addr = mmap(NULL, (size_t)st->st_size, rdonly ? PROT_READ : PROT_READ | PROT_WRITE,
		    MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED) {
		int rc = -errno;

		free(b);
		return rc;
	}
	b->dev = st->st_dev;
	b->ino = st->st_ino;
	b->rdonly = rdonly;
	b->addr = addr;
	b->size = (size_t)st->st_size;
	b->guard = guard_register(addr, b->size, rdonly);
	strcpy(b->name, path + 1);
	got = registry_add(b);
	if (got != b) {
		guard_unregister(b->guard);
		munmap(addr, b->size);
		free(b);
		if (!got)
			return -ENOMEM;
	}
	*out = got;
	return 0;
}

/*
 * Make sure every page of a block we may write is backed, so that a full
 * file system fails here with -ENOSPC rather than later with SIGBUS on the
 * first store to a hole.  Our own blocks are reserved at creation; blocks
 * that others made (Python's SharedMemory only calls ftruncate) may be
 * sparse.  fallocate(2) itself, not posix_fallocate(3): glibc's fallback
 * for file systems without it writes zero bytes over the file, which would
 * race with the block's live writers.  Allocating pages that exist already
 * changes nothing in them.  Read-only handles need no reservation: a hole
 * reads as zeros.
 */
static int block_reserve(int fd, const struct stat *st)
{
	/* Every block-sized unit already allocated: nothing to do (st_blocks
	 * counts 512-byte units). */
	if ((uint64_t)st->st_blocks * 512u >= (uint64_t)st->st_size)
		return 0;
	while (fallocate(fd, 0, 0, st->st_size) < 0) {
		if (errno == EINTR)
			continue;
		/* No fallocate here (not tmpfs): nothing better to do than
		 * what shm_open users get everywhere. */
		if (errno == EOPNOTSUPP || errno == ENOSYS)
			return 0;
		return -errno;
	}
	return 0;
}

int shmbus_block_create(struct shmbus_block **out, const char *name, size_t size,
			mode_t mode)
{
	char path[SHMBUS_PATH_MAX];
	struct stat st;
	int fd = -1, rc, tries;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (size == 0 || size > (size_t)INT64_MAX)
		return -EINVAL;
	if (mode & ~(mode_t)07777)
		return -EINVAL;
	if (mode == 0)
		mode = 0600;
	if (name) {
		rc = name_path(name, path);
		if (rc)
			return rc;
		fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd < 0)
			return -errno;
	} else {
		for (tries = 0; fd < 0 && tries < GENERATE_TRIES; tries++) {
			rc = name_generate(path);
			if (rc)
				return rc;
			fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
			if (fd < 0 && errno != EEXIST)
				return -errno;
		}
		if (fd < 0)
			return -EEXIST;
	}
	/* The umask trimmed the mode shm_open applied; the caller asked for
	 * exactly @mode. */
	if (fchmod(fd, mode) < 0)
		goto fail_errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail_errno;
	/* Reserve every page now: a full /dev/shm fails here, not as SIGBUS. */
	do
		rc = posix_fallocate(fd, 0, (off_t)size);
	while (rc == EINTR);
	if (rc) {
		rc = -rc;
		goto fail;
	}
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	rc = block_map(out, fd, path, &st, false);
	if (rc)
		goto fail;
	close(fd);
	return 0;

fail_errno:
	rc = -errno;
fail:
	shm_unlink(path);
	close(fd);
	return rc;
}

int shmbus_block_attach(struct shmbus_block **out, const char *name, unsigned flags)
{
	char path[SHMBUS_PATH_MAX];
	bool rdonly = flags & SHMBUS_ATTACH_RDONLY;
	struct stat st;
	int fd, rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (flags & ~(unsigned)SHMBUS_ATTACH_RDONLY)
		return -EINVAL;
	rc = name_path(name, path);
	if (rc)
		return rc;
	fd = shm_file_open(-1, path, rdonly, &st);
	if (fd < 0)
		return fd;
	rc = rdonly ? 0 : block_reserve(fd, &st);
	if (rc == 0)
		rc = block_map(out, fd, path, &st, rdonly);
	close(fd);
	return rc;
}

void shmbus_block_close(struct shmbus_block *block)
{
	if (block)
		registry_put(block);
}

int shmbus_block_unlink(const char *name)
{
	char path[SHMBUS_PATH_MAX];
	int rc = name_path(name, path);

	if (rc)
		return rc;
	return shm_unlink(path) < 0 ? -errno : 0;
}

const char *shmbus_block_name(const struct shmbus_block *block)
{
	return block->name;
}

size_t shmbus_block_size(const struct shmbus_block *block)
{
	return block->size;
}

bool shmbus_block_readonly(const struct shmbus_block *block)
{
	return block->rdonly;
}

const void *shmbus_block_cdata(const struct shmbus_block *block)
{
	return block->addr;
}

int shmbus_block_data(struct shmbus_block *block, void **out)
{
	if (block->rdonly)
		return -EROFS;
	*out = block->addr;
	return 0;
}

static bool in_bounds(const struct shmbus_block *block, size_t off, size_t len)
{
	return off <= block->size && len <= block->size - off;
}

int shmbus_block_write(struct shmbus_block *block, size_t off, const void *src, size_t len)
{
	if (block->rdonly)
		return -EROFS;
	if (!in_bounds(block, off, len))
		return -ERANGE;
	memcpy((char *)block->addr + off, src, len);
	return guard_check(block->guard);
}

int shmbus_block_read(const struct shmbus_block *block, size_t off, void *dst, size_t len)
{
	if (!in_bounds(block, off, len))
		return -ERANGE;
	memcpy(dst, (const char *)block->addr + off, len);
	return guard_check(block->guard);
}

int shmbus_block_check(const struct shmbus_block *block)
{
	return guard_check(block->guard);
}

const _Atomic uint32_t *block_lost_word(const struct shmbus_block *block)
{
	return guard_lost_word(block->guard);
}

int shmbus_block_info(const struct shmbus_block *block, struct shmbus_block_info *info)
{
	struct shm_header copy;

	if (block->size < sizeof(copy))
		return block->size >= SHMBUS_MAGIC_LEN &&
		       memcmp(block->addr, SHMBUS_MAGIC, SHMBUS_MAGIC_LEN - 1) == 0 ?
			-SHMBUS_ETRUNCATED : -SHMBUS_EMAGIC;
	header_load(block->addr, &copy);
	return header_check(&copy, block->size, info);
}

int block_attach_layout(struct shmbus_block **out, const char *name, unsigned flags,
			       enum shmbus_kind kind, uint16_t version,
			       struct shmbus_block_info *info)
{
	const struct timespec nap = { 0, 1000000 }; /* 1 ms */
	struct shmbus_block_info local;
	struct shm_header copy;
	struct shmbus_block *b;
	int rc, waited;

	if (!info)
		info = &local;
	rc = shmbus_block_attach(&b, name, flags);
	if (rc)
		return rc;
	/*
	 * A block still being built shows a blank or unready header.  Wait a
	 * little for a live creator; a dead one will never finish it.
	 */
	for (waited = 0;; waited++) {
		rc = shmbus_block_info(b, info);
		if (rc != -SHMBUS_ENOTREADY && rc != -SHMBUS_EMAGIC)
			break;
		if (b->size < sizeof(copy))
			break;
		header_load(b->addr, &copy);
		if (rc == -SHMBUS_EMAGIC && !header_blank(&copy))
			break;
		/* Give up: a blank block stays "not ours" (EMAGIC), a header
		 * without `ready` stays "being built" (ENOTREADY). */
		if (waited >= 250 ||
		    (copy.creator != 0 && !shmbus_proc_alive(copy.creator)))
			break;
		nanosleep(&nap, NULL);
	}
	if (rc == 0 && info->kind != kind)
		rc = -SHMBUS_EKIND;
	if (rc == 0 && info->version != version)
		rc = -SHMBUS_EVERSION;
	if (rc) {
		shmbus_block_close(b);
		return rc;
	}
	*out = b;
	return 0;
}

int block_create_built(const char *name, uint64_t size, mode_t mode,
		       int (*build)(void *mem, uint64_t size, const void *arg), const void *arg)
{
	struct shmbus_block *b;
	void *mem;
	int rc;

	if (size > SIZE_MAX)
		return -EINVAL;
	rc = shmbus_block_create(&b, name, (size_t)size, mode & ~SHMBUS_MODE_EPHEMERAL);
	if (rc)
		return rc;
	rc = shmbus_block_data(b, &mem);
	if (rc == 0) {
		header_create_flags = mode & SHMBUS_MODE_EPHEMERAL ? SHMBUS_BLOCK_EPHEMERAL : 0;
		rc = build(mem, shmbus_block_size(b), arg);
		header_create_flags = 0;
	}
	shmbus_block_close(b);
	if (rc && shmbus_block_unlink(name)) { /* we made it: rc says what failed */ }
	return rc;
}
