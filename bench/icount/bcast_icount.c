/*
 * bcast_icount.c - one thread moves N 64-byte messages through a broadcast
 * ring (the producer and one subscriber handle in the same thread, 8
 * messages in, then 8 out), as the broadcast-throughput bench calls it:
 * shmbus_bcast_push / shmbus_bcast_pop with timeout -1 (which need not
 * wait here).  For valgrind --tool=callgrind, which counts the
 * instructions of each side (bcast_run.sh: --toggle-collect on push, then
 * on pop).  Not a throughput benchmark: no second core, no cache-line
 * transfer, no sleeper to wake.
 * Usage: bcast_icount reliable|lossy N
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmbus/block.h>
#include <shmbus/broadcast.h>

#define SZ 64

int main(int argc, char **argv)
{
	struct shmbus_bcast_params prm = { .capacity = 1 << 16, .subscribers = 4 };
	unsigned char src[SZ] = { 0 }, dst[SZ];
	struct shmbus_bcast *p, *s;
	char name[64];
	unsigned i, k, n;

	if (argc != 3)
		return 2;
	prm.policy = strcmp(argv[1], "lossy") == 0 ? SHMBUS_BCAST_LOSSY : SHMBUS_BCAST_RELIABLE;
	n = (unsigned)strtoul(argv[2], NULL, 10);
	snprintf(name, sizeof(name), "bcast-icount-%d", (int)getpid());
	if (shmbus_bcast_create(name, &prm) || shmbus_bcast_open_producer(&p, name) ||
	    shmbus_bcast_subscribe(&s, name, SHMBUS_BCAST_FROM_OLDEST))
		return 1;
	for (i = 0; i < n; i += 8) {
		for (k = 0; k < 8; k++) {
			unsigned v = i + k;

			memcpy(src, &v, sizeof(v));
			if (shmbus_bcast_push(p, src, SZ, -1))
				abort();
		}
		for (k = 0; k < 8; k++) {
			unsigned v = i + k;

			if (shmbus_bcast_pop(s, dst, SZ, NULL, -1) != SZ || memcmp(dst, &v, sizeof(v)))
				abort();
		}
	}
	shmbus_bcast_close(s);
	shmbus_bcast_close(p);
	return shmbus_block_unlink(name) ? 1 : 0;
}
