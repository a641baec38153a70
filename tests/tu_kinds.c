/*
 * tu_kinds.c - see tu_kinds.h.
 */
#include "tu_kinds.h"
#include "testutil.h"

static void make_spsc(const char *name)
{
	struct shmbus_spsc *p, *c;
	char buf[8];

	assert_int_equal(shmbus_spsc_create(name, 4096, 0), 0);
	assert_int_equal(shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_push_try(p, "x", 1), 0);
	assert_int_equal(shmbus_spsc_push_try(p, "a", 1), 0);
	assert_int_equal(shmbus_spsc_push_try(p, "bb", 2), 0);
	shmbus_spsc_close(p);
	assert_int_equal(shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_pop_try(c, buf, sizeof(buf)), 1);
	shmbus_spsc_close(c);
}

static void make_mpmc(const char *name)
{
	struct shmbus_mpmc_params params = { .slots = 8, .slot_size = 64 };
	struct shmbus_mpmc *p;

	assert_int_equal(shmbus_mpmc_create(name, &params), 0);
	assert_int_equal(shmbus_mpmc_open(&p, name, SHMBUS_MPMC_PRODUCER), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, "hi", 2), 0);
	shmbus_mpmc_close(p);
}

static void make_bcast(const char *name)
{
	struct shmbus_bcast_params params = { .capacity = 4096 };
	struct shmbus_bcast *p, *s;
	char buf[8];

	assert_int_equal(shmbus_bcast_create(name, &params), 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, name), 0);
	assert_int_equal(shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_push_try(p, "a", 1), 0);
	assert_int_equal(shmbus_bcast_push_try(p, "bb", 2), 0);
	assert_int_equal(shmbus_bcast_close_stream(p), 0);
	assert_int_equal(shmbus_bcast_pop_try(s, buf, sizeof(buf), NULL), 1);
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
}

static void make_slots(const char *name)
{
	struct shmbus_slot_value v[6];
	struct shmbus_slots *sl;

	v[0] = shmbus_slot_int(7);
	v[1] = shmbus_slot_float(2.5);
	v[2] = shmbus_slot_bool(true);
	v[3] = shmbus_slot_str("h\xc3\xa9");
	v[4] = shmbus_slot_bytes("\x00\xff", 2);
	v[5] = shmbus_slot_none();
	assert_int_equal(shmbus_slots_create(&sl, name, v, 6, 0), 0);
	shmbus_slots_close(sl);
}

static void make_pylist(const char *name)
{
	char code[512];
	const char *argv[] = { tu_python(), "-c", code, NULL };

	snprintf(code, sizeof(code),
		 "from multiprocessing import shared_memory as s, resource_tracker as r\n"
		 "l = s.ShareableList([1, 'x', None], name='%s')\n"
		 "r.unregister(l.shm._name, 'shared_memory')\n"
		 "l.shm.close()\n", name);
	assert_non_null(tu_python());
	assert_int_equal(tu_run(argv, NULL, NULL, NULL), 0);
}

void tu_kinds_make(struct kinds *k)
{
	struct shmbus_block *b;

	k->raw = tu_name("raw");
	k->spsc = tu_name("spsc");
	k->mpmc = tu_name("mpmc");
	k->bcast = tu_name("bcast");
	k->slots = tu_name("slots");
	k->pylist = tu_name("pylist");
	assert_int_equal(shmbus_block_create(&b, k->raw, 4096, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, "not ours", 8), 0);
	shmbus_block_close(b);
	make_spsc(k->spsc);
	make_mpmc(k->mpmc);
	make_bcast(k->bcast);
	make_slots(k->slots);
	make_pylist(k->pylist);
}

char *tu_kinds_tool_json(const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = { tu_tool(), a1, a2, a3, NULL };
	char *out, *err;
	int rc = tu_run(argv, NULL, &out, &err);

	if (rc != 0)
		fprintf(stderr, "shmbus %s %s %s: %d: %s\n", a1, a2 ? a2 : "", a3 ? a3 : "", rc,
			err);
	assert_int_equal(rc, 0);
	free(err);
	return out;
}
