/*
 * test_mpmc.c - the mpmc ring, one process (plus short-lived children for
 * the crash cases): create/open checks, empty, full, wrap, bursts, slot-size
 * limits, roles, participant table full, takeover and recovery of a dead
 * holder's slot, cancel, corrupt state (an error, never a crash), the test
 * hooks, stats and the inspect document.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"
#include "tu_mpmc_unit.h"

static void test_create_params(void **state)
{
	struct shmbus_mpmc_params p = { .slots = 8, .slot_size = 64 };
	struct shmbus_mpmc *h;
	struct shmbus_block *b;
	const char *name = tu_name("params");

	(void)state;
	assert_int_equal(shmbus_mpmc_create(NULL, &p), -EINVAL);
	assert_int_equal(shmbus_mpmc_create(name, NULL), -EINVAL);
	p.slots = 6;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.slots = 1;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.slots = SHMBUS_MPMC_SLOTS_MAX * 2;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.slots = 8;
	p.slot_size = 0;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.slot_size = SHMBUS_MPMC_SLOT_SIZE_MAX + 1;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.slot_size = 64;
	p.liveness_ms = SHMBUS_MPMC_LIVENESS_MAX_MS + 1;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.liveness_ms = 0;
	p.participants = SHMBUS_MPMC_PARTICIPANTS_MAX + 1;
	assert_int_equal(shmbus_mpmc_create(name, &p), -EINVAL);
	p.participants = 0;
	/* Nothing was left behind by the failures. */
	assert_int_equal(shmbus_block_attach(&b, name, 0), -ENOENT);
	assert_int_equal(shmbus_mpmc_create(name, &p), 0);
	assert_int_equal(shmbus_mpmc_create(name, &p), -EEXIST);
	h = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	assert_int_equal(shmbus_mpmc_slots(h), 8);
	assert_int_equal(shmbus_mpmc_slot_size(h), 64);
	assert_int_equal(shmbus_mpmc_liveness_ms(h), SHMBUS_MPMC_LIVENESS_DEFAULT_MS);
	assert_int_equal(tu_mpmc_stats_of(h).participants_max, SHMBUS_MPMC_PARTICIPANTS_DEFAULT);
	shmbus_mpmc_close(h);
	shmbus_mpmc_close(NULL); /* accepted, does nothing */
}

static void test_open_checks(void **state)
{
	const char *name = tu_mpmc_make("open", 4, 16, 0, 0);
	const char *raw = tu_name("raw");
	struct shmbus_mpmc *h = (struct shmbus_mpmc *)1;
	struct shmbus_block *b;

	(void)state;
	assert_int_equal(shmbus_mpmc_open(&h, name, 0), -EINVAL);
	assert_null(h);
	assert_int_equal(shmbus_mpmc_open(&h, name, 3), -EINVAL);
	assert_int_equal(shmbus_mpmc_open(NULL, name, SHMBUS_MPMC_PRODUCER), -EINVAL);
	assert_int_equal(shmbus_mpmc_open(&h, tu_name("none"), SHMBUS_MPMC_PRODUCER), -ENOENT);
	assert_int_equal(shmbus_block_create(&b, raw, 4096, 0), 0);
	shmbus_block_close(b);
	assert_true(shmbus_mpmc_open(&h, raw, SHMBUS_MPMC_CONSUMER) < 0);
	assert_null(h);
}

static void test_empty(void **state)
{
	const char *name = tu_mpmc_make("empty", 4, 32, 0, 0);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	const void *data;
	char buf[32];
	size_t len;

	(void)state;
	assert_int_equal(shmbus_mpmc_peek_try(c, &data, &len), -EAGAIN);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	assert_int_equal(shmbus_mpmc_peek(c, &data, &len, 0), -ETIMEDOUT);
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 20), -ETIMEDOUT);
	assert_int_equal(shmbus_mpmc_release(c), -EAGAIN);
	assert_true(tu_mpmc_stats_of(c).empty_waits >= 2);
	assert_int_equal(tu_mpmc_stats_of(c).occupancy, 0);
	shmbus_mpmc_close(c);
}

