/*
 * test_broadcast_threads.c - the lossy broadcast ring's seqlock under
 * threads (so that ThreadSanitizer sees both sides): a producer thread
 * pushes self-checking messages (tests/bcast_msg.h) at full speed into a
 * 1 KiB lossy ring while three subscriber threads read them, one with pop,
 * one with peek + copy + release, one with peek_burst + release_burst.  Each
 * is lapped for sure (it waits until the producer is several ring-fulls
 * ahead), and checks that every message the ring returned as valid is
 * intact with a strictly increasing sequence, that what it lost came back
 * as -SHMBUS_ELAPPED or as dropped counts, and that valid + dropped is the
 * count sent, exactly.  bcast_msg.h holds both sides; mp_broadcast.c runs
 * them as processes.
 */
#include <pthread.h>
#include <stdlib.h>

#include "bcast_msg.h"
#include "testutil.h"

#define READERS 3

struct reader {
	pthread_t t;
	const char *name;
	uint64_t count;
	enum bcast_torn_mode mode;
	_Atomic int joined;
	int rc;
	struct bcast_torn_result res;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	/* About 20 messages fit in the ring: 400 are several laps. */
	r->rc = bcast_torn_read(r->name, r->count, 400, r->mode, &r->joined, &r->res);
	atomic_store(&r->joined, 1); /* also if it failed before joining */
	return NULL;
}

static void test_torn_reads(void **state)
{
	struct shmbus_bcast_params prm = { .capacity = 1024, .subscribers = READERS,
					   .policy = SHMBUS_BCAST_LOSSY };
	struct reader r[READERS];
	uint64_t count = tu_sanitized() ? 100000 : 1000000;
	const char *name = tu_name("torn");
	unsigned i;

	(void)state;
	assert_int_equal(shmbus_bcast_create(name, &prm), 0);
	for (i = 0; i < READERS; i++) {
		r[i] = (struct reader){ .name = name, .count = count,
					.mode = (enum bcast_torn_mode)i };
		assert_int_equal(pthread_create(&r[i].t, NULL, read_thread, &r[i]), 0);
	}
	for (i = 0; i < READERS; i++)
		while (!atomic_load(&r[i].joined))
			usleep(1000);
	assert_int_equal(bcast_torn_produce(name, count), 0);
	for (i = 0; i < READERS; i++) {
		assert_int_equal(pthread_join(r[i].t, NULL), 0);
		assert_int_equal(r[i].rc, 0);
		/* Lapped for sure: the ring said so (bcast_torn_read() also
		 * checked valid + dropped == count). */
		assert_true(r[i].res.dropped > 0);
		assert_true(r[i].res.valid > 0);
		fprintf(stderr, "# reader %u: %llu valid, %llu dropped, %llu releases ELAPPED "
				"(%llu copies torn)\n", i, (unsigned long long)r[i].res.valid,
			(unsigned long long)r[i].res.dropped,
			(unsigned long long)r[i].res.elapsed, (unsigned long long)r[i].res.torn);
	}
	assert_int_equal(shmbus_block_unlink(name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_torn_reads, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
