/*
 * seeds.c - real blocks of each kind as fuzz seeds: made through the public
 * API (so they are what a peer really leaves in memory), copied, unlinked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "header_internal.h"
#include "shmbus/shmbus.h"
#include "seeds.h"

static int copy_out(struct shmbus_block *b, struct seed *s, const char *kind)
{
	s->kind = kind;
	s->size = shmbus_block_size(b);
	s->bytes = malloc(s->size);
	if (!s->bytes)
		return -1;
	memcpy(s->bytes, shmbus_block_cdata(b), s->size);
	return 0;
}

/* A bare common header (no kind-specific state behind it). */
static int seed_header(struct seed *s, const char *name)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_SPSC, .version = 1,
					.total_size = 4096, .participants_off = 128,
					.participants_max = 2 };
	struct shmbus_block *b;
	void *p;
	int rc;

	if (shmbus_block_create(&b, name, 4096, 0))
		return -1;
	if (shmbus_block_data(b, &p))
		return -1;
	header_init(p, &d);
	header_publish(p);
	rc = copy_out(b, s, "header");
	shmbus_block_close(b);
	return rc;
}

/* Copy block @name out as a seed (its first @len bytes; 0: all). */
static int seed_named(struct seed *s, const char *name, const char *kind, size_t len)
{
	struct shmbus_block *b;
	int rc;

	if (shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY))
		return -1;
	rc = copy_out(b, s, kind);
	if (rc == 0 && len && len < s->size)
		s->size = len;
	shmbus_block_close(b);
	return rc;
}

static int make_spsc(const char *name)
{
	struct shmbus_spsc *p;
	int rc;

	if (shmbus_spsc_create(name, 256, 0) || shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER))
		return -1;
	/* records of several sizes, the last ones wrapping with a padding record */
	rc = shmbus_spsc_push_try(p, "first", 5) | shmbus_spsc_push_try(p, "second message", 14) |
	     shmbus_spsc_push_try(p, "", 0);
	shmbus_spsc_close(p);
	return rc ? -1 : 0;
}

static int make_mpmc(const char *name)
{
	struct shmbus_mpmc_params params = { .slots = 4, .slot_size = 32, .participants = 4 };
	struct shmbus_mpmc *p;
	int rc;

	if (shmbus_mpmc_create(name, &params) || shmbus_mpmc_open(&p, name, SHMBUS_MPMC_PRODUCER))
		return -1;
	rc = shmbus_mpmc_push_try(p, "one", 3) | shmbus_mpmc_push_try(p, "two", 3);
	shmbus_mpmc_close(p);
	return rc ? -1 : 0;
}

static int make_slots(const char *name, size_t *python_size)
{
	struct shmbus_slot_value v[6];
	struct shmbus_slots *sl;

	v[0] = shmbus_slot_int(-3);
	v[1] = shmbus_slot_float(0.5);
	v[2] = shmbus_slot_bool(false);
	v[3] = shmbus_slot_str("text");
	v[4] = shmbus_slot_bytes("\x01\x02", 2);
	v[5] = shmbus_slot_none();
	if (shmbus_slots_create(&sl, name, v, 6, 0))
		return -1;
	shmbus_slots_close(sl);
	/* Python's part: 16 + 17 N + D, with D = 6 slots of 8 bytes */
	*python_size = 16 + 17 * 6 + 6 * 8;
	return 0;
}

static int make_manager(const char *name, struct shmbus_manager **m)
{
	char managed[80];
	struct shmbus_block *b;

	snprintf(managed, sizeof(managed), "%s_b", name);
	if (shmbus_manager_start(m, name, 4))
		return -1;
	if (shmbus_manager_create_block(*m, managed, 64, 0, &b))
		return -1;
	shmbus_block_close(b);
	return 0;
}

static void seed_name(char name[64], int pid, const char *kind)
{
	snprintf(name, 64, "sbt_fuzzseed_%d_%s", pid, kind);
}

/* Copy out block @name (made if @made == 0) as seed @n, then unlink it. */
static size_t add(struct seed *out, size_t max, size_t n, const char *name, const char *kind,
		  int made, size_t len)
{
	if (n < max && made == 0 && seed_named(&out[n], name, kind, len) == 0)
		n++;
	if (shmbus_block_unlink(name)) { /* was not made */ }
	return n;
}

size_t seeds_make(struct seed *out, size_t max)
{
	struct shmbus_manager *m = NULL;
	char name[64];
	size_t n = 0, pysize = 0;
	int pid = (int)getpid();


	snprintf(name, sizeof(name), "sbt_fuzzseed_%d_header", pid);
	if (n < max && seed_header(&out[n], name) == 0)
		n++;
	if (shmbus_block_unlink(name)) { /* not made */ }
	seed_name(name, pid, "spsc");
	n = add(out, max, n, name, "spsc", make_spsc(name), 0);
	seed_name(name, pid, "mpmc");
	n = add(out, max, n, name, "mpmc", make_mpmc(name), 0);
	seed_name(name, pid, "slots");
	n = add(out, max, n, name, "slots", make_slots(name, &pysize), 0);
	/* the same list without our trailer: what CPython itself makes */
	seed_name(name, pid, "pylist");
	n = add(out, max, n, name, "pylist", make_slots(name, &pysize), pysize);
	snprintf(name, sizeof(name), "sbt_fuzzseed_%d_manager", pid);
	if (n < max && make_manager(name, &m) == 0 && seed_named(&out[n], name, "manager", 0) == 0)
		n++;
	if (m) {
		if (shmbus_manager_shutdown(m)) { /* best effort */ }
		shmbus_manager_free(m);
	}
	return n;
}