static void test_full(void **state)
{
	const char *name = tu_mpmc_make("full", 4, 32, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[32];
	void *data;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(shmbus_mpmc_push_try(p, &i, sizeof(i)), 0);
	assert_int_equal(tu_mpmc_stats_of(p).occupancy, 4);
	assert_int_equal(shmbus_mpmc_push_try(p, &i, sizeof(i)), -EAGAIN);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 4, &data), -EAGAIN);
	assert_int_equal(shmbus_mpmc_push(p, &i, sizeof(i), 20), -ETIMEDOUT);
	assert_true(tu_mpmc_stats_of(p).full_waits >= 1);
	/* One out, one more in; then the order is kept. */
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), sizeof(int));
	assert_int_equal(*(int *)buf, 0);
	assert_int_equal(shmbus_mpmc_push_try(p, &i, sizeof(i)), 0);
	for (i = 1; i <= 4; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), sizeof(int));
		assert_int_equal(*(int *)buf, i);
	}
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void fill_pattern(unsigned char *b, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(seed * 31 + i * 7);
}

static void test_wrap_many_laps(void **state)
{
	const char *name = tu_mpmc_make("wrap", 8, 100, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	unsigned char in[100], out[100], want[100];
	unsigned i, sent = 0, got = 0;
	struct shmbus_mpmc_stats st;
	uint64_t bytes = 0;

	(void)state;
	/* Uneven batches so the full and empty edges fall everywhere. */
	while (got < 1000) {
		unsigned batch = 1 + (sent * 7) % 8;

		for (i = 0; i < batch && sent < 1000; i++) {
			size_t len = sent % 101;

			fill_pattern(in, len, sent);
			if (shmbus_mpmc_push_try(p, in, len) == -EAGAIN)
				break;
			bytes += len;
			sent++;
		}
		for (i = 0; i < 1 + got % 5 && got < sent; i++) {
			int n = shmbus_mpmc_pop_try(c, out, sizeof(out));

			assert_int_equal(n, got % 101);
			fill_pattern(want, (size_t)n, got);
			assert_memory_equal(out, want, (size_t)n);
			got++;
		}
	}
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.msgs_in, 1000);
	assert_int_equal(st.msgs_out, 1000);
	assert_int_equal(st.bytes_in, bytes);
	assert_int_equal(st.bytes_out, bytes);
	assert_int_equal(st.head, 1000);
	assert_int_equal(st.tail, 1000);
	assert_int_equal(st.lost, 0);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_bursts(void **state)
{
	const char *name = tu_mpmc_make("burst", 8, 16, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc_buf bufs[12];
	struct shmbus_mpmc_msg msgs[12];
	char out[12][16], *outs[12];
	size_t lens[12];
	int i, n;

	(void)state;
	for (i = 0; i < 12; i++) {
		bufs[i].len = (size_t)i;
		outs[i] = out[i];
	}
	/* Takes what fits: 8 of 12. */
	n = shmbus_mpmc_reserve_burst_try(p, bufs, 12);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		memset(bufs[i].data, 'a' + i, bufs[i].len);
	assert_int_equal(shmbus_mpmc_commit_bulk(p, NULL, 9), -EINVAL);
	assert_int_equal(shmbus_mpmc_commit_bulk(p, bufs, 5), 0);
	/* 3 still held; commit them with shorter lengths. */
	bufs[5].len = 1;
	assert_int_equal(shmbus_mpmc_commit_bulk(p, bufs + 5, 3), 0);
	assert_int_equal(shmbus_mpmc_commit(p, 1), -EINVAL); /* nothing held */

	n = shmbus_mpmc_peek_burst_try(c, msgs, 3);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(msgs[i].len, (size_t)i);
	assert_int_equal(shmbus_mpmc_release_burst(c, 0), 0);
	assert_int_equal(shmbus_mpmc_release_burst(c, 2), 2);
	/* A burst takes what there is: 1 held, 4 asked. */
	assert_int_equal(shmbus_mpmc_release_burst(c, 4), 1);
	assert_int_equal(shmbus_mpmc_release_burst(c, 1), -EAGAIN);
	n = shmbus_mpmc_peek_burst(c, msgs, 12, 100);
	assert_int_equal(n, 5);
	assert_int_equal(msgs[2].len, 1);
	assert_memory_equal(msgs[2].data, "f", 1);
	assert_int_equal(shmbus_mpmc_release_burst(c, 5), 5);
	assert_int_equal(shmbus_mpmc_peek_burst_try(c, msgs, 4), -EAGAIN);
	assert_int_equal(shmbus_mpmc_peek_burst_try(c, msgs, 0), 0);

	/* Copying bursts. */
	for (i = 0; i < 12; i++) {
		msgs[i].data = "0123456789abcdef";
		msgs[i].len = (size_t)i + 1;
	}
	assert_int_equal(shmbus_mpmc_push_burst_try(p, msgs, 12), 8);
	assert_int_equal(shmbus_mpmc_push_burst_try(p, msgs, 12), -EAGAIN);
	assert_int_equal(shmbus_mpmc_pop_burst_try(c, (void *const *)outs, 16, lens, 5), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(lens[i], (size_t)i + 1);
		assert_memory_equal(out[i], "0123456789abcdef", lens[i]);
	}
	assert_int_equal(shmbus_mpmc_push_burst(p, msgs, 12, 100), 5);
	assert_int_equal(shmbus_mpmc_pop_burst(c, (void *const *)outs, 16, lens, 12, 100), 8);
	assert_int_equal(lens[2], 8);
	assert_int_equal(lens[3], 1);
	assert_int_equal(tu_mpmc_stats_of(c).occupancy, 0);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_slot_size_limits(void **state)
{
	const char *name = tu_mpmc_make("size", 4, 24, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char big[25], out[25];
	const void *data;
	void *w;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(shmbus_mpmc_push_try(p, big, 25), -EMSGSIZE);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 25, &w), -EMSGSIZE);
	assert_int_equal(shmbus_mpmc_push_try(p, big, 24), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, NULL, 0), 0);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 10, &w), 0);
	assert_true(((uintptr_t)w & 15) == 0);
	memset(w, 'y', 24); /* the whole slot is writable */
	assert_int_equal(shmbus_mpmc_commit(p, 25), -EINVAL);
	assert_int_equal(shmbus_mpmc_commit(p, 24), 0);

	/* Too long for the buffer: not taken, still there for a bigger one. */
	assert_int_equal(shmbus_mpmc_pop_try(c, out, 23), -EMSGSIZE);
	assert_int_equal(shmbus_mpmc_pop_try(c, out, 24), 24);
	assert_memory_equal(out, big, 24);
	assert_int_equal(shmbus_mpmc_pop_try(c, out, 0), 0);
	assert_int_equal(shmbus_mpmc_peek_try(c, &data, &len), 0);
	assert_int_equal(len, 24);
	assert_int_equal(((const char *)data)[23], 'y');
	/* Copying calls refuse while zero-copy claims are held. */
	assert_int_equal(shmbus_mpmc_pop_try(c, out, sizeof(out)), -EBUSY);
	assert_int_equal(shmbus_mpmc_release(c), 0);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, big, 1), -EBUSY);
	assert_int_equal(shmbus_mpmc_cancel(p), 1);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_roles(void **state)
{
	const char *name = tu_mpmc_make("roles", 4, 8, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc_msg m = { "x", 1 };
	const void *data;
	char buf[8];
	size_t len;
	void *w;

	(void)state;
	assert_int_equal(shmbus_mpmc_reserve_try(c, 1, &w), -EPERM);
	assert_int_equal(shmbus_mpmc_push_try(c, "x", 1), -EPERM);
	assert_int_equal(shmbus_mpmc_push_burst_try(c, &m, 1), -EPERM);
	assert_int_equal(shmbus_mpmc_commit(c, 1), -EPERM);
	assert_int_equal(shmbus_mpmc_cancel(c), -EPERM);
	assert_int_equal(shmbus_mpmc_peek_try(p, &data, &len), -EPERM);
	assert_int_equal(shmbus_mpmc_pop_try(p, buf, sizeof(buf)), -EPERM);
	assert_int_equal(shmbus_mpmc_release(p), -EPERM);
	assert_int_equal(tu_mpmc_stats_of(p).producers, 1);
	assert_int_equal(tu_mpmc_stats_of(p).consumers, 1);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_participants_full(void **state)
{
	const char *name = tu_mpmc_make("parts", 4, 8, 0, 2);
	struct shmbus_mpmc *a = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *b = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc *c = NULL;

	(void)state;
	assert_int_not_equal(shmbus_mpmc_index(a), shmbus_mpmc_index(b));
	assert_int_equal(shmbus_mpmc_open(&c, name, SHMBUS_MPMC_CONSUMER), -EUSERS);
	assert_null(c);
	shmbus_mpmc_close(a);
	c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	shmbus_mpmc_close(b);
	shmbus_mpmc_close(c);
}

struct child_arg {
	const char *name;
	enum shmbus_mpmc_role role;
	int pipe_fd;         /* the child writes one byte when ready (or -1) */
	bool hold;           /* keep the claim and sleep until killed */
};

/*
 * A child that claims (producer: reserves and half-writes; consumer: peeks)
 * and then either exits at once, holding the claim, or sleeps holding it.
 */
static int child_claims(void *arg)
{
	struct child_arg *a = arg;
	struct shmbus_mpmc *h;
	const void *data;
	size_t len;
	void *w;
	int rc;

	if (shmbus_mpmc_open(&h, a->name, a->role))
		return 2;
	if (a->role == SHMBUS_MPMC_PRODUCER) {
		rc = shmbus_mpmc_reserve(h, 8, &w, 5000);
		if (rc == 0)
			memcpy(w, "dead", 4);
	} else {
		rc = shmbus_mpmc_peek(h, &data, &len, 5000);
	}
	if (rc)
		return 3;
	if (a->pipe_fd >= 0 && write(a->pipe_fd, "r", 1) != 1)
		return 4;
	while (a->hold)
		pause();
	return 0; /* exit holding the claim, as if killed */
}

static void wait_ready(int fd)
{
	char c;

	assert_int_equal(read(fd, &c, 1), 1);
}

static void test_takeover_dead_entry(void **state)
{
	/* One entry only: the next open must take over the dead one. */
	const char *name = tu_mpmc_make("takeover", 4, 8, 50, 1);
	struct child_arg a = { name, SHMBUS_MPMC_PRODUCER, -1, false };
	struct shmbus_mpmc *c, *p;
	struct shmbus_mpmc_stats st;
	char buf[8];

	(void)state;
	assert_int_equal(tu_wait(tu_spawn(child_claims, &a)), 0);
	c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.lost, 1);        /* the claim the dead one held */
	assert_int_equal(st.recovered, 1);   /* its entry, taken over at open */
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	shmbus_mpmc_close(c);
	p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	assert_int_equal(shmbus_mpmc_push_try(p, "ok", 2), 0);
	shmbus_mpmc_close(p);
	c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "ok", 2);
	shmbus_mpmc_close(c);
}

