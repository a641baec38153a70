/*
 * mp_slots_torn.c - C writers and C readers in separate processes hammer
 * one slot of a list shmbus created; no reader ever returns a torn value.
 *
 * Every value written is self-checking: a str or bytes value is two equal
 * halves (of varying length, so short values must not show a longer
 * predecessor's tail), an int has equal high and low 32 bits.  A value made
 * of two different writes fails the check.  The slot changes type between
 * writes too, so format, code and data must also come from the same write.
 *
 * Phase 1: one writer, three readers.  Phase 2: two writers (the per-slot
 * writer claim must keep them from interleaving), two readers.
 * Writes per writer: SHMBUS_MP_SLOTS_WRITES (default 200000; a tenth under
 * sanitizers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "slots/slots_internal.h"
#include "testutil.h"

#define SLOT 0
#define DONE 1      /* DONE + i: bool, writer i has finished */
#define CAP 128
#define MAX_READERS 3

struct role {
	const char *name;
	uint64_t seed;
	long writes;
	int index;      /* writer number */
	int ready_fd;   /* readers write one byte once attached */
	int nwriters;
};

static long writes_default(void)
{
	const char *env = getenv("SHMBUS_MP_SLOTS_WRITES");
	long n = env ? atol(env) : 200000;

	if (n <= 0)
		n = 200000;
	return tu_sanitized() && !env ? n / 10 : n;
}

/* Value number @k of writer @seed. */
static struct shmbus_slot_value make_value(uint64_t seed, uint64_t k, unsigned char *mem)
{
	uint64_t x = (seed + k) * UINT64_C(0x9E3779B97F4A7C15);
	size_t half = 8 + (size_t)(k % 57), i;

	switch (k % 3) {
	case 0:
		for (i = 0; i < half; i++)
			mem[i] = (unsigned char)('a' + (x >> (i % 60)) % 26);
		memcpy(mem + half, mem, half);
		mem[2 * half] = '\0';
		return shmbus_slot_str((const char *)mem);
	case 1:
		/* Interior NULs allowed, the last byte never 0 (it would be
		 * stripped, as Python strips it). */
		for (i = 0; i < half; i++)
			mem[i] = (unsigned char)(x >> (8 * (i % 8)) ^ i);
		mem[half - 1] |= 1;
		memcpy(mem + half, mem, half);
		return shmbus_slot_bytes(mem, 2 * half);
	default:
		return shmbus_slot_int((int64_t)((x & 0xffffffffu) << 32 | (x & 0xffffffffu)));
	}
}

static bool intact(const struct shmbus_slot_value *v)
{
	size_t h;

	switch (v->type) {
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		h = v->u.s.len / 2;
		return v->u.s.len % 2 == 0 && h >= 8 &&
		       memcmp(v->u.s.data, (const char *)v->u.s.data + h, h) == 0;
	case SHMBUS_SLOT_INT:
		return (uint32_t)((uint64_t)v->u.i >> 32) == (uint32_t)v->u.i;
	default:
		return false;
	}
}

static int writer(void *arg)
{
	const struct role *r = arg;
	struct shmbus_slot_value v;
	unsigned char mem[CAP + 1];
	struct shmbus_slots *sl;
	long k;
	int rc;

	if (shmbus_slots_attach(&sl, r->name, 0))
		return 10;
	for (k = 0; k < r->writes; k++) {
		v = make_value(r->seed, (uint64_t)k, mem);
		rc = shmbus_slots_set(sl, SLOT, &v);
		if (rc) {
			fprintf(stderr, "writer: set: %s\n", shmbus_strerror(rc));
			return 12;
		}
	}
	v = shmbus_slot_bool(true);
	if (shmbus_slots_set(sl, DONE + r->index, &v))
		return 13;
	shmbus_slots_close(sl);
	return 0;
}

static int reader(void *arg)
{
	const struct role *r = arg;
	struct shmbus_slot_value v, d;
	unsigned char buf[CAP + 1], one = 1;
	struct shmbus_slots *sl;
	long reads = 0, torn = 0, changes = 0;
	int64_t last = 0;
	int rc, i, done;

	if (shmbus_slots_attach(&sl, r->name, SHMBUS_ATTACH_RDONLY))
		return 20;
	if (write(r->ready_fd, &one, 1) != 1)
		return 21;
	for (;;) {
		/* Read the flags first: the value read after all are set may
		 * be the last one written, and is checked like the rest. */
		for (i = 0, done = 0; i < r->nwriters; i++) {
			if (shmbus_slots_get(sl, DONE + i, &d, NULL, 0))
				return 22;
			done += d.u.b;
		}
		rc = shmbus_slots_get(sl, SLOT, &v, buf, sizeof(buf));
		if (rc) {
			fprintf(stderr, "reader: get: %s\n", shmbus_strerror(rc));
			return 23;
		}
		reads++;
		if (!intact(&v)) {
			if (torn++ < 3)
				fprintf(stderr, "reader: torn value (type %d, len %zu)\n", v.type,
					v.u.s.len);
		}
		if (v.type == SHMBUS_SLOT_INT && v.u.i != last) {
			changes++;
			last = v.u.i;
		}
		if (done == r->nwriters)
			break;
	}
	fprintf(stderr, "reader %d: %ld reads, %ld int changes seen, %ld torn\n", (int)getpid(),
		reads, changes, torn);
	shmbus_slots_close(sl);
	return torn ? 1 : 0;
}

static void run_phase(int nwriters, int nreaders)
{
	struct shmbus_slot_value vals[3];
	unsigned char mem[CAP + 1];
	struct role w[2], rd;
	struct shmbus_slots *sl;
	pid_t pids[2 + MAX_READERS];
	int ready[2], i, np = 0;
	unsigned char b;

	vals[SLOT] = make_value(0, 0, mem);
	vals[SLOT].capacity = CAP;
	vals[DONE] = shmbus_slot_bool(false);
	vals[DONE + 1] = shmbus_slot_bool(false);
	assert_int_equal(shmbus_slots_create(&sl, tu_name("torn"), vals, 3, 0), 0);
	assert_int_equal(pipe(ready), 0);
	rd = (struct role){ .name = tu_name("torn"), .ready_fd = ready[1],
			    .nwriters = nwriters };
	for (i = 0; i < nreaders; i++)
		pids[np++] = tu_spawn(reader, &rd);
	/* Start the writers once every reader is attached and reading. */
	for (i = 0; i < nreaders; i++)
		assert_int_equal(read(ready[0], &b, 1), 1);
	for (i = 0; i < nwriters; i++) {
		w[i] = (struct role){ .name = tu_name("torn"), .seed = (uint64_t)(i + 1) << 40,
				      .writes = writes_default(), .index = i };
		pids[np++] = tu_spawn(writer, &w[i]);
	}
	for (i = 0; i < np; i++)
		assert_int_equal(tu_wait(pids[i]), 0);
	close(ready[0]);
	close(ready[1]);
	shmbus_slots_close(sl);
	assert_int_equal(shmbus_block_unlink(tu_name("torn")), 0);
}

static void test_one_writer_three_readers(void **state)
{
	(void)state;
	run_phase(1, 3);
}

static void test_two_writers_two_readers(void **state)
{
	(void)state;
	run_phase(2, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_one_writer_three_readers, tu_teardown),
		cmocka_unit_test_teardown(test_two_writers_two_readers, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_slots_torn", tests, NULL, NULL);
}
