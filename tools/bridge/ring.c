/*
 * ring.c - the bridge's view of a ring of any kind (see ring.h): a switch
 * on the kind in each call, over the public API.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"

static int ring_kind(const char *name, enum shmbus_kind *kind)
{
	struct shmbus_block_info info;
	struct shmbus_block *b;
	int rc = shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY);

	if (rc)
		return rc;
	rc = shmbus_block_info(b, &info);
	shmbus_block_close(b);
	if (rc == 0)
		*kind = info.kind;
	return rc;
}

int bridge_ring_open(struct bridge_ring *r, const char *name, bool producer)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->name = name;
	r->producer = producer;
	rc = ring_kind(name, &r->kind);
	if (rc)
		return rc;
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_open((struct shmbus_spsc **)&r->h, name,
					producer ? SHMBUS_SPSC_PRODUCER : SHMBUS_SPSC_CONSUMER);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_open((struct shmbus_mpmc **)&r->h, name,
					producer ? SHMBUS_MPMC_PRODUCER : SHMBUS_MPMC_CONSUMER);
	case SHMBUS_KIND_BROADCAST:
		if (producer)
			return shmbus_bcast_open_producer((struct shmbus_bcast **)&r->h, name);
		rc = shmbus_bcast_subscribe((struct shmbus_bcast **)&r->h, name,
					    SHMBUS_BCAST_FROM_NEXT);
		if (rc)
			return rc;
		r->lossy = shmbus_bcast_policy(r->h) == SHMBUS_BCAST_LOSSY;
		if (r->lossy) {
			r->size = shmbus_bcast_capacity(r->h);
			r->buf = malloc(r->size);
			if (!r->buf) {
				bridge_ring_close(r);
				return -ENOMEM;
			}
		}
		return 0;
	default:
		return -SHMBUS_EKIND;
	}
}

void bridge_ring_close(struct bridge_ring *r)
{
	if (!r->h)
		return;
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		shmbus_spsc_close(r->h);
		break;
	case SHMBUS_KIND_MPMC:
		shmbus_mpmc_close(r->h);
		break;
	default:
		shmbus_bcast_close(r->h);
		break;
	}
	free(r->buf);
	r->h = NULL;
	r->buf = NULL;
}

/* Lossy broadcast: copies of up to @n messages packed in r->buf, each
 * checked whole by pop; waits only for the first. */
static int lossy_peek(struct bridge_ring *r, struct bridge_msg *msgs, unsigned n, int timeout_ms)
{
	size_t used = 0;
	unsigned k;

	for (k = 0; k < n && used < r->size; k++) {
		char *at = r->buf + used;
		int len = k == 0 ? shmbus_bcast_pop(r->h, at, r->size - used, NULL, timeout_ms) :
				   shmbus_bcast_pop_try(r->h, at, r->size - used, NULL);

		if (len < 0 && k > 0) /* what we have first; the error comes again */
			break;
		if (len < 0)
			return len;
		msgs[k].data = at;
		msgs[k].len = (size_t)len;
		used += ((size_t)len + 7) & ~(size_t)7;
	}
	return (int)k;
}

/* The rings' message structs have the fields of struct bridge_msg; they are
 * copied across rather than assumed to have one layout. */
#define COPY_MSGS(m, k)                                   \
	for (int i_ = 0; i_ < (k); i_++) {                \
		msgs[i_].data = (m)[i_].data;             \
		msgs[i_].len = (m)[i_].len;               \
	}

int bridge_ring_peek(struct bridge_ring *r, struct bridge_msg *msgs, unsigned n, int timeout_ms)
{
	int k;

	if (n > BRIDGE_BURST)
		n = BRIDGE_BURST;
	switch (r->kind) {
	case SHMBUS_KIND_SPSC: {
		struct shmbus_spsc_msg m[BRIDGE_BURST];

		k = shmbus_spsc_peek_burst(r->h, m, n, timeout_ms);
		COPY_MSGS(m, k);
		return k;
	}
	case SHMBUS_KIND_MPMC: {
		struct shmbus_mpmc_msg m[BRIDGE_BURST];

		k = shmbus_mpmc_peek_burst(r->h, m, n, timeout_ms);
		COPY_MSGS(m, k);
		return k;
	}
	default: {
		struct shmbus_bcast_msg m[BRIDGE_BURST];

		if (r->lossy)
			return lossy_peek(r, msgs, n, timeout_ms);
		k = shmbus_bcast_peek_burst(r->h, m, n, timeout_ms);
		COPY_MSGS(m, k);
		return k;
	}
	}
}

int bridge_ring_release(struct bridge_ring *r, unsigned n)
{
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_release_burst(r->h, n);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_release_burst(r->h, n);
	default:
		return r->lossy ? (int)n : shmbus_bcast_release_burst(r->h, n);
	}
}

uint64_t bridge_ring_missed(struct bridge_ring *r)
{
	struct shmbus_bcast_sub_stats st;
	int index;

	if (r->kind != SHMBUS_KIND_BROADCAST || r->producer)
		return 0;
	index = shmbus_bcast_index(r->h);
	if (index < 0 || shmbus_bcast_sub_stats(r->h, (unsigned)index, &st) != 0)
		return 0;
	return st.dropped;
}

int bridge_ring_push(struct bridge_ring *r, const void *data, size_t len, int timeout_ms)
{
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_push(r->h, data, len, timeout_ms);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_push(r->h, data, len, timeout_ms);
	default:
		return shmbus_bcast_push(r->h, data, len, timeout_ms);
	}
}

size_t bridge_ring_max_msg(struct bridge_ring *r)
{
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_max_msg(r->h);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_slot_size(r->h);
	default:
		return shmbus_bcast_max_msg(r->h);
	}
}

int bridge_ring_reopen_stream(struct bridge_ring *r)
{
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_reopen_stream(r->h);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_reopen_stream(r->h);
	default:
		return shmbus_bcast_reopen_stream(r->h);
	}
}

int bridge_ring_close_stream(struct bridge_ring *r)
{
	switch (r->kind) {
	case SHMBUS_KIND_SPSC:
		return shmbus_spsc_close_stream(r->h);
	case SHMBUS_KIND_MPMC:
		return shmbus_mpmc_close_stream(r->h);
	default:
		return shmbus_bcast_close_stream(r->h);
	}
}
