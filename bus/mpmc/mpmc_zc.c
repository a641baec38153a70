/*
 * mpmc_zc.c - the zero-copy calls of the mpmc ring: reserve / commit /
 * cancel for producers, peek / release for consumers, single and burst, try
 * and blocking.  The state machine itself is in mpmc_ring.c.
 *
 * Invariant: a handle's claims are kept oldest first and finished in that
 * order, so a producer's positions are published in the order it claimed
 * them; one wake-up per call covers every slot it finished.
 */
#include <errno.h>

#include "mpmc_internal.h"

static bool is_producer(const struct shmbus_mpmc *h)
{
	return h->role == SHMBUS_MPMC_PRODUCER;
}

void shmbus_mpmc_set_spin(struct shmbus_mpmc *h, unsigned spins)
{
	h->spin = spins;
}

static int attempt_one(struct shmbus_mpmc *h, void *arg, struct mpmc_block_on *why)
{
	size_t len = *(const size_t *)arg;

	return is_producer(h) ? mpmc_claim_one(h, len, why) : mpmc_peek_one(h, len, why);
}

int mpmc_take(struct shmbus_mpmc *h, size_t len, const int *timeout_ms)
{
	struct mpmc_block_on why;
	int rc;

	if (timeout_ms)
		return mpmc_blocking(h, attempt_one, &len, *timeout_ms);
	rc = is_producer(h) ? mpmc_claim_one(h, len, &why) : mpmc_peek_one(h, len, &why);
	if (__builtin_expect(rc != -EAGAIN, 1))
		return rc;
	return mpmc_try_stalled(h, attempt_one, &len, &why);
}

static int reserve(struct shmbus_mpmc *h, size_t len, void **data, const int *timeout_ms)
{
	int rc;

	if (!is_producer(h))
		return -EPERM;
	if (!data)
		return -EINVAL;
	if (len > h->slot_size)
		return -EMSGSIZE;
	rc = mpmc_take(h, len, timeout_ms);
	if (rc)
		return rc;
	*data = mpmc_payload(mpmc_claim_newest(h));
	return 0;
}

int shmbus_mpmc_reserve_try(struct shmbus_mpmc *h, size_t len, void **data)
{
	return reserve(h, len, data, NULL);
}

int shmbus_mpmc_reserve(struct shmbus_mpmc *h, size_t len, void **data, int timeout_ms)
{
	return reserve(h, len, data, &timeout_ms);
}

static int reserve_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs, unsigned n,
			 const int *timeout_ms)
{
	unsigned k;
	int rc;

	if (!is_producer(h))
		return -EPERM;
	if (n == 0)
		return 0;
	if (!bufs)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (bufs[k].len > h->slot_size) {
			rc = -EMSGSIZE;
		} else if (h->nclaims == SHMBUS_MPMC_BURST_MAX) {
			rc = -ENOBUFS;
		} else {
			/* Only the first may wait: a burst takes what fits. */
			rc = mpmc_take(h, bufs[k].len, k == 0 ? timeout_ms : NULL);
		}
		if (rc)
			return k ? (int)k : rc;
		bufs[k].data = mpmc_payload(mpmc_claim_newest(h));
	}
	return (int)k;
}

int shmbus_mpmc_reserve_burst_try(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs,
				  unsigned n)
{
	return reserve_burst(h, bufs, n, NULL);
}

int shmbus_mpmc_reserve_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_buf *bufs, unsigned n,
			      int timeout_ms)
{
	return reserve_burst(h, bufs, n, &timeout_ms);
}

