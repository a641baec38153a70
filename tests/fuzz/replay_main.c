/*
 * replay_main.c - runs the fuzz target without libFuzzer, in every build
 * (plain, ASan+UBSan, TSan): real blocks of each kind, then a fixed number
 * of deterministic mutations of them (bit flips, random words, truncation,
 * extension), then any files given on the command line (a corpus or a
 * crash to reproduce).
 *   fuzz_snapshot_replay [--iterations N] [FILE...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seeds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t next(void)
{
	/* xorshift64*: fixed seed, so a failure replays exactly */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1du;
}

static void mutate(uint8_t *buf, size_t *size, size_t cap)
{
	int edits = 1 + (int)(next() % 8), i;

	for (i = 0; i < edits && *size > 0; i++) {
		size_t at = (size_t)(next() % *size);
		uint64_t w = next();

		switch (next() % 6) {
		case 0: buf[at] ^= (uint8_t)(1u << (w % 8)); break;
		case 1: buf[at] = (uint8_t)w; break;
		case 2: /* an 8-byte word: positions, lengths, offsets */
			at &= ~(size_t)7;
			if (at + 8 <= *size)
				memcpy(buf + at, &w, 8);
			break;
		case 3: /* a small or boundary value in a word */
			at &= ~(size_t)7;
			if (at + 8 <= *size) {
				static const uint64_t edge[] = { 0, 1, 7, 8, 63, 64, 4095, 4096,
								 UINT32_MAX, UINT64_MAX, INT64_MAX };
				memcpy(buf + at, &edge[w % (sizeof(edge) / sizeof(edge[0]))], 8);
			}
			break;
		case 4: *size = (size_t)(w % (*size + 1)); break;  /* truncate */
		case 5:                                            /* extend */
			if (*size < cap) {
				size_t grow = (size_t)(w % (cap - *size + 1));

				memset(buf + *size, (int)(w >> 8), grow);
				*size += grow;
			}
			break;
		}
	}
}

int main(int argc, char **argv)
{
	struct seed seeds[16];
	long iterations = 20000, it;
	size_t nseeds, i;
	int a = 1;

	if (argc > 2 && strcmp(argv[1], "--iterations") == 0) {
		iterations = atol(argv[2]);
		a = 3;
	}
	if (a < argc) {
		for (; a < argc; a++) {
			FILE *f = fopen(argv[a], "rb");
			static uint8_t buf[1 << 22];
			size_t n;

			if (!f) {
				perror(argv[a]);
				return 1;
			}
			n = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			LLVMFuzzerTestOneInput(buf, n);
		}
		return 0;
	}
	nseeds = seeds_make(seeds, 16);
	if (nseeds == 0) {
		fprintf(stderr, "no seeds could be made\n");
		return 1;
	}
	for (i = 0; i < nseeds; i++)
		LLVMFuzzerTestOneInput(seeds[i].bytes, seeds[i].size);
	for (it = 0; it < iterations; it++) {
		struct seed *s = &seeds[it % (long)nseeds];
		size_t cap = s->size + 256, size = s->size;
		uint8_t *buf = malloc(cap);

		if (!buf)
			return 1;
		memcpy(buf, s->bytes, s->size);
		mutate(buf, &size, cap);
		LLVMFuzzerTestOneInput(buf, size);
		free(buf);
	}
	for (i = 0; i < nseeds; i++)
		free(seeds[i].bytes);
	printf("fuzz replay: %zu seeds, %ld mutations, no crash\n", nseeds, iterations);
	return 0;
}
