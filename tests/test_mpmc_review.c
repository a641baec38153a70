/*
 * test_mpmc_review.c - regression tests for what the second review of the
 * mpmc ring found: each case here failed before its fix.
 *  - a peer that changes a held message's length between the consumer's
 *    check and its copy must not make pop write past the caller's buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpmc_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"

static const char *make_ring(const char *what, uint32_t slots, uint32_t slot_size,
			     uint32_t liveness_ms, uint32_t participants)
{
	struct shmbus_mpmc_params p = {
		.slots = slots,
		.slot_size = slot_size,
		.liveness_ms = liveness_ms,
		.participants = participants,
	};
	const char *name = tu_name(what);

	assert_int_equal(shmbus_mpmc_create(name, &p), 0);
	return name;
}

static struct shmbus_mpmc *open_as(const char *name, enum shmbus_mpmc_role role)
{
	struct shmbus_mpmc *h = NULL;

	assert_int_equal(shmbus_mpmc_open(&h, name, role), 0);
	return h;
}

static struct shmbus_mpmc_stats stats_of(struct shmbus_mpmc *h)
{
	struct shmbus_mpmc_stats st;

	assert_int_equal(shmbus_mpmc_stats(h, &st), 0);
	return st;
}

/* --- a length changed under the consumer -------------------------------- */

/* The test hook plays the hostile peer: once the consumer has claimed the
 * message, the slot's length grows (still <= slot_size). */
static void grow_len_hook(enum mpmc_hook_point point, struct shmbus_mpmc *h)
{
	if (point == MPMC_HOOK_TAKEN)
		atomic_store(&mpmc_slot_at(h, 0)->len, 48);
}

struct guarded {
	char buf[8];
	unsigned char canary[64];
};

static void test_len_grows_after_check(void **state)
{
	const char *name = make_ring("growlen", 4, 64, 0, 0);
	struct shmbus_mpmc *p = open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = open_as(name, SHMBUS_MPMC_CONSUMER);
	struct guarded g;
	unsigned char ff[sizeof(g.canary)];
	void *bufs[1] = { g.buf };
	size_t lens[1];
	int i;

	(void)state;
	memset(ff, 0x5a, sizeof(ff));
	for (i = 0; i < 2; i++) {
		memset(&g, 0x5a, sizeof(g));
		assert_int_equal(shmbus_mpmc_push_try(p, "four", 4), 0);
		atomic_store(&shmbus_mpmc_test_hook, grow_len_hook);
		if (i == 0)
			assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)),
					 -SHMBUS_ECORRUPT);
		else
			assert_int_equal(shmbus_mpmc_pop_burst_try(c, bufs, sizeof(g.buf), lens, 1),
					 -SHMBUS_ECORRUPT);
		atomic_store(&shmbus_mpmc_test_hook, NULL);
		/* Nothing written past the 8 bytes the caller gave. */
		assert_memory_equal(g.canary, ff, sizeof(g.canary));
		/* The message is dropped and counted, the ring goes on. */
		assert_int_equal(stats_of(c).lost, (uint64_t)i + 1);
		/* Next lap: slot 0 again for the next message. */
		assert_int_equal(shmbus_mpmc_push_try(p, "x", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "y", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
		assert_int_equal(shmbus_mpmc_push_try(p, "z", 1), 0);
		assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)), 1);
	}
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_len_grows_after_check, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