/* A slow (live) producer keeps its slot; once killed, its slot is skipped. */
static void test_dead_producer_skipped(void **state)
{
	const char *name = tu_mpmc_make("deadprod", 4, 8, 30, 8);
	struct child_arg a = { name, SHMBUS_MPMC_PRODUCER, -1, true };
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	int fds[2];
	char buf[8];
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	a.pipe_fd = fds[1];
	pid = tu_spawn(child_claims, &a);
	wait_ready(fds[0]);
	assert_int_equal(shmbus_mpmc_push_try(p, "after", 5), 0);
	/* Three liveness timeouts: the child is alive, so it keeps its slot
	 * and the message behind it waits. */
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 100), -ETIMEDOUT);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 0);
	kill(pid, SIGKILL);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 10000), 5);
	assert_memory_equal(buf, "after", 5);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	assert_int_equal(tu_mpmc_stats_of(c).recovered, 1);
	close(fds[0]);
	close(fds[1]);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* A consumer dies holding a message: producers free its slot a lap later;
 * a poller (try calls only) gets there too. */
static void test_dead_consumer_freed(void **state)
{
	const char *name = tu_mpmc_make("deadcons", 2, 8, 20, 8);
	struct child_arg a = { name, SHMBUS_MPMC_CONSUMER, -1, false };
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[8];
	int rc, i;

	(void)state;
	assert_int_equal(shmbus_mpmc_push_try(p, "m0", 2), 0);
	assert_int_equal(tu_wait(tu_spawn(child_claims, &a)), 0); /* took m0, died */
	assert_int_equal(shmbus_mpmc_push_try(p, "m1", 2), 0);
	/* Slot of m0 is held by the dead consumer: full for now. */
	assert_int_equal(shmbus_mpmc_push_try(p, "m2", 2), -EAGAIN);
	for (i = 0; i < 10000; i++) {
		rc = shmbus_mpmc_push_try(p, "m2", 2);
		if (rc != -EAGAIN)
			break;
		usleep(1000);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(tu_mpmc_stats_of(p).lost, 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "m1", 2);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
	assert_memory_equal(buf, "m2", 2);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_recover_now(void **state)
{
	const char *name = tu_mpmc_make("recover", 8, 8, 60000, 8);
	struct child_arg a = { name, SHMBUS_MPMC_PRODUCER, -1, false };
	struct child_arg b = { name, SHMBUS_MPMC_CONSUMER, -1, false };
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc_stats st;
	void *w;

	(void)state;
	assert_int_equal(shmbus_mpmc_push_try(p, "x", 1), 0);
	assert_int_equal(tu_wait(tu_spawn(child_claims, &b)), 0);  /* holds "x" */
	assert_int_equal(tu_wait(tu_spawn(child_claims, &a)), 0);  /* holds a slot */
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);    /* ours: live */
	assert_int_equal(shmbus_mpmc_recover(c), 2);
	assert_int_equal(shmbus_mpmc_recover(c), 0);
	st = tu_mpmc_stats_of(c);
	assert_int_equal(st.lost, 2);
	assert_int_equal(st.recovered, 2);
	assert_int_equal(shmbus_mpmc_commit(p, 1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, &st, sizeof(st)), 1);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/*
 * A recoverer killed half-way: it had taken over the dead producer's entry
 * and journalled the slot it was recovering; either its CAS happened or not.
 * Either way `lost` must come out exact, and the next recovery settles it.
 */
static void journal_case(bool cas_done)
{
	const char *name = tu_mpmc_make(cas_done ? "journal1" : "journal0", 4, 8, 60000, 8);
	struct child_arg a = { name, SHMBUS_MPMC_PRODUCER, -1, false };
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_snapshot *snap;
	struct mpmc_slot *s = mpmc_slot_at(c, 0);
	struct mpmc_pstats *ps;
	uint64_t w, want;
	uint32_t owner;
	char *json;

	assert_int_equal(tu_wait(tu_spawn(child_claims, &a)), 0);
	w = atomic_load(&s->word);
	assert_int_equal(mpmc_word_state(w), MPMC_WRITING);
	owner = mpmc_word_owner(w);
	ps = &c->pstats[owner];
	/* What the dead agent left: journal, pending, maybe the CAS. */
	atomic_store(&ps->jslot, 0);
	atomic_store(&ps->jword, w);
	atomic_store(&ps->lost, MPMC_LOST_PENDING);
	if (cas_done)
		atomic_store(&s->word, mpmc_word(mpmc_word_lap(w) + 1, 0, MPMC_EMPTY));
	want = cas_done ? 1 : 0;
	assert_int_equal(tu_mpmc_stats_of(c).lost, want);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(strstr(json, cas_done ? "\"lost\":1" : "\"lost\":0"));
	free(json);
	shmbus_snapshot_free(snap);
	/* The sweep settles it: counted once, never twice. */
	assert_true(shmbus_mpmc_recover(c) >= 0);
	assert_int_equal(atomic_load(&ps->lost), 2);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	assert_int_equal(tu_mpmc_stats_of(c).recovered, 1);
	assert_int_equal(mpmc_word_state(atomic_load(&s->word)), MPMC_EMPTY);
	assert_int_equal(shmbus_mpmc_recover(c), 0);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	shmbus_mpmc_close(c);
}

static void test_recovery_journal(void **state)
{
	(void)state;
	journal_case(true);
	journal_case(false);
}

static void test_cancel(void **state)
{
	const char *name = tu_mpmc_make("cancel", 4, 8, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[8];
	void *w;

	(void)state;
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	assert_int_equal(shmbus_mpmc_cancel(p), 2);
	assert_int_equal(shmbus_mpmc_cancel(p), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, "k", 1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'k');
	assert_int_equal(tu_mpmc_stats_of(c).lost, 0);
	/* Closing a producer that holds claims gives them back too. */
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	shmbus_mpmc_close(p);
	p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	assert_int_equal(shmbus_mpmc_push_try(p, "z", 1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'z');
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_own_slot_deadlock(void **state)
{
	const char *name = tu_mpmc_make("deadlk", 2, 8, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	const void *d;
	size_t len;
	void *w;

	(void)state;
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), -EDEADLK);
	assert_int_equal(shmbus_mpmc_reserve(p, 1, &w, -1), -EDEADLK);
	assert_int_equal(shmbus_mpmc_commit(p, 1), 0);
	assert_int_equal(shmbus_mpmc_commit(p, 1), 0);
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), 0);
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, "a", 1), -EAGAIN);
	assert_int_equal(shmbus_mpmc_release_burst(c, 2), 2);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* Poke the mapping of @name directly, as a buggy or hostile peer would. */
static struct mpmc_ctl *raw_ctl(const char *name, struct shmbus_block **b)
{
	void *data;

	assert_int_equal(shmbus_block_attach(b, name, 0), 0);
	assert_int_equal(shmbus_block_data(*b, &data), 0);
	return (struct mpmc_ctl *)((char *)data + MPMC_CTL_OFF);
}

static struct mpmc_slot *raw_slot(struct mpmc_ctl *ctl, uint32_t i)
{
	return (struct mpmc_slot *)((char *)ctl - MPMC_CTL_OFF + ctl->geom.slots_off +
				    (size_t)i * ctl->geom.slot_stride);
}

static void test_corrupt_state(void **state)
{
	const char *name = tu_mpmc_make("corrupt", 4, 8, 0, 4);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_mpmc *x = NULL;
	struct shmbus_snapshot *snap;
	struct shmbus_block *b;
	struct mpmc_ctl *ctl = raw_ctl(name, &b);
	const void *d;
	char buf[8];
	size_t len;
	void *w;
	char *json;

	(void)state;
	/* Geometry: refused at open.  (A slot size that still fits the stored
	 * stride would be harmless; one that does not is not.) */
	ctl->geom.slot_size = 100;
	assert_int_equal(shmbus_mpmc_open(&x, name, SHMBUS_MPMC_CONSUMER), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	shmbus_snapshot_free(snap);
	ctl->geom.slot_size = 8;
	ctl->geom.magic = 0;
	assert_int_equal(shmbus_mpmc_open(&x, name, SHMBUS_MPMC_CONSUMER), -SHMBUS_ECORRUPT);
	ctl->geom.magic = MPMC_GEOM_MAGIC;
	ctl->geom.liveness_ms = 0;
	assert_int_equal(shmbus_mpmc_open(&x, name, SHMBUS_MPMC_CONSUMER), -SHMBUS_ECORRUPT);
	ctl->geom.liveness_ms = 100;

	/* A state value that does not exist. */
	atomic_store(&raw_slot(ctl, 0)->word, 7);
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(strstr(json, "\"invalid\":1"));
	free(json);
	shmbus_snapshot_free(snap);
	/* An owner index outside the table. */
	atomic_store(&raw_slot(ctl, 0)->word, mpmc_word(0, 100, MPMC_WRITING));
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_mpmc_recover(c), -SHMBUS_ECORRUPT);
	/* A lap from far away. */
	atomic_store(&raw_slot(ctl, 0)->word, mpmc_word(12345, 0, MPMC_EMPTY));
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), -SHMBUS_ECORRUPT);
	atomic_store(&raw_slot(ctl, 0)->word, 0);

	/* Positions from nowhere. */
	atomic_store(&ctl->tail.value, 1000003);
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_mpmc_push(p, "a", 1, 50), -SHMBUS_ECORRUPT);
	atomic_store(&ctl->tail.value, 0);
	atomic_store(&ctl->head.value, 1000003);
	assert_int_equal(shmbus_mpmc_pop(c, buf, sizeof(buf), 50), -SHMBUS_ECORRUPT);
	atomic_store(&ctl->head.value, 0);

	/* A published length longer than the slot: dropped, counted, the
	 * ring goes on. */
	assert_int_equal(shmbus_mpmc_push_try(p, "a", 1), 0);
	assert_int_equal(shmbus_mpmc_push_try(p, "b", 1), 0);
	atomic_store(&raw_slot(ctl, 0)->len, 1000);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'b');

	/* The lap moved under a live owner (as if recovered): its commit
	 * must fail rather than publish into a slot that is not its own. */
	assert_int_equal(shmbus_mpmc_reserve_try(p, 1, &w), 0);
	atomic_store(&raw_slot(ctl, 2)->word, mpmc_word(1, 0, MPMC_EMPTY));
	assert_int_equal(shmbus_mpmc_commit(p, 1), -ECANCELED);
	shmbus_block_close(b);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

