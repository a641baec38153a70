/*
 * tu_mpmc.h - what the mpmc stream tests share: a self-checking
 * message (producer, sequence, length-varying filler, checksum) and the
 * exactly-once / per-producer-order check over what consumers logged.
 */
#ifndef SHMBUS_TU_MPMC_H
#define SHMBUS_TU_MPMC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Message head; the filler after it is derived from (producer, seq). */
struct tu_mpmc_msg {
	uint32_t producer;
	uint32_t len;      /* whole message, head included */
	uint64_t seq;
	uint64_t check;    /* FNV-1a of everything but this field */
};

/* One delivery, as a consumer logs it. */
struct tu_mpmc_entry {
	uint32_t producer;
	uint32_t seq;
};

static inline uint64_t tu_mpmc_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

static inline uint64_t tu_mpmc_checksum(const struct tu_mpmc_msg *m)
{
	uint64_t h = UINT64_C(14695981039346656037);

	h = tu_mpmc_fnv(h, m, offsetof(struct tu_mpmc_msg, check));
	return tu_mpmc_fnv(h, m + 1, m->len - sizeof(*m));
}

/* Build message (@producer, @seq) of a length between sizeof head and @max. */
static inline size_t tu_mpmc_build(void *buf, size_t max, uint32_t producer, uint64_t seq)
{
	struct tu_mpmc_msg *m = buf;
	size_t len = sizeof(*m) + (size_t)((seq * 7 + producer) % (max - sizeof(*m) + 1));
	unsigned char *f = (unsigned char *)(m + 1);
	size_t i;

	m->producer = producer;
	m->len = (uint32_t)len;
	m->seq = seq;
	for (i = 0; i < len - sizeof(*m); i++)
		f[i] = (unsigned char)(seq + producer * 13 + i);
	m->check = tu_mpmc_checksum(m);
	return len;
}

/* Whether (@buf, @len) is an intact message. */
static inline bool tu_mpmc_valid(const void *buf, size_t len)
{
	struct tu_mpmc_msg m;

	if (len < sizeof(m))
		return false;
	memcpy(&m, buf, sizeof(m));
	if (m.len != len)
		return false;
	return tu_mpmc_checksum(buf) == m.check;
}

/*
 * tu_mpmc_check_logs - every (p, s) for s < @sent[p] must appear exactly once in
 * the @nlogs logs (log i has @counts[i] entries), and within each log each
 * producer's sequence numbers must increase.  Returns 0, or a short reason
 * in @why (and a nonzero value).
 */
static inline int tu_mpmc_check_logs(const struct tu_mpmc_entry *const *logs, const uint64_t *counts,
				unsigned nlogs, const uint64_t *sent, unsigned nprod,
				char *why, size_t whylen)
{
	uint64_t total = 0, off[64];
	unsigned char *seen;
	unsigned i, p;
	uint64_t j;

	if (nprod > 64)
		return snprintf(why, whylen, "too many producers"), 1;
	for (p = 0; p < nprod; p++) {
		off[p] = total;
		total += sent[p];
	}
	seen = calloc(total ? total : 1, 1);
	for (i = 0; i < nlogs; i++) {
		int64_t last[64];

		for (p = 0; p < nprod; p++)
			last[p] = -1;
		for (j = 0; j < counts[i]; j++) {
			const struct tu_mpmc_entry *e = &logs[i][j];

			if (e->producer >= nprod || e->seq >= sent[e->producer]) {
				snprintf(why, whylen, "log %u: unknown message %u/%u", i,
					 e->producer, e->seq);
				goto fail;
			}
			if ((int64_t)e->seq <= last[e->producer]) {
				snprintf(why, whylen, "log %u: producer %u out of order (%u after %lld)",
					 i, e->producer, e->seq, (long long)last[e->producer]);
				goto fail;
			}
			last[e->producer] = e->seq;
			if (seen[off[e->producer] + e->seq]++) {
				snprintf(why, whylen, "message %u/%u delivered twice", e->producer,
					 e->seq);
				goto fail;
			}
		}
	}
	for (j = 0; j < total; j++) {
		if (!seen[j]) {
			snprintf(why, whylen, "message #%llu never delivered",
				 (unsigned long long)j);
			goto fail;
		}
	}
	free(seen);
	return 0;
fail:
	free(seen);
	return 1;
}

#endif
