/*
 * registry.c - per-process registry of attached blocks on cds_lfht (urcu-bp).
 *
 * Invariant: an entry is findable only while refs > 0; a reference is taken
 * with increment-if-not-zero inside an RCU read-side section, and the entry is
 * freed only after cds_lfht_del() and a grace period.
 *
 * The table is fixed-size (no CDS_LFHT_AUTO_RESIZE), so it never starts a
 * resize worker thread: a process maps few blocks and chains stay short.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "guard_internal.h"
#include "registry_internal.h"

/*
 * liburcu is not built with ThreadSanitizer, so TSan cannot see the ordering
 * it provides: rcu_assign_pointer() in cds_lfht_add (release) against the
 * lookup's rcu_dereference (acquire), and the grace period that separates a
 * reader's section from the free that follows synchronize_rcu().  These
 * annotations state exactly those two edges; they compile to nothing
 * otherwise.
 */
#if defined(__SANITIZE_THREAD__)
#define SHMBUS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHMBUS_TSAN 1
#endif
#endif
#ifdef SHMBUS_TSAN
#include <sanitizer/tsan_interface.h>
#define tsan_release(p) __tsan_release((void *)(uintptr_t)(p))
#define tsan_acquire(p) __tsan_acquire((void *)(uintptr_t)(p))
#else
#define tsan_release(p) ((void)(p))
#define tsan_acquire(p) ((void)(p))
#endif

/* Stands for "a grace period has elapsed" in the annotations above. */
static char grace_token;

static struct cds_lfht *table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_create(void)
{
	table = cds_lfht_new(64, 64, 64, 0, NULL);
	/* urcu-bp keeps per-thread state that fork() must not tear. */
	pthread_atfork(urcu_bp_before_fork, urcu_bp_after_fork_parent,
		       urcu_bp_after_fork_child);
}

static unsigned long key_hash(dev_t dev, ino_t ino, bool rdonly)
{
	/* splitmix64 finaliser over the identity */
	uint64_t x = (uint64_t)ino * 0x9e3779b97f4a7c15u ^ (uint64_t)dev << 1 ^ rdonly;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebu;
	return (unsigned long)(x ^ (x >> 31));
}

struct key {
	dev_t dev;
	ino_t ino;
	bool rdonly;
};

static int key_match(struct cds_lfht_node *node, const void *arg)
{
	const struct shmbus_block *b = caa_container_of(node, struct shmbus_block, node);
	const struct key *k = arg;

	tsan_acquire(b); /* the node was published by cds_lfht_add_unique() */
	return b->dev == k->dev && b->ino == k->ino && b->rdonly == k->rdonly;
}

/* Take a reference unless the entry is already on its way out. */
static bool ref_get(struct shmbus_block *b)
{
	/* Relaxed: the entry's fields were published to us by the RCU lookup
	 * (rcu_dereference); the count only guards its lifetime. */
	long refs = atomic_load_explicit(&b->refs, memory_order_relaxed);

	while (refs > 0) {
		if (atomic_compare_exchange_weak_explicit(&b->refs, &refs, refs + 1,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	}
	return false;
}

struct shmbus_block *registry_get(dev_t dev, ino_t ino, bool rdonly)
{
	struct key k = { dev, ino, rdonly };
	struct cds_lfht_iter iter;
	struct cds_lfht_node *node;
	struct shmbus_block *found = NULL;

	pthread_once(&table_once, table_create);
	if (!table)
		return NULL;
	urcu_bp_read_lock();
	cds_lfht_lookup(table, key_hash(dev, ino, rdonly), key_match, &k, &iter);
	for (node = cds_lfht_iter_get_node(&iter); node;
	     cds_lfht_next_duplicate(table, key_match, &k, &iter),
	     node = cds_lfht_iter_get_node(&iter)) {
		struct shmbus_block *b = caa_container_of(node, struct shmbus_block, node);

		if (ref_get(b)) {
			found = b;
			break;
		}
	}
	tsan_release(&grace_token); /* end of this read-side section */
	urcu_bp_read_unlock();
	return found;
}

struct shmbus_block *registry_add(struct shmbus_block *b)
{
	struct key k = { b->dev, b->ino, b->rdonly };
	unsigned long hash = key_hash(b->dev, b->ino, b->rdonly);
	struct cds_lfht_node *got;

	pthread_once(&table_once, table_create);
	if (!table)
		return NULL;
	atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
	cds_lfht_node_init(&b->node);
	tsan_release(b); /* cds_lfht_add_unique() publishes it (release) */
	for (;;) {
		struct shmbus_block *other;

		urcu_bp_read_lock();
		got = cds_lfht_add_unique(table, hash, key_match, &k, &b->node);
		other = caa_container_of(got, struct shmbus_block, node);
		if (got == &b->node || ref_get(other)) {
			tsan_release(&grace_token);
			urcu_bp_read_unlock();
			return other;
		}
		tsan_release(&grace_token);
		urcu_bp_read_unlock();
		/* The other entry is being removed: let its closer finish. */
		sched_yield();
	}
}

void registry_put(struct shmbus_block *b)
{
	/* acq_rel: the last closer must see every other holder's writes to the
	 * entry before it frees it (the usual refcount release/acquire pair). */
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	urcu_bp_read_lock();
	cds_lfht_del(table, &b->node);
	urcu_bp_read_unlock();
	urcu_bp_synchronize_rcu();
	tsan_acquire(&grace_token); /* every earlier reader has left */
	guard_unregister(b->guard);
	munmap(b->addr, b->size);
	free(b);
}