/* xorshift64*: a fixed sequence, so a failure can be replayed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

/* Every call on a ring whose bytes were scribbled on must come back with a
 * result or an error: no crash, no hang, no out-of-bounds access (ASan). */
static void exercise(const char *name)
{
	struct shmbus_mpmc *p = NULL, *c = NULL;
	struct shmbus_mpmc_stats st;
	struct shmbus_snapshot *snap;
	struct shmbus_mpmc_msg m[4];
	char buf[64];
	const void *d;
	size_t len;
	void *w;
	int i;

	if (shmbus_snapshot_take(name, &snap) == 0) {
		free(shmbus_snapshot_json(snap, 0));
		shmbus_snapshot_free(snap);
	}
	if (shmbus_mpmc_open(&p, name, SHMBUS_MPMC_PRODUCER) == 0) {
		for (i = 0; i < 8; i++) {
			if (shmbus_mpmc_push_try(p, "x", 1)) { /* errors are fine */ }
			if (shmbus_mpmc_reserve_try(p, 4, &w) == 0)
				if (shmbus_mpmc_commit(p, 4)) { /* nor is this one */ }
		}
		if (shmbus_mpmc_push(p, "y", 1, 0)) { /* a timeout 0 call too */ }
		if (shmbus_mpmc_recover(p) < 0) { /* corrupt: reported */ }
		shmbus_mpmc_stats(p, &st);
	}
	if (shmbus_mpmc_open(&c, name, SHMBUS_MPMC_CONSUMER) == 0) {
		for (i = 0; i < 8; i++) {
			if (shmbus_mpmc_pop_try(c, buf, sizeof(buf))) { /* any result */ }
			if (shmbus_mpmc_peek_try(c, &d, &len) == 0) {
				assert_true(len <= 64);
				memcpy(buf, d, len); /* in bounds: ASan checks */
				if (shmbus_mpmc_release(c)) { /* any result */ }
			}
			if (shmbus_mpmc_peek_burst_try(c, m, 4) > 0)
				if (shmbus_mpmc_release_burst(c, 1)) { /* the rest: close */ }
		}
		if (shmbus_mpmc_pop(c, buf, sizeof(buf), 0)) { /* any result */ }
	}
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

static void test_corrupt_random(void **state)
{
	const unsigned rounds = tu_sanitized() ? 150 : 400;
	const char *env = getenv("SHMBUS_MPMC_SEED"); /* to explore other sequences */
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) | 1 : 0x5eed;
	unsigned r, k;

	(void)state;
	for (r = 0; r < rounds; r++) {
		const char *name = tu_mpmc_make("scribble", 8, 64, 1, 4);
		struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
		struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
		struct shmbus_block *b;
		const void *d;
		unsigned char *base;
		size_t size, len;
		void *data;

		for (k = 0; k < 5; k++)
			assert_int_equal(shmbus_mpmc_push_try(p, "abcdefgh", 8), 0);
		assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), 0);
		assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
		assert_int_equal(shmbus_block_data(b, &data), 0);
		base = data;
		size = shmbus_block_size(b);
		/* A few words anywhere past the common header (mostly), or
		 * single bytes. */
		for (k = 0; k < 1 + rnd(&seed) % 6; k++) {
			uint64_t off = SHMBUS_HEADER_SIZE + rnd(&seed) % (size - SHMBUS_HEADER_SIZE - 8);

			if (rnd(&seed) % 2)
				memcpy(base + (off & ~(uint64_t)7), &seed, 8);
			else
				base[off] ^= (unsigned char)(1u << (rnd(&seed) % 8));
		}
		/* The live handles must survive it too. */
		if (shmbus_mpmc_release(c)) { /* any result */ }
		if (shmbus_mpmc_push_try(p, "z", 1)) { /* any result */ }
		shmbus_mpmc_close(p);
		shmbus_mpmc_close(c);
		exercise(name);
		shmbus_block_close(b);
		assert_int_equal(shmbus_block_unlink(name), 0);
	}
}

