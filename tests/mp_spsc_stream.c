/*
 * mp_spsc_stream.c - a producer process and a consumer process stream at
 * least 10 million messages of random sizes (sequence numbers and
 * checksums in them) through one ring, with _try calls and spinning, and
 * with blocking calls; the consumer checks that none is lost, duplicated,
 * reordered or corrupted.  Every API form is used in turn (copying,
 * zero-copy, committing less, bursts).
 *
 * SHMBUS_SPSC_STREAM_COUNT overrides the count (for quick runs while
 * developing); under sanitizers the default is smaller.
 */
#include <stdlib.h>

#include "tu_spsc.h"
#include "testutil.h"

struct job {
	const char *name;
	struct tu_spsc_stream s;
	unsigned spin;
};

static int produce(void *arg)
{
	struct job *j = arg;
	struct shmbus_spsc *q;
	int rc = shmbus_spsc_open(&q, j->name, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return tu_spsc_fail("producer", "open", 0, rc);
	shmbus_spsc_set_spin(q, j->spin);
	rc = tu_spsc_produce(&j->s, q);
	shmbus_spsc_close(q);
	return rc;
}

static int consume(void *arg)
{
	struct job *j = arg;
	struct shmbus_spsc *q;
	int rc = shmbus_spsc_open(&q, j->name, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return tu_spsc_fail("consumer", "open", 0, rc);
	shmbus_spsc_set_spin(q, j->spin);
	rc = tu_spsc_consume(&j->s, q);
	shmbus_spsc_close(q);
	return rc;
}

static void stream(const char *what, bool blocking, unsigned spin)
{
	const char *env = getenv("SHMBUS_SPSC_STREAM_COUNT");
	struct job j = {
		.name = tu_name(what),
		.s = {
			.count = env ? strtoull(env, NULL, 0) : tu_sanitized() ? 300000 : 10000000,
			.max_len = 400,
			.blocking = blocking,
			.timeout_ms = 60000,
		},
		.spin = spin,
	};
	struct shmbus_spsc_stats st;
	struct shmbus_spsc *q;
	pid_t c, p;

	assert_int_equal(shmbus_spsc_create(j.name, 16384, 0), 0);
	c = tu_spawn(consume, &j);
	p = tu_spawn(produce, &j);
	assert_int_equal(tu_wait(p), 0);
	assert_int_equal(tu_wait(c), 0);
	/* the block agrees: everything in came out */
	assert_int_equal(shmbus_spsc_open(&q, j.name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_stats(q, &st), 0);
	assert_int_equal(st.msgs_in, j.s.count);
	assert_int_equal(st.msgs_out, j.s.count);
	assert_int_equal(st.bytes_in, st.bytes_out);
	assert_int_equal(st.used, 0);
	assert_false(st.corrupt);
	print_message("%s: %llu messages, %llu bytes, full waits %llu, empty waits %llu, wakes %llu\n",
		      what, (unsigned long long)st.msgs_in, (unsigned long long)st.bytes_in,
		      (unsigned long long)st.full_waits, (unsigned long long)st.empty_waits,
		      (unsigned long long)st.wakes);
	shmbus_spsc_close(q);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

static void test_stream_spin(void **state)
{
	(void)state;
	stream("spin", false, 0);
}

static void test_stream_blocking(void **state)
{
	(void)state;
	stream("block", true, SHMBUS_SPSC_SPIN_DEFAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_stream_spin, tu_teardown),
		cmocka_unit_test_teardown(test_stream_blocking, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_spsc_stream", tests, NULL, NULL);
}
