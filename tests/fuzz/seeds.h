/*
 * seeds.h - real blocks of every kind, as bytes, to start fuzzing from.
 */
#ifndef SHMBUS_FUZZ_SEEDS_H
#define SHMBUS_FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

struct seed {
	const char *kind;
	uint8_t *bytes; /* malloc'd */
	size_t size;
};

/* Builds one seed per kind this build knows (real blocks made through the
 * public API, copied out and unlinked).  Returns how many, <= @max. */
size_t seeds_make(struct seed *out, size_t max);

#endif