static int hook_seen[5];

static void count_hook(enum mpmc_hook_point point, struct shmbus_mpmc *h)
{
	(void)h;
	hook_seen[point]++;
}

static void test_hooks(void **state)
{
	const char *name = tu_mpmc_make("hooks", 4, 8, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char buf[8];

	(void)state;
	atomic_store(&mpmc_test_hook, count_hook);
	assert_int_equal(shmbus_mpmc_push_try(p, "h", 1), 0);
	assert_int_equal(hook_seen[MPMC_HOOK_CLAIMED], 1);
	assert_int_equal(hook_seen[MPMC_HOOK_WRITTEN], 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(hook_seen[MPMC_HOOK_TAKEN], 1);
	assert_int_equal(hook_seen[MPMC_HOOK_READ], 1);
	atomic_store(&mpmc_test_hook, NULL);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

struct waiter {
	const char *name;
	char got[8];
	int rc;
};

static void *blocked_pop(void *arg)
{
	struct waiter *wt = arg;
	struct shmbus_mpmc *c;

	if (shmbus_mpmc_open(&c, wt->name, SHMBUS_MPMC_CONSUMER)) {
		wt->rc = -1;
		return NULL;
	}
	shmbus_mpmc_set_yields(c, 0);
	wt->rc = shmbus_mpmc_pop(c, wt->got, sizeof(wt->got), -1);
	shmbus_mpmc_close(c);
	return NULL;
}

static void test_blocking_wakeup(void **state)
{
	const char *name = tu_mpmc_make("wake", 4, 8, 0, 0);
	struct waiter wt = { .name = name };
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	pthread_t t;
	int i;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, blocked_pop, &wt), 0);
	/* Let it go to sleep (it would be woken anyway; this exercises the
	 * futex path rather than the spin). */
	for (i = 0; i < 200 && tu_mpmc_stats_of(p).empty_waits == 0; i++)
		usleep(1000);
	usleep(20000);
	assert_int_equal(shmbus_mpmc_push(p, "wake", 4, -1), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(wt.rc, 4);
	assert_memory_equal(wt.got, "wake", 4);
	shmbus_mpmc_close(p);
}

static void test_inspect_json(void **state)
{
	const char *name = tu_mpmc_make("inspect", 16, 40, 25, 8);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_snapshot *snap;
	char buf[40];
	char *json;
	int i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(shmbus_mpmc_push_try(p, "abc", 3), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 3);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	assert_int_equal(snap->kind, SHMBUS_KIND_MPMC);
	assert_int_equal(snap->kind_error, 0);
	assert_int_equal(snap->nparticipants, 2);
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"kind\":\"mpmc\""));
	assert_non_null(strstr(json, "\"role\":\"producer\""));
	assert_non_null(strstr(json, "\"role\":\"consumer\""));
	assert_non_null(strstr(json, "\"slots\":16"));
	assert_non_null(strstr(json, "\"slot_size\":40"));
	assert_non_null(strstr(json, "\"liveness_ms\":25"));
	assert_non_null(strstr(json, "\"occupancy\":4"));
	assert_non_null(strstr(json, "\"msgs_in\":5"));
	assert_non_null(strstr(json, "\"msgs_out\":1"));
	assert_non_null(strstr(json, "\"bytes_in\":15"));
	assert_non_null(strstr(json, "\"lost\":0"));
	assert_non_null(strstr(json, "\"recovered\":0"));
	assert_non_null(strstr(json, "\"full\":4"));
	free(json);
	shmbus_snapshot_free(snap);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_params, tu_teardown),
		cmocka_unit_test_teardown(test_open_checks, tu_teardown),
		cmocka_unit_test_teardown(test_empty, tu_teardown),
		cmocka_unit_test_teardown(test_full, tu_teardown),
		cmocka_unit_test_teardown(test_wrap_many_laps, tu_teardown),
		cmocka_unit_test_teardown(test_bursts, tu_teardown),
		cmocka_unit_test_teardown(test_slot_size_limits, tu_teardown),
		cmocka_unit_test_teardown(test_roles, tu_teardown),
		cmocka_unit_test_teardown(test_participants_full, tu_teardown),
		cmocka_unit_test_teardown(test_takeover_dead_entry, tu_teardown),
		cmocka_unit_test_teardown(test_dead_producer_skipped, tu_teardown),
		cmocka_unit_test_teardown(test_dead_consumer_freed, tu_teardown),
		cmocka_unit_test_teardown(test_recover_now, tu_teardown),
		cmocka_unit_test_teardown(test_recovery_journal, tu_teardown),
		cmocka_unit_test_teardown(test_cancel, tu_teardown),
		cmocka_unit_test_teardown(test_own_slot_deadlock, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt_state, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt_random, tu_teardown),
		cmocka_unit_test_teardown(test_hooks, tu_teardown),
		cmocka_unit_test_teardown(test_blocking_wakeup, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_json, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
