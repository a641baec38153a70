/*
 * seeds.c - real blocks of each kind as fuzz seeds: made through the public
 * API (so they are what a peer really leaves in memory), copied, unlinked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "header_internal.h"
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
	struct shmbus_layout_desc d = { .kind = SHMBUS_KIND_SPSC, .version = 1,
					.total_size = 4096, .participants_off = 128,
					.participants_max = 2 };
	struct shmbus_block *b;
	void *p;
	int rc;

	if (shmbus_block_create(&b, name, 4096, 0))
		return -1;
	if (shmbus_block_data(b, &p))
		return -1;
	shmbus_header_init(p, &d);
	shmbus_header_publish(p);
	rc = copy_out(b, s, "header");
	shmbus_block_close(b);
	return rc;
}

size_t seeds_make(struct seed *out, size_t max)
{
	char name[64];
	size_t n = 0;

	snprintf(name, sizeof(name), "sbt_fuzzseed_%d_hdr", (int)getpid());
	if (n < max && seed_header(&out[n], name) == 0)
		n++;
	if (shmbus_block_unlink(name)) {
		/* nothing to clean */
	}
	return n;
}
