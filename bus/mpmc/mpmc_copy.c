/*
 * mpmc_copy.c - the copying calls of the mpmc ring (push / pop, single and
 * burst), built on the zero-copy ones.
 *
 * Invariant: a copying call starts and ends with no claim held, so it never
 * mixes its slots with the caller's zero-copy claims.
 */
#include <errno.h>
#include <string.h>

#include "mpmc_internal.h"

struct push_arg {
	const void *data;
	size_t len;
};

static int attempt_push(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	const struct push_arg *a = arg;

	return mpmc_push_one(h, a->data, a->len, why);
}

/* Straight to the ring (mpmc_push_one(): no entry in the claim list, no
 * public call in between): this is the busy path. */
static int push(struct shmbus_mpmc *h, const void *data, size_t len, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (h->role != SHMBUS_MPMC_PRODUCER)
		return -EPERM;
	if (h->nclaims)
		return -EBUSY;
	if (!data && len)
		return -EINVAL;
	if (len > h->slot_size)
		return -EMSGSIZE;
	rc = mpmc_push_one(h, data, len, &why);
	if (rc == -EAGAIN) {
		struct push_arg a = { data, len };

		rc = timeout_ms ? mpmc_blocking(h, attempt_push, &a, *timeout_ms) :
				  mpmc_try_stalled(h, attempt_push, &a, &why);
	}
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_push_try(struct shmbus_mpmc *h, const void *data, size_t len)
{
	return push(h, data, len, NULL);
}

int shmbus_mpmc_push(struct shmbus_mpmc *h, const void *data, size_t len, int timeout_ms)
{
	return push(h, data, len, &timeout_ms);
}

static int push_burst(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs, unsigned n,
		      const int *timeout_ms)
{
	struct shmbus_mpmc_buf bufs[SHMBUS_MPMC_BURST_MAX];
	unsigned i;
	int k, rc;

	if (h->nclaims)
		return -EBUSY;
	if (n == 0)
		return 0;
	if (!msgs)
		return -EINVAL;
	if (n > SHMBUS_MPMC_BURST_MAX)
		n = SHMBUS_MPMC_BURST_MAX;
	for (i = 0; i < n; i++)
		bufs[i].len = msgs[i].len;
	k = timeout_ms ? shmbus_mpmc_reserve_burst(h, bufs, n, *timeout_ms) :
			 shmbus_mpmc_reserve_burst_try(h, bufs, n);
	if (k <= 0)
		return k;
	for (i = 0; i < (unsigned)k; i++) {
		if (msgs[i].len)
			memcpy(bufs[i].data, msgs[i].data, msgs[i].len);
	}
	rc = shmbus_mpmc_commit_bulk(h, bufs, (unsigned)k);
	return rc ? rc : k;
}

int shmbus_mpmc_push_burst_try(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs,
			       unsigned n)
{
	return push_burst(h, msgs, n, NULL);
}

int shmbus_mpmc_push_burst(struct shmbus_mpmc *h, const struct shmbus_mpmc_msg *msgs,
			   unsigned n, int timeout_ms)
{
	return push_burst(h, msgs, n, &timeout_ms);
}

struct pop_arg {
	void *buf;
	size_t size;
};

static int attempt_pop(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	const struct pop_arg *a = arg;

	return mpmc_pop_one(h, a->buf, a->size, why);
}

static int pop(struct shmbus_mpmc *h, void *buf, size_t size, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (h->role != SHMBUS_MPMC_CONSUMER)
		return -EPERM;
	if (h->nclaims)
		return -EBUSY;
	if (!buf && size)
		return -EINVAL;
	rc = mpmc_pop_one(h, buf, size, &why);
	if (rc == -EAGAIN) {
		struct pop_arg a = { buf, size };

		rc = timeout_ms ? mpmc_blocking(h, attempt_pop, &a, *timeout_ms) :
				  mpmc_try_stalled(h, attempt_pop, &a, &why);
	}
	if (rc >= 0)
		mpmc_wake(h, &h->ctl->not_full);
	return rc;
}

int shmbus_mpmc_pop_try(struct shmbus_mpmc *h, void *buf, size_t size)
{
	return pop(h, buf, size, NULL);
}

int shmbus_mpmc_pop(struct shmbus_mpmc *h, void *buf, size_t size, int timeout_ms)
{
	return pop(h, buf, size, &timeout_ms);
}

static int pop_burst(struct shmbus_mpmc *h, void *const *bufs, size_t size, size_t *lens,
		     unsigned n, const int *timeout_ms)
{
	unsigned k, i;
	int rc = 0;

	if (h->role != SHMBUS_MPMC_CONSUMER)
		return -EPERM;
	if (h->nclaims)
		return -EBUSY;
	if (n == 0)
		return 0;
	if (!bufs || !lens)
		return -EINVAL;
	if (n > SHMBUS_MPMC_BURST_MAX)
		n = SHMBUS_MPMC_BURST_MAX;
	/* Only the first may wait; stop before a message that does not fit. */
	for (k = 0; k < n; k++) {
		rc = mpmc_take(h, size, k == 0 ? timeout_ms : NULL);
		if (rc)
			break;
	}
	if (k == 0)
		return rc;
	for (i = 0; i < k; i++) {
		const struct mpmc_claim *cl = &h->claims[(h->first + i) % SHMBUS_MPMC_BURST_MAX];

		lens[i] = cl->len;
		if (cl->len)
			memcpy(bufs[i], mpmc_payload(cl), cl->len);
	}
	rc = shmbus_mpmc_release_burst(h, k);
	return rc < 0 ? rc : (int)k;
}

int shmbus_mpmc_pop_burst_try(struct shmbus_mpmc *h, void *const *bufs, size_t size,
			      size_t *lens, unsigned n)
{
	return pop_burst(h, bufs, size, lens, n, NULL);
}

int shmbus_mpmc_pop_burst(struct shmbus_mpmc *h, void *const *bufs, size_t size, size_t *lens,
			  unsigned n, int timeout_ms)
{
	return pop_burst(h, bufs, size, lens, n, &timeout_ms);
}