int shmbus_mpmc_commit(struct shmbus_mpmc *h, size_t len)
{
	int rc;

	if (!is_producer(h))
		return -EPERM;
	rc = mpmc_publish_one(h, len);
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_commit_bulk(struct shmbus_mpmc *h, const struct shmbus_mpmc_buf *bufs,
			     unsigned n)
{
	unsigned k;
	int rc = 0;

	if (!is_producer(h))
		return -EPERM;
	if (n > h->nclaims)
		return -EINVAL;
	for (k = 0; bufs && k < n; k++) {
		if (bufs[k].len > h->slot_size)
			return -EINVAL; /* checked first: all or nothing */
	}
	for (k = 0; k < n; k++) {
		size_t len = bufs ? bufs[k].len : mpmc_claim_oldest(h)->len;
		int one = mpmc_publish_one(h, len);

		if (one)
			rc = one; /* -ECANCELED: that claim is gone, go on */
	}
	if (n)
		mpmc_wake(h, &h->ctl->not_empty);
	return rc;
}

int shmbus_mpmc_cancel(struct shmbus_mpmc *h)
{
	int n = 0;

	if (!is_producer(h))
		return -EPERM;
	while (h->nclaims) {
		mpmc_cancel_one(h);
		n++;
	}
	if (n) {
		/* Consumers stopped at a cancelled slot move past it now. */
		mpmc_wake(h, &h->ctl->not_empty);
		mpmc_wake(h, &h->ctl->not_full);
	}
	return n;
}

static int peek(struct shmbus_mpmc *h, const void **data, size_t *len, const int *timeout_ms)
{
	struct mpmc_claim *cl;
	int rc;

	if (is_producer(h))
		return -EPERM;
	if (!data || !len)
		return -EINVAL;
	rc = mpmc_take(h, SIZE_MAX, timeout_ms);
	if (rc)
		return rc;
	cl = mpmc_claim_newest(h);
	*data = mpmc_payload(cl);
	*len = cl->len;
	return 0;
}

int shmbus_mpmc_peek_try(struct shmbus_mpmc *h, const void **data, size_t *len)
{
	return peek(h, data, len, NULL);
}

int shmbus_mpmc_peek(struct shmbus_mpmc *h, const void **data, size_t *len, int timeout_ms)
{
	return peek(h, data, len, &timeout_ms);
}

static int peek_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n,
		      const int *timeout_ms)
{
	unsigned k;
	int rc;

	if (is_producer(h))
		return -EPERM;
	if (n == 0)
		return 0;
	if (!msgs)
		return -EINVAL;
	for (k = 0; k < n; k++) {
		if (h->nclaims == SHMBUS_MPMC_BURST_MAX)
			rc = -ENOBUFS;
		else
			rc = mpmc_take(h, SIZE_MAX, k == 0 ? timeout_ms : NULL);
		if (rc)
			return k ? (int)k : rc;
		msgs[k].data = mpmc_payload(mpmc_claim_newest(h));
		msgs[k].len = mpmc_claim_newest(h)->len;
	}
	return (int)k;
}

int shmbus_mpmc_peek_burst_try(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n)
{
	return peek_burst(h, msgs, n, NULL);
}

int shmbus_mpmc_peek_burst(struct shmbus_mpmc *h, struct shmbus_mpmc_msg *msgs, unsigned n,
			   int timeout_ms)
{
	return peek_burst(h, msgs, n, &timeout_ms);
}

int shmbus_mpmc_release(struct shmbus_mpmc *h)
{
	int rc;

	if (is_producer(h))
		return -EPERM;
	rc = mpmc_release_one(h);
	if (rc == 0)
		mpmc_wake(h, &h->ctl->not_full);
	return rc;
}

int shmbus_mpmc_release_burst(struct shmbus_mpmc *h, unsigned n)
{
	unsigned k;
	int rc = 0;

	if (is_producer(h))
		return -EPERM;
	if (n == 0)
		return 0;
	if (h->nclaims == 0)
		return -EAGAIN;
	if (n > h->nclaims)
		n = h->nclaims; /* a _burst takes what there is */
	for (k = 0; k < n; k++) {
		int one = mpmc_release_one(h);

		if (one)
			rc = one; /* -ECANCELED: that one is gone, go on */
	}
	mpmc_wake(h, &h->ctl->not_full);
	return rc ? rc : (int)n;
}
