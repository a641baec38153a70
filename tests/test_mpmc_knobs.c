/*
 * test_mpmc_knobs.c - the tuning heuristics (struct mpmc_knobs) change
 * speed, never results.  The blind claim (C3 in mpmc_consume.c: a consumer
 * that messages flow to CASes without loading first, guessing the
 * publisher): a wrong guess costs a retry, not a message; every corrupt
 * word is refused as on the loading path; an empty ring turns it off.
 * Fetch-ahead: on where the knobs say (slots of at most 304 bytes, rings of
 * 16 slots or more, CPUs that prefetch for writing), and a stream through
 * such a ring arrives whole and in order.
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

/* --- the consumer's blind claim ------------------------------------------ */

static void test_blind_claims(void **state)
{
	const char *name = tu_mpmc_make("blind", 8, 8, 0, 3);
	struct shmbus_mpmc *p1 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *p2 = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	const uint64_t bad[] = {
		7,                                   /* no such state */
		mpmc_word(0, 100, MPMC_FULL),        /* owner outside the table */
		mpmc_word(12345, 0, MPMC_FULL),      /* a lap from far away */
	};
	struct mpmc_slot *s6 = mpmc_slot_at(c, 6);
	char buf[8];
	uint64_t good;
	unsigned i;

	(void)state;
	/* Alternating producers: after the first few, every guess of the
	 * publisher is wrong; the order must come out exact. */
	for (i = 0; i < 6; i++) {
		char m[2] = { (char)('a' + i), 0 };

		assert_int_equal(shmbus_mpmc_push_try(i % 2 ? p2 : p1, m, 2), 0);
	}
	for (i = 0; i < 6; i++) {
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 2);
		assert_int_equal(buf[0], 'a' + (int)i);
	}
	/* Messages flow and any message fits: the blind path from here on. */
	assert_true(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_push_try(p1, "g", 1), 0);
	good = atomic_load(&s6->word);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		atomic_store(&s6->word, bad[i]);
		assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
		assert_int_equal(atomic_load(&s6->word), bad[i]); /* not claimed */
	}
	atomic_store(&s6->word, good);
	assert_true(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'g');
	/* A length the slot cannot hold: taken, dropped, counted. */
	assert_int_equal(shmbus_mpmc_push_try(p2, "h", 1), 0);
	assert_int_equal(shmbus_mpmc_push_try(p2, "i", 1), 0);
	atomic_store(&mpmc_slot_at(c, 7)->len, 1000);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -SHMBUS_ECORRUPT);
	assert_int_equal(tu_mpmc_stats_of(c).lost, 1);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'i');
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), -EAGAIN);
	/* An empty ring ends the run: a consumer polling with pop_try, or in
	 * a ping-pong, loads before it claims (a blind CAS there would take
	 * the line from the producer about to write it). */
	assert_false(mpmc_flowing(c));
	assert_int_equal(shmbus_mpmc_push_try(p1, "j", 1), 0);
	assert_int_equal(shmbus_mpmc_pop_try(c, buf, sizeof(buf)), 1);
	assert_false(mpmc_flowing(c));
	shmbus_mpmc_close(p1);
	shmbus_mpmc_close(p2);
	shmbus_mpmc_close(c);
}

/* --- fetch-ahead ------------------------------------------------------- */

static uint32_t stride_of(uint32_t slot_size)
{
	struct mpmc_layout l;

	assert_int_equal(mpmc_layout(64, slot_size, 2, &l), 0);
	return l.slot_stride;
}

static void test_fetch_ahead(void **state)
{
	bool w = relax_have_prefetch_w();
	const char *name = tu_mpmc_make("ahead", 64, 304, 0, 0);
	struct shmbus_mpmc *p = tu_mpmc_open_as(name, SHMBUS_MPMC_PRODUCER);
	struct shmbus_mpmc *c = tu_mpmc_open_as(name, SHMBUS_MPMC_CONSUMER);
	char msg[304], got[304];
	uint32_t i;

	(void)state;
	/* The policy: the limit is on the stride (head + payload, rounded
	 * up to 64), so 304 bytes is the largest slot_size it covers. */
	assert_true(mpmc_knobs.ahead * 4 <= mpmc_knobs.ahead_slots_min); /* a quarter ring */
	assert_int_equal(stride_of(304), mpmc_knobs.ahead_stride_max);
	assert_true(stride_of(305) > mpmc_knobs.ahead_stride_max);
	assert_int_equal(mpmc_ahead(1024, stride_of(64), true), mpmc_knobs.ahead);
	assert_int_equal(mpmc_ahead(16, stride_of(304), true), mpmc_knobs.ahead);
	assert_int_equal(mpmc_ahead(1024, stride_of(305), true), 0);
	assert_int_equal(mpmc_ahead(8, stride_of(64), true), 0);
	assert_int_equal(mpmc_ahead(1024, stride_of(64), false), 0);
	/* What a handle gets. */
	assert_int_equal(p->ahead, w ? mpmc_knobs.ahead : 0);
	assert_int_equal(c->ahead, w ? mpmc_knobs.ahead : 0);
	/* Streams whole and in order, around the ring several times, with
	 * both sides fetching ahead (the ring never empties for long: each
	 * side runs while messages flow). */
	for (i = 0; i < 64 * 20; i++) {
		memset(msg, (int)(i & 0xff), sizeof(msg));
		memcpy(msg, &i, sizeof(i));
		assert_int_equal(shmbus_mpmc_push_try(p, msg, sizeof(msg) - i % 7), 0);
		if (i >= 32) {
			uint32_t j = i - 32, seq;

			assert_int_equal(shmbus_mpmc_pop_try(c, got, sizeof(got)),
					 (int)(sizeof(got) - j % 7));
			memcpy(&seq, got, sizeof(seq));
			assert_int_equal(seq, j);
			assert_int_equal((unsigned char)got[100], j & 0xff);
		}
	}
	assert_true(mpmc_flowing(p) && mpmc_flowing(c));
	shmbus_mpmc_close(p);
	shmbus_mpmc_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_blind_claims, tu_teardown),
		cmocka_unit_test_teardown(test_fetch_ahead, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
