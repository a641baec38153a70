/*
 * ring_ops.c - the three ring kinds behind one table of operations, so that
 * ring.c and zone.c are written once.  Each entry is a thin adapter over the
 * public API: timeout 0 picks the _try form, anything else the blocking
 * form.  Where a kind lacks a call (an spsc burst push, an mpmc peek that
 * returns a sequence number), the adapter composes it from public calls.
 * Nothing here touches a Python object: these run without the GIL.
 */
#include "pyshmbus.h"

#include <errno.h>
#include <string.h>

#include <shmbus/broadcast.h>
#include <shmbus/mpmc.h>
#include <shmbus/spsc.h>

/* ------------------------------------------------------------------ spsc */

static int spsc_push(void *h, const void *data, size_t len, int tmo)
{
	return tmo ? shmbus_spsc_push(h, data, len, tmo) : shmbus_spsc_push_try(h, data, len);
}

/* spsc has no copying burst: reserve the prefix that fits, copy, commit at
 * once (one position store, one wake-up), as push_burst does elsewhere. */
static int spsc_push_burst(void *h, const struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_spsc_buf bufs[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	for (unsigned i = 0; i < n; i++)
		bufs[i].len = msgs[i].len;
	int k = tmo ? shmbus_spsc_reserve_burst(h, bufs, n, tmo)
		    : shmbus_spsc_reserve_burst_try(h, bufs, n);
	if (k <= 0)
		return k;
	for (int i = 0; i < k; i++)
		memcpy(bufs[i].data, msgs[i].data, msgs[i].len);
	int rc = shmbus_spsc_commit_bulk(h, NULL, (unsigned)k);
	return rc < 0 ? rc : k;
}

static int spsc_reserve(void *h, size_t len, void **data, int tmo)
{
	return tmo ? shmbus_spsc_reserve(h, len, data, tmo) : shmbus_spsc_reserve_try(h, len, data);
}

static int spsc_commit(void *h, size_t len)
{
	return shmbus_spsc_commit(h, len);
}

/* An spsc reservation that is not committed is dropped by the next reserve. */
static void spsc_cancel(void *h)
{
	(void)h;
}

static int spsc_peek(void *h, struct pymsg *m, unsigned long long *seq,
		     unsigned long long *dropped, int tmo)
{
	*seq = 0;
	*dropped = 0;
	return tmo ? shmbus_spsc_peek(h, &m->data, &m->len, tmo)
		   : shmbus_spsc_peek_try(h, &m->data, &m->len);
}

static int spsc_release(void *h)
{
	return shmbus_spsc_release(h);
}

static int spsc_peek_burst(void *h, struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_spsc_msg m[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	int k = tmo ? shmbus_spsc_peek_burst(h, m, n, tmo) : shmbus_spsc_peek_burst_try(h, m, n);
	for (int i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int spsc_release_burst(void *h, unsigned n)
{
	return shmbus_spsc_release_burst(h, n);
}

static int spsc_pop(void *h, void *buf, size_t size, int tmo)
{
	return tmo ? shmbus_spsc_pop(h, buf, size, tmo) : shmbus_spsc_pop_try(h, buf, size);
}

static int spsc_close_stream(void *h)
{
	return shmbus_spsc_close_stream(h);
}

static int spsc_reopen_stream(void *h)
{
	return shmbus_spsc_reopen_stream(h);
}

static size_t spsc_max_msg(void *h)
{
	return shmbus_spsc_max_msg(h);
}

static void spsc_close(void *h)
{
	shmbus_spsc_close(h);
}

const struct ring_ops pyshmbus_spsc_ops = {
	.kind = "spsc",
	.push = spsc_push, .push_burst = spsc_push_burst,
	.reserve = spsc_reserve, .commit = spsc_commit, .cancel = spsc_cancel,
	.peek = spsc_peek, .release = spsc_release,
	.peek_burst = spsc_peek_burst, .release_burst = spsc_release_burst,
	.pop = spsc_pop,
	.close_stream = spsc_close_stream, .reopen_stream = spsc_reopen_stream,
	.max_msg = spsc_max_msg, .close = spsc_close,
};

/* ------------------------------------------------------------------ mpmc */

static int mpmc_push(void *h, const void *data, size_t len, int tmo)
{
	return tmo ? shmbus_mpmc_push(h, data, len, tmo) : shmbus_mpmc_push_try(h, data, len);
}

static int mpmc_push_burst(void *h, const struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_mpmc_msg m[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		m[i].data = msgs[i].data;
		m[i].len = msgs[i].len;
	}
	return tmo ? shmbus_mpmc_push_burst(h, m, n, tmo) : shmbus_mpmc_push_burst_try(h, m, n);
}

static int mpmc_reserve(void *h, size_t len, void **data, int tmo)
{
	return tmo ? shmbus_mpmc_reserve(h, len, data, tmo) : shmbus_mpmc_reserve_try(h, len, data);
}

static int mpmc_commit(void *h, size_t len)
{
	return shmbus_mpmc_commit(h, len);
}

static void mpmc_cancel(void *h)
{
	(void)shmbus_mpmc_cancel(h);
}

static int mpmc_peek(void *h, struct pymsg *m, unsigned long long *seq,
		     unsigned long long *dropped, int tmo)
{
	*seq = 0;
	*dropped = 0;
	return tmo ? shmbus_mpmc_peek(h, &m->data, &m->len, tmo)
		   : shmbus_mpmc_peek_try(h, &m->data, &m->len);
}

static int mpmc_release(void *h)
{
	return shmbus_mpmc_release(h);
}

static int mpmc_peek_burst(void *h, struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_mpmc_msg m[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	int k = tmo ? shmbus_mpmc_peek_burst(h, m, n, tmo) : shmbus_mpmc_peek_burst_try(h, m, n);
	for (int i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int mpmc_release_burst(void *h, unsigned n)
{
	return shmbus_mpmc_release_burst(h, n);
}

static int mpmc_pop(void *h, void *buf, size_t size, int tmo)
{
	return tmo ? shmbus_mpmc_pop(h, buf, size, tmo) : shmbus_mpmc_pop_try(h, buf, size);
}

static int mpmc_close_stream(void *h)
{
	return shmbus_mpmc_close_stream(h);
}

static int mpmc_reopen_stream(void *h)
{
	return shmbus_mpmc_reopen_stream(h);
}

static size_t mpmc_max_msg(void *h)
{
	return shmbus_mpmc_slot_size(h);
}

static void mpmc_close(void *h)
{
	shmbus_mpmc_close(h);
}

const struct ring_ops pyshmbus_mpmc_ops = {
	.kind = "mpmc",
	.push = mpmc_push, .push_burst = mpmc_push_burst,
	.reserve = mpmc_reserve, .commit = mpmc_commit, .cancel = mpmc_cancel,
	.peek = mpmc_peek, .release = mpmc_release,
	.peek_burst = mpmc_peek_burst, .release_burst = mpmc_release_burst,
	.pop = mpmc_pop,
	.close_stream = mpmc_close_stream, .reopen_stream = mpmc_reopen_stream,
	.max_msg = mpmc_max_msg, .close = mpmc_close,
};

/* ------------------------------------------------------------- broadcast */

static int bcast_push(void *h, const void *data, size_t len, int tmo)
{
	return tmo ? shmbus_bcast_push(h, data, len, tmo) : shmbus_bcast_push_try(h, data, len);
}

static int bcast_push_burst(void *h, const struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_bcast_buf m[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		m[i].data = msgs[i].data;
		m[i].len = msgs[i].len;
	}
	return tmo ? shmbus_bcast_push_burst(h, m, n, tmo) : shmbus_bcast_push_burst_try(h, m, n);
}

static int bcast_reserve(void *h, size_t len, void **data, int tmo)
{
	return tmo ? shmbus_bcast_reserve(h, len, data, tmo)
		   : shmbus_bcast_reserve_try(h, len, data);
}

static int bcast_commit(void *h, size_t len)
{
	return shmbus_bcast_commit(h, len);
}

/* As spsc: the next reserve drops an uncommitted reservation. */
static void bcast_cancel(void *h)
{
	(void)h;
}

static int bcast_peek(void *h, struct pymsg *m, unsigned long long *seq,
		      unsigned long long *dropped, int tmo)
{
	struct shmbus_bcast_msg msg;
	int rc = tmo ? shmbus_bcast_peek(h, &msg, tmo) : shmbus_bcast_peek_try(h, &msg);
	if (rc < 0)
		return rc;
	m->data = msg.data;
	m->len = msg.len;
	*seq = msg.seq;
	*dropped = msg.dropped;
	return rc;
}

static int bcast_release(void *h)
{
	return shmbus_bcast_release(h);
}

static int bcast_peek_burst(void *h, struct pymsg *msgs, unsigned n, int tmo)
{
	struct shmbus_bcast_msg m[PYSHMBUS_BURST_MAX];
	if (n > PYSHMBUS_BURST_MAX)
		n = PYSHMBUS_BURST_MAX;
	int k = tmo ? shmbus_bcast_peek_burst(h, m, n, tmo) : shmbus_bcast_peek_burst_try(h, m, n);
	for (int i = 0; i < k; i++) {
		msgs[i].data = m[i].data;
		msgs[i].len = m[i].len;
	}
	return k;
}

static int bcast_release_burst(void *h, unsigned n)
{
	return shmbus_bcast_release_burst(h, n);
}

static int bcast_pop(void *h, void *buf, size_t size, int tmo)
{
	return tmo ? shmbus_bcast_pop(h, buf, size, NULL, tmo)
		   : shmbus_bcast_pop_try(h, buf, size, NULL);
}

static int bcast_close_stream(void *h)
{
	return shmbus_bcast_close_stream(h);
}

static int bcast_reopen_stream(void *h)
{
	return shmbus_bcast_reopen_stream(h);
}

static size_t bcast_max_msg(void *h)
{
	return shmbus_bcast_max_msg(h);
}

static void bcast_close(void *h)
{
	shmbus_bcast_close(h);
}

const struct ring_ops pyshmbus_bcast_ops = {
	.kind = "broadcast",
	.push = bcast_push, .push_burst = bcast_push_burst,
	.reserve = bcast_reserve, .commit = bcast_commit, .cancel = bcast_cancel,
	.peek = bcast_peek, .release = bcast_release,
	.peek_burst = bcast_peek_burst, .release_burst = bcast_release_burst,
	.pop = bcast_pop,
	.close_stream = bcast_close_stream, .reopen_stream = bcast_reopen_stream,
	.max_msg = bcast_max_msg, .close = bcast_close,
};
