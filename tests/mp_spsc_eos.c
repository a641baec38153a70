/*
 * mp_spsc_eos.c - end of stream between processes.  A producer process
 * streams N messages of random sizes (sequence numbers and checksums in
 * them) and closes the stream; a consumer process, knowing nothing of N,
 * takes messages with blocking calls (every form in turn) until the end and
 * must have received exactly N, in order, intact, then -SHMBUS_EEOS.
 *  - asleep: the producer closes only once the consumer has drained the ring
 *    and sleeps in peek, so the close itself must wake it (another process);
 *  - streaming: the producer closes right after its last commit and exits
 *    while the consumer is still busy or just about to sleep.
 */
#include <stdlib.h>

#include "spsc/spsc_internal.h"
#include "tu_spsc.h"
#include "testutil.h"

#define MAX_LEN 300

struct job {
	const char *name;
	uint64_t count;
	bool wait_asleep;  /* close only once the consumer sleeps */
};

static int produce(void *arg)
{
	struct job *j = arg;
	unsigned char buf[MAX_LEN];
	struct shmbus_spsc *q;
	uint64_t n;
	int rc = shmbus_spsc_open(&q, j->name, SHMBUS_SPSC_PRODUCER);

	if (rc)
		return tu_spsc_fail("producer", "open", 0, rc);
	for (n = 0; n < j->count; n++) {
		size_t len = tu_spsc_len(n, MAX_LEN);

		tu_spsc_fill(buf, n, len);
		rc = shmbus_spsc_push(q, buf, len, 60000);
		if (rc)
			return tu_spsc_fail("producer", "push", n, rc);
	}
	if (j->wait_asleep) {
		/* Drained, and asleep on its queue (spin 0: it sleeps at once). */
		while (atomic_load_explicit(&q->sh->cons.tail, memory_order_relaxed) !=
			       atomic_load_explicit(&q->sh->prod.head, memory_order_relaxed) ||
		       !waitq_has_waiters(&q->sh->data_wq))
			usleep(1000);
		usleep(10000);
	}
	rc = shmbus_spsc_close_stream(q);
	if (rc)
		return tu_spsc_fail("producer", "close_stream", n, rc);
	rc = shmbus_spsc_push(q, buf, 0, 0);
	if (rc != -EPIPE)
		return tu_spsc_fail("producer", "push after close", n, rc);
	shmbus_spsc_close(q);
	return 0;
}

/* One message by the form @n picks: its length, or a negative code. */
static int take(struct shmbus_spsc *q, uint64_t n, unsigned char *buf)
{
	struct shmbus_spsc_msg m;
	const void *d;
	size_t len;
	int rc;

	switch (tu_spsc_mix(n ^ 0x55) % 3) {
	case 0:
		return shmbus_spsc_pop(q, buf, MAX_LEN, 60000);
	case 1:
		rc = shmbus_spsc_peek(q, &d, &len, 60000);
		if (rc)
			return rc;
		break;
	default:
		rc = shmbus_spsc_peek_burst(q, &m, 1, 60000);
		if (rc != 1)
			return rc < 0 ? rc : -EPROTO;
		d = m.data;
		len = m.len;
		break;
	}
	if (len > MAX_LEN)
		return -EMSGSIZE;
	memcpy(buf, d, len);
	rc = shmbus_spsc_release(q);
	return rc ? rc : (int)len;
}

static int consume(void *arg)
{
	struct job *j = arg;
	unsigned char buf[MAX_LEN];
	struct shmbus_spsc *q;
	const void *d;
	size_t len;
	uint64_t n;
	int rc = shmbus_spsc_open(&q, j->name, SHMBUS_SPSC_CONSUMER);

	if (rc)
		return tu_spsc_fail("consumer", "open", 0, rc);
	if (j->wait_asleep)
		shmbus_spsc_set_spin(q, 0);
	for (n = 0;; n++) {
		rc = take(q, n, buf);
		if (rc == -SHMBUS_EEOS)
			break;
		if (rc < 0)
			return tu_spsc_fail("consumer", "take", n, rc);
		if (!tu_spsc_check(buf, (size_t)rc, n, MAX_LEN))
			return tu_spsc_fail("consumer", "bad message", n, 0);
	}
	if (n != j->count)
		return tu_spsc_fail("consumer", "end of stream early or late", n, 0);
	/* and it stays the end */
	rc = shmbus_spsc_peek(q, &d, &len, -1);
	if (rc != -SHMBUS_EEOS)
		return tu_spsc_fail("consumer", "second end", n, rc);
	shmbus_spsc_close(q);
	return 0;
}

static void run(const char *what, uint64_t count, bool wait_asleep)
{
	struct job j = { .name = tu_name(what), .count = count, .wait_asleep = wait_asleep };
	struct shmbus_spsc_stats st;
	struct shmbus_spsc *q;
	pid_t c, p;

	assert_int_equal(shmbus_spsc_create(j.name, 4096, 0), 0);
	c = tu_spawn(consume, &j);
	p = tu_spawn(produce, &j);
	assert_int_equal(tu_wait(p), 0);
	assert_int_equal(tu_wait(c), 0);
	assert_int_equal(shmbus_spsc_open(&q, j.name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_stats(q, &st), 0);
	assert_true(st.closed);
	assert_int_equal(st.msgs_in, count);
	assert_int_equal(st.msgs_out, count);
	assert_int_equal(st.used, 0);
	assert_false(st.corrupt);
	shmbus_spsc_close(q);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

static void test_close_wakes_sleeping_consumer(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		run("asleep", 20000 + (uint64_t)i, true);
	run("asleep_none", 0, true);
}

static void test_close_while_streaming(void **state)
{
	uint64_t i;

	(void)state;
	for (i = 0; i < 20; i++)
		run("stream", tu_sanitized() ? 2000 + i : 50000 + i, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_close_wakes_sleeping_consumer, tu_teardown),
		cmocka_unit_test_teardown(test_close_while_streaming, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_spsc_eos", tests, NULL, NULL);
}
