/*
 * spsc_common.c - one SPSC measurement: make the transport's shared state,
 * run its two processes through the harness, clean up, repeat.
 */
#include <unistd.h>

#include <shmbus/block.h>

#include "bench_spsc.h"

void spsc_cfg_init(struct spsc_cfg *c, size_t size, uint64_t count, size_t ring_bytes)
{
	memset(c, 0, sizeof(*c));
	c->msg_size = size;
	c->count = count;
	c->ring_bytes = ring_bytes;
	c->buf_bytes = size;
	c->fd[0] = c->fd[1] = c->fd[2] = c->fd[3] = -1;
}

void spsc_unlink_rings(struct spsc_cfg *c)
{
	unsigned i;

	for (i = 0; i < (c->pingpong ? 2u : 1u); i++) {
		if (shmbus_block_unlink(c->name[i]) < 0) {
			/* -ENOENT (never made) is fine: nothing to remove. */
		}
	}
}

void spsc_ring_ends(unsigned index, const struct spsc_cfg *c, const char **tx, const char **rx)
{
	if (!c->pingpong) {
		*tx = index == 0 ? c->name[0] : NULL;
		*rx = index == 0 ? NULL : c->name[0];
	} else {
		*tx = c->name[index == 0 ? 0 : 1];
		*rx = c->name[index == 0 ? 1 : 0];
	}
}

/* The ring: a power of two, the default or larger so that 8 messages fit;
 * --ring is rounded down to a power of two (shmbus rings need one). */
size_t spsc_default_ring(const struct bench_run *run, size_t size, size_t dflt)
{
	size_t ring = dflt, want = run->opts->ring_bytes, p = 64;

	while (ring < 8 * (size + 16) && ring < ((size_t)1 << 30))
		ring *= 2;
	if (!want)
		return ring;
	while (p * 2 <= want && p < ((size_t)1 << 30))
		p *= 2;
	return p;
}

/* Untimed messages before the clock starts: two ring-fulls (every page of
 * the ring touched by both sides, caches and branch predictors warm). */
uint64_t spsc_stream_warmup(size_t size, size_t ring)
{
	uint64_t w = 2 * ring / (size < 8 ? 8 : size);

	return w < 64 ? 64 : w > 65536 ? 65536 : w;
}

struct spsc_job {
	const struct spsc_transport *tp;
	const struct spsc_cfg *cfg;
	unsigned rep;
};

static int spsc_rep(const struct bench_run *run, void *arg, struct bench_sample *out)
{
	struct spsc_job *job = arg;
	struct spsc_cfg c = *job->cfg;
	int rc;

	/* Names unique per run and repeat, so a repeat never meets the
	 * leftovers of a failed one. */
	snprintf(c.name[0], sizeof(c.name[0]), "shmbus-bench-%d-%u-a", (int)getpid(), job->rep);
	snprintf(c.name[1], sizeof(c.name[1]), "shmbus-bench-%d-%u-b", (int)getpid(), job->rep);
	job->rep++;
	rc = job->tp->prepare(&c);
	if (rc < 0)
		return rc;
	rc = bench_spawn(run, 2, c.pingpong ? job->tp->pingpong : job->tp->stream, &c, out);
	job->tp->cleanup(&c);
	return rc;
}

int spsc_measure(struct bench_run *run, const struct spsc_transport *tp,
		 const struct spsc_cfg *c, json_t *extra)
{
	struct spsc_job job = { .tp = tp, .cfg = c };

	if (!extra)
		extra = json_object();
	if (tp->ring)
		json_object_set_new(extra, "ring_bytes", json_integer((json_int_t)c->ring_bytes));
	json_object_set_new(extra, "warmup", json_integer((json_int_t)c->warmup));
	return bench_measure(run, tp->name, c->msg_size, spsc_rep, &job, extra);
}

const struct spsc_transport *const spsc_msg_transports[] = {
	&spsc_tp_ideal,
	&spsc_tp_shmbus,
	&spsc_tp_shmbus_copy,
	&spsc_tp_shmbus_blocking,
	&spsc_tp_mpmc,
	&spsc_tp_pipe,
	&spsc_tp_unix,
	NULL,
};

const char *const spsc_msg_names[] = {
	"ideal",       "shmbus-spsc", "shmbus-spsc-copy", "shmbus-spsc-blocking",
	"shmbus-mpmc", "pipe",        "unix-socket",      NULL,
};
