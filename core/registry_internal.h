/*
 * registry_internal.h - the per-process registry of attached blocks.
 *
 * One entry per (object, access mode) this process has mapped: a second
 * attach of the same object shares the mapping and takes a reference.  The
 * table is liburcu's lock-free RCU hash table (cds_lfht) in the urcu-bp
 * flavour, which needs no thread registration from library users; lookups
 * take no lock, and an entry is unmapped only after a grace period, so a
 * lookup racing with the last close never touches freed memory.
 */
#ifndef SHMBUS_REGISTRY_INTERNAL_H
#define SHMBUS_REGISTRY_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include <urcu-bp.h>
#include <urcu/rculfhash.h>

#include "name_internal.h"

struct shmbus_block {
	struct cds_lfht_node node;
	_Atomic long refs;       /* handles; 0 means being removed */
	dev_t dev;               /* identity of the object: st_dev, st_ino */
	ino_t ino;
	bool rdonly;
	void *addr;
	size_t size;
	int guard;               /* entry in the SIGBUS guard's table */
	char name[SHMBUS_NAME_MAX + 1]; /* without the leading '/' */
};

/*
 * registry_get - find the entry for (@dev, @ino, @rdonly) and take a
 * reference on it.  Returns NULL if there is none alive.
 */
struct shmbus_block *registry_get(dev_t dev, ino_t ino, bool rdonly);

/*
 * registry_add - publish a new entry (refs == 1).  If an equal live
 * entry was added meanwhile by another thread, takes a reference on that one
 * and returns it instead (the caller then drops its own); else returns @b.
 * Returns NULL only if the table cannot be created (out of memory).
 */
struct shmbus_block *registry_add(struct shmbus_block *b);

/*
 * registry_put - drop a reference; the last one removes the entry,
 * waits for a grace period, then unmaps and frees it.
 */
void registry_put(struct shmbus_block *b);

#endif
