/*
 * spsc_icount.c - one thread moves N 64-byte messages through an SPSC ring
 * (producer and consumer handles in the same thread, one message at a time
 * unless the mode says otherwise), so that valgrind --tool=callgrind can
 * count the instructions each message costs: a deterministic measure of
 * the hot paths that a busy machine cannot blur (run.sh does the counting).
 * Not a throughput benchmark: there is no second core and no cache-line
 * transfer here.  Modes:
 *   ideal   the yardstick ring of bench/spsc_ideal.h, inlined
 *   ideal8  the same, 8 messages in, then 8 out
 *   zc      reserve_try + memcpy + commit, peek_try + memcpy + release
 *   zc8     the same, 8 in then 8 out (the consumer's cached head covers 8)
 *   copy    push_try / pop_try
 *   blk     reserve / peek with timeout -1 (that need not wait)
 *   burst   reserve_burst_try(8) + commit_bulk(NULL), peek_burst_try(8) +
 *           release_burst(8)
 *   mpmc    the MPMC ring (1024 slots of 64 bytes): push / pop with timeout
 *           -1, as the shmbus-mpmc bench transport calls them
 * Usage: spsc_icount MODE N
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmbus/block.h>
#include <shmbus/mpmc.h>
#include <shmbus/spsc.h>

#include "spsc_ideal.h"

#define SZ 64

static unsigned char src[SZ], dst[SZ];

/* The yardstick's own ring (bench/spsc_ideal.h), 4096 slots of SZ bytes. */
static _Alignas(128) unsigned char ring_mem[sizeof(struct ideal_ring) + 4096 * SZ];

static void check(unsigned v)
{
	if (memcmp(dst, &v, sizeof(v)))
		abort();
}

static __attribute__((noinline)) void run_ideal(unsigned n, unsigned batch)
{
	struct ideal_ring *r = (struct ideal_ring *)(void *)ring_mem;
	struct ideal_end p = { r, 0, 0, 4096, SZ }, c = { r, 0, 0, 4096, SZ };
	unsigned i, k;

	for (i = 0; i < n; i += batch) {
		for (k = 0; k < batch; k++) {
			unsigned v = i + k;

			memcpy(src, &v, sizeof(v));
			ideal_send(&p, src, SZ);
		}
		for (k = 0; k < batch; k++) {
			ideal_recv(&c, dst, SZ);
			check(i + k);
		}
	}
}

static __attribute__((noinline)) void run_zc(struct shmbus_spsc *p, struct shmbus_spsc *c,
					     unsigned n, unsigned batch)
{
	unsigned i, k;

	for (i = 0; i < n; i += batch) {
		for (k = 0; k < batch; k++) {
			unsigned v = i + k;
			void *d;

			memcpy(src, &v, sizeof(v));
			if (shmbus_spsc_reserve_try(p, SZ, &d))
				abort();
			memcpy(d, src, SZ);
			if (shmbus_spsc_commit(p, SZ))
				abort();
		}
		for (k = 0; k < batch; k++) {
			const void *r;
			size_t len;

			if (shmbus_spsc_peek_try(c, &r, &len) || len != SZ)
				abort();
			memcpy(dst, r, SZ);
			if (shmbus_spsc_release(c))
				abort();
			check(i + k);
		}
	}
}

static __attribute__((noinline)) void run_copy(struct shmbus_spsc *p, struct shmbus_spsc *c,
					       unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		memcpy(src, &i, sizeof(i));
		if (shmbus_spsc_push_try(p, src, SZ) || shmbus_spsc_pop_try(c, dst, SZ) != SZ)
			abort();
		check(i);
	}
}

static __attribute__((noinline)) void run_blk(struct shmbus_spsc *p, struct shmbus_spsc *c,
					      unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const void *r;
		size_t len;
		void *d;

		memcpy(src, &i, sizeof(i));
		if (shmbus_spsc_reserve(p, SZ, &d, -1))
			abort();
		memcpy(d, src, SZ);
		if (shmbus_spsc_commit(p, SZ) || shmbus_spsc_peek(c, &r, &len, -1) || len != SZ)
			abort();
		memcpy(dst, r, SZ);
		if (shmbus_spsc_release(c))
			abort();
		check(i);
	}
}

static __attribute__((noinline)) void run_burst(struct shmbus_spsc *p, struct shmbus_spsc *c,
						unsigned n)
{
	struct shmbus_spsc_buf b[8];
	struct shmbus_spsc_msg m[8];
	unsigned i, k;

	for (i = 0; i < n; i += 8) {
		for (k = 0; k < 8; k++)
			b[k].len = SZ;
		if (shmbus_spsc_reserve_burst_try(p, b, 8) != 8)
			abort();
		for (k = 0; k < 8; k++) {
			unsigned v = i + k;

			memcpy(src, &v, sizeof(v));
			memcpy(b[k].data, src, SZ);
		}
		if (shmbus_spsc_commit_bulk(p, NULL, 8) || shmbus_spsc_peek_burst_try(c, m, 8) != 8)
			abort();
		for (k = 0; k < 8; k++) {
			memcpy(dst, m[k].data, SZ);
			check(i + k);
		}
		if (shmbus_spsc_release_burst(c, 8) < 0)
			abort();
	}
}

static __attribute__((noinline)) int run_mpmc(const char *name, unsigned n)
{
	struct shmbus_mpmc_params params = { .slots = 1024, .slot_size = SZ, .participants = 2 };
	struct shmbus_mpmc *p, *c;
	unsigned i;

	if (shmbus_mpmc_create(name, &params))
		return 1;
	if (shmbus_mpmc_open(&p, name, SHMBUS_MPMC_PRODUCER) ||
	    shmbus_mpmc_open(&c, name, SHMBUS_MPMC_CONSUMER))
		abort();
	for (i = 0; i < n; i++) {
		memcpy(src, &i, sizeof(i));
		if (shmbus_mpmc_push(p, src, SZ, -1) || shmbus_mpmc_pop(c, dst, SZ, -1) != SZ)
			abort();
		check(i);
	}
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
	return shmbus_block_unlink(name) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "zc";
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 100000;
	struct shmbus_spsc *p, *c;
	char name[64];
	int rc = 0;

	n -= n % 8;
	snprintf(name, sizeof(name), "spsc-icount-%d", (int)getpid());
	if (!strcmp(mode, "mpmc"))
		return run_mpmc(name, n);
	if (shmbus_spsc_create(name, 1 << 16, 0) ||
	    shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER) ||
	    shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER)) {
		fprintf(stderr, "spsc_icount: cannot make ring %s\n", name);
		return 1;
	}
	if (!strcmp(mode, "ideal"))
		run_ideal(n, 1);
	else if (!strcmp(mode, "ideal8"))
		run_ideal(n, 8);
	else if (!strcmp(mode, "zc"))
		run_zc(p, c, n, 1);
	else if (!strcmp(mode, "zc8"))
		run_zc(p, c, n, 8);
	else if (!strcmp(mode, "copy"))
		run_copy(p, c, n);
	else if (!strcmp(mode, "blk"))
		run_blk(p, c, n);
	else if (!strcmp(mode, "burst"))
		run_burst(p, c, n);
	else {
		fprintf(stderr, "spsc_icount: unknown mode %s\n", mode);
		rc = 2;
	}
	shmbus_spsc_close(p);
	shmbus_spsc_close(c);
	return shmbus_block_unlink(name) ? 1 : rc;
}
