/*
 * test_mpmc_hostile.c - the mpmc ring against a block that others write
 * wrongly: a peer that changes a held message's length between the
 * consumer's check and its copy must not make pop write past the caller's
 * buffer (the message is dropped and counted lost); and inspect calls a
 * slot word invalid exactly when the ring refuses it (one decoder,
 * mpmc_decode.c, one test, mpmc_word_valid()).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "relax_internal.h"
#include "shmbus/mpmc.h"
#include "testutil.h"
#include "tu_mpmc_unit.h"

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
	const char *name = tu_mpmc_make("growlen", 4, 64, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
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
		atomic_store(&mpmc_test_hook, grow_len_hook);
		if (i == 0)
			assert_int_equal(shmbus_mpmc_pop_try(c, g.buf, sizeof(g.buf)),
					 -SHMBUS_ECORRUPT);
		else
			assert_int_equal(shmbus_mpmc_pop_burst_try(c, bufs, sizeof(g.buf), lens, 1),
					 -SHMBUS_ECORRUPT);
		atomic_store(&mpmc_test_hook, NULL);
		/* Nothing written past the 8 bytes the caller gave. */
		assert_memory_equal(g.canary, ff, sizeof(g.canary));
		/* The message is dropped and counted, the ring goes on. */
		assert_int_equal(tu_mpmc_stats_of(c).lost, (uint64_t)i + 1);
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

/* --- inspect and the ring agree on what is corrupt ---------------------- */

static void test_inspect_invalid_empty(void **state)
{
	const char *name = tu_mpmc_make("emptyowner", 4, 8, 0, 8);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	struct shmbus_snapshot *snap;
	const void *d;
	size_t len;
	char *json;

	(void)state;
	/* EMPTY naming an owner: no transition makes it. */
	atomic_store(&mpmc_slot_at(c, 0)->word, mpmc_word(0, 3, MPMC_EMPTY));
	assert_int_equal(shmbus_mpmc_peek_try(c, &d, &len), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	json = shmbus_snapshot_json(snap, 0);
	assert_non_null(strstr(json, "\"invalid\":1"));
	assert_non_null(strstr(json, "\"corrupt\":true"));
	free(json);
	shmbus_snapshot_free(snap);
	atomic_store(&mpmc_slot_at(c, 0)->word, 0);
	shmbus_mpmc_close(c);
}

/* One forged slot word: every handle, new ones too, gets ECORRUPT at that
 * slot, for good; the documented way out (mpmc.h, "Corruption") is to
 * remove the block and create it again. */
static void test_forged_word_way_out(void **state)
{
	const char *name = tu_mpmc_make("forged", 4, 8, 0, 8);
	struct shmbus_mpmc_params params = { .slots = 4, .slot_size = 8, .participants = 8 };
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER), *p, *c2;
	char buf[8];

	(void)state;
	atomic_store(&mpmc_slot_at(c, 0)->word, mpmc_word(0, 7, 15));
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	shmbus_mpmc_close(c);
	c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	assert_int_equal(shmbus_mpmc_recover(c) < 0 || shmbus_mpmc_pop_try(c, buf, sizeof(buf)) ==
			 -SHMBUS_ECORRUPT, 1);
	shmbus_mpmc_close(c);
	/* The way out: rm and create again (users reopen by name). */
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(shmbus_mpmc_create(name, &params), 0);
	p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	c2 = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	assert_int_equal(shmbus_mpmc_push_try(p, "ok", 2), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c2, buf, sizeof(buf)), 2);
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_len_grows_after_check, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_invalid_empty, tu_teardown),
		cmocka_unit_test_teardown(test_forged_word_way_out, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
