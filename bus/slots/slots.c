/*
 * slots.c - slot tables: create (lay out Python's part and our trailer,
 * publish), attach (validate everything before the handle exists), close.
 *
 * Invariant: a handle exists only for a list whose count, offsets, trailer
 * and every format and code passed the checks of slots_layout.c; the
 * handle's private offset table bounds every later access.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slots_internal.h"

/* How long attach waits for a list that is still being created. */
#define ATTACH_WAIT_MS 250
/* Reads of an unguarded slot whose format and code disagree, before we
 * call it corrupt (a Python writer may be between the two stores). */
#define DECODE_TRIES 3

const char *shmbus_slot_type_name(enum shmbus_slot_type type)
{
	switch (type) {
	case SHMBUS_SLOT_NONE: return "None";
	case SHMBUS_SLOT_INT: return "int";
	case SHMBUS_SLOT_FLOAT: return "float";
	case SHMBUS_SLOT_BOOL: return "bool";
	case SHMBUS_SLOT_STR: return "str";
	case SHMBUS_SLOT_BYTES: return "bytes";
	default: return "?";
	}
}

static _Atomic int64_t *count_word(unsigned char *base)
{
	return (_Atomic int64_t *)(void *)base;
}

static void slots_free(struct shmbus_slots *sl)
{
	if (!sl)
		return;
	shmbus_block_close(sl->block);
	free(sl->off);
	free(sl->sfmt);
	free(sl);
}

/* Capacities of the initial values: off[0..n]. */
static int plan_offsets(const struct shmbus_slot_value *values, size_t n, uint64_t *off)
{
	uint64_t cap;
	size_t i;
	int rc;

	off[0] = 0;
	for (i = 0; i < n; i++) {
		rc = slot_size_for(&values[i], &cap);
		if (rc)
			return rc;
		if (off[i] > (UINT64_C(1) << 61))
			return -EOVERFLOW;
		off[i + 1] = off[i] + cap;
	}
	return 0;
}

static void write_trailer(struct shmbus_slots *sl)
{
	struct slots_trailer *t =
		(struct slots_trailer *)(void *)(sl->base + sl->lay.trailer_off);
	struct timespec now;

	memcpy(t->magic, SHMBUS_SLOTS_MAGIC, sizeof(t->magic));
	t->version = SHMBUS_SLOTS_VERSION;
	t->byte_order = SHMBUS_BYTE_ORDER;
	t->count = sl->lay.n;
	t->python_size = sl->lay.python_size;
	t->creator = shmbus_proc_self();
	clock_gettime(CLOCK_REALTIME, &now);
	t->created_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	t->guard_size = sizeof(struct slot_guard);
	/* Guards start zeroed (the block does): seq 0 even, no writer. */
	/* R0a: release, pairs with A0a in parse(): an empty list's trailer is
	 * complete once ready is seen. */
	atomic_store_explicit(&t->ready, SHMBUS_READY, memory_order_release);
}

int slots_plan(struct shmbus_slots **out, const struct shmbus_slot_value *values,
		      size_t n)
{
	struct shmbus_slots *sl;
	int rc;

	*out = NULL;
	if (n && !values)
		return -EINVAL;
	if (n > (size_t)1 << 56)
		return -EOVERFLOW;
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	sl->timeout_ms = SHMBUS_SLOTS_TIMEOUT_MS;
	sl->off = malloc((n + 1) * sizeof(*sl->off));
	if (!sl->off) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = plan_offsets(values, n, sl->off);
	if (rc)
		goto fail;
	rc = slots_layout_make(n, sl->off[n], &sl->lay);
	if (rc)
		goto fail;
	if (sl->lay.trailer_end > (uint64_t)SIZE_MAX) {
		rc = -EOVERFLOW;
		goto fail;
	}
	rc = slots_fill_sfmt(sl);
	if (rc)
		goto fail;
	*out = sl;
	return 0;

fail:
	slots_free(sl);
	return rc;
}

