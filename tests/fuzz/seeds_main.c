/*
 * seeds_main.c - writes the fuzz seeds (real blocks of each kind) into a
 * corpus directory for libFuzzer: fuzz_seeds DIR
 */
#include <stdio.h>
#include <stdlib.h>

#include "seeds.h"

int main(int argc, char **argv)
{
	struct seed seeds[16];
	size_t n, i;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	n = seeds_make(seeds, 16);
	for (i = 0; i < n; i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/seed-%s", argv[1], seeds[i].kind);
		f = fopen(path, "wb");
		if (!f || fwrite(seeds[i].bytes, 1, seeds[i].size, f) != seeds[i].size) {
			perror(path);
			return 1;
		}
		fclose(f);
	}
	for (i = 0; i < n; i++)
		free(seeds[i].bytes);
	return n ? 0 : 1;
}