int slots_build(struct shmbus_slots *sl, struct shmbus_block *b,
		       const struct shmbus_slot_value *values)
{
	uint64_t i, n = sl->lay.n;
	void *base;
	int rc;

	if (shmbus_block_size(b) != sl->lay.trailer_end)
		return -EINVAL;
	rc = shmbus_block_data(b, &base);
	if (rc)
		return rc;
	/* Nothing below can fail: the handle owns the block from here. */
	sl->block = b;
	sl->base = base;
	sl->guards = (struct slot_guard *)(void *)(sl->base + sl->lay.trailer_off +
							  sizeof(struct slots_trailer));
	for (i = 0; i <= n; i++) {
		int64_t o = (int64_t)sl->off[i];

		memcpy(sl->base + 8 + 8 * i, &o, sizeof(o));
	}
	/* Unpublished (N still reads 0): no reader trusts these bytes yet, so
	 * no guard is needed. */
	for (i = 0; i < n; i++)
		slots_write_body(sl, i, &values[i]);
	write_trailer(sl);
	/* R0b: release, pairs with A0b in parse(): N > 0 means everything
	 * above is visible.  Written last for that reason. */
	atomic_store_explicit(count_word(sl->base), (int64_t)n, memory_order_release);
	return 0;
}

int shmbus_slots_create(struct shmbus_slots **out, const char *name,
			const struct shmbus_slot_value *values, size_t n, mode_t mode)
{
	struct shmbus_slots *sl = NULL;
	struct shmbus_block *b = NULL;
	int rc;

	if (!out)
		return -EINVAL;
	*out = NULL;
	rc = slots_plan(&sl, values, n);
	if (rc)
		return rc;
	rc = shmbus_block_create(&b, name, (size_t)sl->lay.trailer_end, mode);
	if (rc)
		goto fail;
	/* Cannot fail on a block we just created read-write at this size. */
	rc = slots_build(sl, b, values);
	if (rc) {
		shmbus_block_close(b);
		if (shmbus_block_unlink(name)) { /* we made it: nothing else to do */ }
		goto fail;
	}
	*out = sl;
	return 0;

fail:
	slots_free(sl);
	return rc;
}

/*
 * Check every slot's format and code (see DECODE_TRIES), without waiting on
 * any writer: attach must not hang on a stopped one (or on a peer that
 * forges "being written").  A slot a live C writer is writing is left to
 * get, which checks format and code on every read anyway.  A slot whose C
 * writer died is repaired by a read-write handle (slots_repair()), and left
 * to get to report by a read-only one.
 */
static int check_slots(struct shmbus_slots *sl)
{
	struct slot_copy c;
	uint64_t i;
	int rc, tries;

	sl->timeout_ms = 0;
	for (i = 0; i < sl->lay.n; i++) {
		/* A dead writer's claim, mid-write or not: drop or repair it
		 * now rather than make the next set wait to find it dead. */
		if (sl->guards && !sl->rdonly) {
			rc = slots_repair(sl, i);
			if (rc < 0)
				return rc;
		}
		for (tries = 0; tries < DECODE_TRIES; tries++) {
			rc = slots_read(sl, i, &c, NULL, 0, false);
			if (rc == -SHMBUS_EPEERDEAD || rc == -ETIMEDOUT)
				break;
			if (rc)
				return rc;
			if (!c.decode_rc)
				break;
			if (sl->guards)
				return c.decode_rc; /* consistent copy: really bad */
			sched_yield();
		}
		if (tries == DECODE_TRIES)
			return -SHMBUS_ECORRUPT;
	}
	return 0;
}

/*
 * Read and check the list in @sl->block; fill the rest of @sl.
 * Returns 0, -EAGAIN (N == 0 in a block that is not an empty list: perhaps
 * one being created), or a negative code.
 */
static int parse(struct shmbus_slots *sl)
{
	const unsigned char *base = shmbus_block_cdata(sl->block);
	uint64_t size = shmbus_block_size(sl->block);
	struct slots_trailer t;
	size_t avail = 0;
	uint32_t ready = 0;
	int64_t n, *off = NULL;
	uint64_t i;
	int rc;

	if (size < 16)
		return -SHMBUS_ECORRUPT;
	/* A0b: acquire, pairs with R0b in shmbus_slots_create(). */
	n = atomic_load_explicit(count_word((unsigned char *)(uintptr_t)base),
				 memory_order_acquire);
	rc = slots_check_count(n, size);
	if (rc)
		return rc;
	off = malloc(((size_t)n + 1) * sizeof(*off));
	if (!off)
		return -ENOMEM;
	/* The offsets never change once published: one private copy, checked
	 * once, bounds everything after. */
	memcpy(off, base + 8, ((size_t)n + 1) * sizeof(*off));
	rc = slots_check_offsets(off, (uint64_t)n, size, &sl->lay);
	if (rc)
		goto out;
	if (sl->lay.trailer_off < size) {
		const struct slots_trailer *live =
			(const void *)(base + sl->lay.trailer_off);

		avail = size - sl->lay.trailer_off < sizeof(t) ? size - sl->lay.trailer_off
							       : sizeof(t);
		if (avail >= offsetof(struct slots_trailer, ready) + sizeof(ready))
			/* A0a: acquire, pairs with R0a in write_trailer(). */
			ready = atomic_load_explicit(&live->ready, memory_order_acquire);
		memcpy(&t, live, avail);
	}
	rc = slots_check_trailer(&t, avail, ready, &sl->lay, size);
	if (rc < 0)
		goto out;
	if (rc == 0 && n == 0 && size != sl->lay.python_size) {
		/* Python's empty list is exactly 16 bytes; ours has a trailer.
		 * N == 0 with more bytes than that is a list being created. */
		rc = -EAGAIN;
		goto out;
	}
	sl->guards = rc == 1 ? (struct slot_guard *)(uintptr_t)(
				       base + sl->lay.trailer_off + sizeof(t))
			     : NULL;
	sl->off = malloc(((size_t)n + 1) * sizeof(*sl->off));
	if (!sl->off) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i <= (uint64_t)n; i++)
		sl->off[i] = (uint64_t)off[i];
	rc = slots_fill_sfmt(sl);
	if (rc == 0)
		rc = check_slots(sl);
	sl->timeout_ms = SHMBUS_SLOTS_TIMEOUT_MS;
out:
	free(off);
	return rc;
}

int shmbus_slots_attach(struct shmbus_slots **out, const char *name, unsigned flags)
{
	const struct timespec nap = { 0, 1000000 }; /* 1 ms */
	struct shmbus_block_info info;
	struct shmbus_slots *sl;
	void *base;
	int rc, waited;

	if (!out)
		return -EINVAL;
	*out = NULL;
	sl = calloc(1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	rc = shmbus_block_attach(&sl->block, name, flags);
	if (rc)
		goto fail;
	/* A shmbus ring or other layout: say so rather than "corrupt". */
	rc = shmbus_block_info(sl->block, &info);
	if (rc != -SHMBUS_EMAGIC) {
		rc = -SHMBUS_EKIND;
		goto fail;
	}
	sl->rdonly = shmbus_block_readonly(sl->block);
	if (!sl->rdonly) {
		rc = shmbus_block_data(sl->block, &base);
		if (rc)
			goto fail;
	} else {
		base = (void *)(uintptr_t)shmbus_block_cdata(sl->block);
	}
	sl->base = base;
	for (waited = 0;; waited++) {
		rc = parse(sl);
		if (rc != -EAGAIN && rc != -SHMBUS_ENOTREADY)
			break;
		free(sl->off);
		free(sl->sfmt);
		sl->off = NULL;
		sl->sfmt = NULL;
		if (waited >= ATTACH_WAIT_MS) {
			/* N == 0 never became a list: not one (zero-filled
			 * raw bytes, typically), rather than a damaged one. */
			if (rc == -EAGAIN)
				rc = -SHMBUS_EKIND;
			break;
		}
		nanosleep(&nap, NULL);
	}
	if (rc)
		goto fail;
	*out = sl;
	return 0;

fail:
	slots_free(sl);
	return rc;
}

void shmbus_slots_close(struct shmbus_slots *sl)
{
	slots_free(sl);
}

size_t shmbus_slots_len(const struct shmbus_slots *sl)
{
	return (size_t)sl->lay.n;
}

bool shmbus_slots_guarded(const struct shmbus_slots *sl)
{
	return sl->guards != NULL;
}

const char *shmbus_slots_name(const struct shmbus_slots *sl)
{
	return shmbus_block_name(sl->block);
}

int shmbus_slots_set_timeout(struct shmbus_slots *sl, int timeout_ms)
{
	if (!sl || timeout_ms < 0)
		return -EINVAL;
	sl->timeout_ms = timeout_ms;
	return 0;
}

int64_t shmbus_slots_capacity(const struct shmbus_slots *sl, int64_t index)
{
	uint64_t i;
	int rc = slots_norm_index(sl, index, &i);

	return rc ? rc : (int64_t)slots_cap(sl, i);
}
