/*
 * mp_broadcast.c - the broadcast ring between real processes:
 *  - reliable, one producer and four subscribers: every subscriber gets
 *    every message, in order, with its bytes intact (10 million messages;
 *    fewer under sanitizers or with SHMBUS_BCAST_STREAM_COUNT);
 *  - lossy, with a subscriber stopped (SIGSTOP) until the producer has
 *    lapped it, then stopped and continued at random: sequence numbers
 *    strictly increase, no message is torn, it did drop messages, and
 *    received + dropped == sent, exactly, as the block counts it too;
 *  - lossy torn reads: a producer at full speed into a 1 KiB ring, three
 *    subscriber processes (pop, peek + release, peek_burst + release_burst)
 *    check that every message returned as valid is intact (bcast_msg.h);
 *  - reliable, subscribers killed (SIGKILL) at random moments: the producer
 *    is held at most about the liveness timeout each time and completes
 *    (for SHMBUS_TORTURE_SECONDS, round after round, with the common
 *    torture summary line; its stall is the producer's longest push);
 *  - a producer killed mid-stream: subscribers still read everything it
 *    committed;
 *  - end of stream reaches a subscriber asleep in a blocking peek.
 * Assertions are on outcomes ("completes", counts), never on speed.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bcast_msg.h"
#include "testutil.h"

#define BURST 16u

static int bfail(const char *who, const char *what, uint64_t seq, int rc)
{
	fprintf(stderr, "%s: %s at %llu: %d (%s)\n", who, what, (unsigned long long)seq, rc,
		shmbus_strerror(rc));
	return 1;
}

struct job {
	const char *name;
	uint64_t count;
	enum shmbus_bcast_from from;
	int hold_ms;           /* producer: pause after this many (0: none) */
	bool must_drop;        /* lossy reader: fail unless it dropped some */
	uint64_t *max_push_ms; /* producer: longest push (shared map), or NULL */
};

/* Push @count messages in bursts, then close the stream. */
static int produce(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *p;
	struct shmbus_bcast_buf bufs[BURST];
	static unsigned char data[BURST][BCAST_MSG_MAX];
	uint64_t seq = 0;
	unsigned i, n;
	int rc = shmbus_bcast_open_producer(&p, j->name);

	if (rc)
		return bfail("producer", "open", 0, rc);
	while (seq < j->count) {
		n = (unsigned)(j->count - seq < BURST ? j->count - seq : BURST);
		for (i = 0; i < n; i++) {
			bcast_msg_fill(data[i], seq + i);
			bufs[i].data = data[i];
			bufs[i].len = bcast_msg_len(seq + i);
		}
		uint64_t t0 = tu_now_ms();

		rc = shmbus_bcast_push_burst(p, bufs, n, 30000);
		if (rc < 0)
			return bfail("producer", "push_burst", seq, rc);
		if (j->max_push_ms && tu_now_ms() - t0 > *j->max_push_ms)
			*j->max_push_ms = tu_now_ms() - t0;
		seq += (uint64_t)rc;
	}
	rc = shmbus_bcast_close_stream(p);
	shmbus_bcast_close(p);
	return rc ? bfail("producer", "close_stream", seq, rc) : 0;
}

/* Read every message with peek_burst in place until the end of stream. */
static int subscribe_all(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *s;
	struct shmbus_bcast_msg ms[BURST];
	uint64_t seq = 0;
	int rc = shmbus_bcast_subscribe(&s, j->name, j->from), n, i;

	if (rc)
		return bfail("subscriber", "subscribe", 0, rc);
	for (;;) {
		n = shmbus_bcast_peek_burst(s, ms, BURST, 30000);
		if (n == -SHMBUS_EEOS)
			break;
		if (n < 0)
			return bfail("subscriber", "peek_burst", seq, n);
		for (i = 0; i < n; i++, seq++)
			if (ms[i].seq != seq || ms[i].dropped ||
			    !bcast_msg_ok(ms[i].data, ms[i].len, seq))
				return bfail("subscriber", "wrong message", seq, -EBADMSG);
		rc = shmbus_bcast_release_burst(s, (unsigned)n);
		if (rc != n)
			return bfail("subscriber", "release_burst", seq, rc);
	}
	shmbus_bcast_close(s);
	if (seq != j->count)
		return bfail("subscriber", "count", seq, -EBADMSG);
	return 0;
}

/* Wait until @subs subscribers have joined @name and its producer has
 * committed @seq messages (or closed the stream).  The parent looks
 * through a subscriber handle of its own, which it closes before it
 * returns (so it takes an entry only meanwhile). */
static void wait_ring(const char *name, uint32_t subs, uint64_t seq)
{
	struct shmbus_bcast *me;
	struct shmbus_bcast_stats st;

	assert_int_equal(shmbus_bcast_subscribe(&me, name, SHMBUS_BCAST_FROM_NEXT), 0);
	do {
		usleep(1000);
		assert_int_equal(shmbus_bcast_stats(me, &st), 0);
	} while (st.subscribers < subs + 1 || (st.seq < seq && !st.closed));
	shmbus_bcast_close(me);
}

static void wait_joined(const char *name, uint32_t n)
{
	wait_ring(name, n, 0);
}

static void stream_reliable(void **state)
{
	const char *env = getenv("SHMBUS_BCAST_STREAM_COUNT");
	struct job j = {
		.name = tu_name("rel"),
		.count = env ? strtoull(env, NULL, 0) : tu_sanitized() ? 200000 : 10000000,
		.from = SHMBUS_BCAST_FROM_OLDEST,
	};
	struct shmbus_bcast_params prm = { .capacity = 1 << 20, .subscribers = 8 };
	pid_t subs[4], prod;
	int i;

	(void)state;
	assert_int_equal(shmbus_bcast_create(j.name, &prm), 0);
	for (i = 0; i < 4; i++)
		subs[i] = tu_spawn(subscribe_all, &j);
	wait_joined(j.name, 4);
	prod = tu_spawn(produce, &j);
	assert_int_equal(tu_wait(prod), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(tu_wait(subs[i]), 0);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

/* Lossy reader: pop until the end; check order, bytes and the count. */
static int subscribe_lossy(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *s;
	struct shmbus_bcast_msg m;
	struct shmbus_bcast_sub_stats ss;
	unsigned char buf[BCAST_MSG_MAX];
	uint64_t got = 0, dropped = 0, next = 0;
	int rc = shmbus_bcast_subscribe(&s, j->name, SHMBUS_BCAST_FROM_OLDEST);

	if (rc)
		return bfail("lossy", "subscribe", 0, rc);
	for (;;) {
		rc = shmbus_bcast_pop(s, buf, sizeof(buf), &m, 30000);
		if (rc == -SHMBUS_EEOS)
			break;
		if (rc < 0)
			return bfail("lossy", "pop", next, rc);
		if (m.seq < next || m.seq - next != m.dropped)
			return bfail("lossy", "sequence", m.seq, -EBADMSG);
		if (!bcast_msg_ok(buf, (size_t)rc, m.seq))
			return bfail("lossy", "torn message", m.seq, -EBADMSG);
		dropped += m.dropped;
		got++;
		next = m.seq + 1;
	}
	rc = shmbus_bcast_sub_stats(s, (unsigned)shmbus_bcast_index(s), &ss);
	shmbus_bcast_close(s);
	if (rc)
		return bfail("lossy", "stats", next, rc);
	/* At the end, the messages lost after the last one received count too. */
	if (got + ss.dropped != j->count || ss.msgs_out != got || ss.dropped < dropped)
		return bfail("lossy", "received + dropped != sent", got, -EBADMSG);
	if (j->must_drop && (ss.dropped == 0 || dropped == 0))
		return bfail("lossy", "never lapped", got, -EBADMSG);
	return 0;
}

static void lossy_stopped(void **state)
{
	struct job j = {
		.name = tu_name("lossy"),
		.count = tu_sanitized() ? 300000 : 3000000,
	};
	struct shmbus_bcast_params prm = { .capacity = 1 << 16, .subscribers = 4,
					   .policy = SHMBUS_BCAST_LOSSY };
	struct timespec ts = { 0, 20 * 1000000 };
	struct job stopped;
	pid_t sub, sub2, prod;
	int i;

	(void)state;
	assert_int_equal(shmbus_bcast_create(j.name, &prm), 0);
	stopped = j;
	stopped.must_drop = true;
	sub = tu_spawn(subscribe_lossy, &stopped);
	sub2 = tu_spawn(subscribe_lossy, &j);
	wait_joined(j.name, 2);
	/* Stopped until the producer is 20 ring-fulls of messages (of 32 to
	 * 80 bytes) past its cursor: it must drop some, and says so. */
	assert_int_equal(kill(sub, SIGSTOP), 0);
	prod = tu_spawn(produce, &j);
	wait_ring(j.name, 0, 20 * (prm.capacity / 32));
	assert_int_equal(kill(sub, SIGCONT), 0);
	for (i = 0; i < 10; i++) {
		nanosleep(&ts, NULL);
		kill(sub, SIGSTOP);
		nanosleep(&ts, NULL);
		kill(sub, SIGCONT);
	}
	assert_int_equal(tu_wait(prod), 0);
	kill(sub, SIGCONT);
	assert_int_equal(tu_wait(sub), 0);
	assert_int_equal(tu_wait(sub2), 0);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

struct torn_job {
	const char *name;
	uint64_t count;
	enum bcast_torn_mode mode;
};

static int torn_reader(void *arg)
{
	struct torn_job *t = arg;
	struct bcast_torn_result res;
	int rc = bcast_torn_read(t->name, t->count, 400, t->mode, NULL, &res);

	if (rc == 0)
		fprintf(stderr, "# reader %d: %llu valid, %llu dropped, %llu releases ELAPPED "
				"(%llu copies torn)\n", (int)t->mode,
			(unsigned long long)res.valid, (unsigned long long)res.dropped,
			(unsigned long long)res.elapsed, (unsigned long long)res.torn);
	return rc ? 1 : 0;
}

static int torn_producer(void *arg)
{
	struct torn_job *t = arg;

	return bcast_torn_produce(t->name, t->count) ? 1 : 0;
}

/* Torn reads between processes (bcast_torn_read() checks each reader; the
 * threads version is test_broadcast_threads.c). */
static void lossy_torn_reads(void **state)
{
	struct shmbus_bcast_params prm = { .capacity = 1024, .subscribers = 4,
					   .policy = SHMBUS_BCAST_LOSSY };
	struct torn_job t[3];
	pid_t subs[3], prod;
	int i;

	(void)state;
	t[0] = (struct torn_job){ .name = tu_name("torn"),
				  .count = tu_sanitized() ? 200000 : 2000000 };
	assert_int_equal(shmbus_bcast_create(t[0].name, &prm), 0);
	for (i = 0; i < 3; i++) {
		t[i] = t[0];
		t[i].mode = (enum bcast_torn_mode)i;
		subs[i] = tu_spawn(torn_reader, &t[i]);
	}
	wait_joined(t[0].name, 3);
	prod = tu_spawn(torn_producer, &t[0]);
	assert_int_equal(tu_wait(prod), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(tu_wait(subs[i]), 0);
	assert_int_equal(shmbus_block_unlink(t[0].name), 0);
}

/* A subscriber that reads slowly until it is killed. */
static int victim(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *s;
	struct shmbus_bcast_msg m;
	int rc = shmbus_bcast_subscribe(&s, j->name, SHMBUS_BCAST_FROM_NEWEST);

	if (rc)
		return bfail("victim", "subscribe", 0, rc);
	for (;;) {
		rc = shmbus_bcast_peek(s, &m, 1000);
		if (rc == -SHMBUS_EEOS)
			break;
		if (rc == 0 && shmbus_bcast_release(s))
			return 1;
		if (rand() % 64 == 0)
			usleep(1000);
	}
	shmbus_bcast_close(s);
	return 0;
}

/*
 * One round of reliable_killed_subscribers, added to @sum: the subscriber
 * that stays checks every message arrives once, in order (so nothing is
 * lost, nothing duplicated); the block counts every message in.
 */
static void killed_subscribers_once(struct tu_torture *sum, uint64_t *max_push_ms)
{
	struct job j = {
		.name = tu_name("kill"),
		.count = tu_sanitized() ? 100000 : 1000000,
		.from = SHMBUS_BCAST_FROM_OLDEST,
		.max_push_ms = max_push_ms,
	};
	struct shmbus_bcast_params prm = { .capacity = 1 << 14, .subscribers = 4,
					   .liveness_ms = 100 };
	struct shmbus_bcast_stats bst;
	struct shmbus_bcast *me;
	pid_t sub, prod, v;
	int i, st;

	*max_push_ms = 0;
	assert_int_equal(shmbus_bcast_create(j.name, &prm), 0);
	sub = tu_spawn(subscribe_all, &j);
	wait_joined(j.name, 1);
	prod = tu_spawn(produce, &j);
	for (i = 0; i < 8; i++) {
		v = tu_spawn(victim, &j);
		usleep((useconds_t)(rand() % 30000));
		kill(v, SIGKILL);
		st = tu_wait(v);
		assert_true(st == 1000 + SIGKILL || st == 0);
		sum->kills += st != 0;
	}
	/* The producer completes (its pushes wait at most 30 s each, a dead
	 * subscriber holds it for about 100 ms). */
	assert_int_equal(tu_wait(prod), 0);
	assert_int_equal(tu_wait(sub), 0);
	assert_int_equal(shmbus_bcast_subscribe(&me, j.name, SHMBUS_BCAST_FROM_NEXT), 0);
	assert_int_equal(shmbus_bcast_stats(me, &bst), 0);
	assert_int_equal(bst.msgs_in, j.count);
	assert_true(bst.closed);
	shmbus_bcast_close(me);
	sum->rounds++;
	sum->messages += j.count;
	tu_torture_stall(sum, *max_push_ms);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

/* Once in CI; for SHMBUS_TORTURE_SECONDS with it set (scripts/torture.sh). */
static void reliable_killed_subscribers(void **state)
{
	struct tu_torture sum = { 0 };
	uint64_t *max_push_ms, t0 = tu_now_ms();

	(void)state;
	srand((unsigned)getpid());
	max_push_ms = mmap(NULL, sizeof(*max_push_ms), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(max_push_ms != MAP_FAILED);
	do
		killed_subscribers_once(&sum, max_push_ms);
	while (tu_now_ms() - t0 < (uint64_t)tu_torture_seconds() * 1000);
	munmap(max_push_ms, sizeof(*max_push_ms));
	tu_torture_print("broadcast", &sum);
}

/* Push forever (reliable, no subscriber holds it for long). */
static int produce_forever(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *p;
	unsigned char data[BCAST_MSG_MAX];
	uint64_t seq = 0;
	int rc = shmbus_bcast_open_producer(&p, j->name);

	if (rc)
		return bfail("producer", "open", 0, rc);
	for (;; seq++) {
		bcast_msg_fill(data, seq);
		rc = shmbus_bcast_push(p, data, bcast_msg_len(seq), 30000);
		if (rc)
			return bfail("producer", "push", seq, rc);
	}
}

/* Read until the producer is dead and everything it committed is read. */
static int subscribe_until_dead(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *s;
	struct shmbus_bcast_msg m;
	struct shmbus_bcast_stats st;
	struct shmbus_bcast_sub_stats ss;
	uint64_t seq = 0;
	bool seen_producer = false;
	int rc = shmbus_bcast_subscribe(&s, j->name, SHMBUS_BCAST_FROM_OLDEST);

	if (rc)
		return bfail("reader", "subscribe", 0, rc);
	for (;;) {
		rc = shmbus_bcast_peek(s, &m, 50);
		if (rc == -ETIMEDOUT) {
			/* Done when the producer is dead and we are at its
			 * tail (its seq may count a commit it died in); not
			 * before it has come at all (it starts after us). */
			if (shmbus_bcast_stats(s, &st) ||
			    shmbus_bcast_sub_stats(s, (unsigned)shmbus_bcast_index(s), &ss))
				return 1;
			seen_producer |= st.producer_alive || seq > 0;
			if (seen_producer && !st.producer_alive && ss.lag_bytes == 0)
				break;
			continue;
		}
		if (rc)
			return bfail("reader", "peek", seq, rc);
		if (m.seq != seq || !bcast_msg_ok(m.data, m.len, seq))
			return bfail("reader", "wrong message", seq, -EBADMSG);
		if (shmbus_bcast_release(s))
			return 1;
		seq++;
	}
	shmbus_bcast_close(s);
	return seq > 0 ? 0 : 1;
}

static void producer_killed(void **state)
{
	struct job j = { .name = tu_name("pkill") };
	struct shmbus_bcast_params prm = { .capacity = 1 << 12, .subscribers = 4 };
	pid_t subs[2], prod;

	(void)state;
	assert_int_equal(shmbus_bcast_create(j.name, &prm), 0);
	subs[0] = tu_spawn(subscribe_until_dead, &j);
	subs[1] = tu_spawn(subscribe_until_dead, &j);
	wait_joined(j.name, 2);
	prod = tu_spawn(produce_forever, &j);
	usleep(200000);
	kill(prod, SIGKILL);
	assert_int_equal(tu_wait(prod), 1000 + SIGKILL);
	assert_int_equal(tu_wait(subs[0]), 0);
	assert_int_equal(tu_wait(subs[1]), 0);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

static int sleep_until_eos(void *arg)
{
	struct job *j = arg;
	struct shmbus_bcast *s;
	struct shmbus_bcast_msg m;
	int rc = shmbus_bcast_subscribe(&s, j->name, SHMBUS_BCAST_FROM_NEXT);

	if (rc)
		return bfail("sleeper", "subscribe", 0, rc);
	alarm(20); /* a lost wake-up would hang: fail instead */
	rc = shmbus_bcast_peek(s, &m, -1);
	shmbus_bcast_close(s);
	return rc == -SHMBUS_EEOS ? 0 : bfail("sleeper", "peek", 0, rc);
}

static void eos_wakes_sleeper(void **state)
{
	struct job j = { .name = tu_name("eos") };
	struct shmbus_bcast_params prm = { .capacity = 1 << 12 };
	struct shmbus_bcast *p;
	pid_t sub;

	(void)state;
	assert_int_equal(shmbus_bcast_create(j.name, &prm), 0);
	assert_int_equal(shmbus_bcast_open_producer(&p, j.name), 0);
	sub = tu_spawn(sleep_until_eos, &j);
	usleep(300000); /* well past its spinning: asleep on the futex */
	assert_int_equal(shmbus_bcast_close_stream(p), 0);
	assert_int_equal(tu_wait(sub), 0);
	shmbus_bcast_close(p);
	assert_int_equal(shmbus_block_unlink(j.name), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(eos_wakes_sleeper, tu_teardown),
		cmocka_unit_test_teardown(producer_killed, tu_teardown),
		cmocka_unit_test_teardown(lossy_stopped, tu_teardown),
		cmocka_unit_test_teardown(lossy_torn_reads, tu_teardown),
		cmocka_unit_test_teardown(reliable_killed_subscribers, tu_teardown),
		cmocka_unit_test_teardown(stream_reliable, tu_teardown),
	};

	/* scripts/torture.sh: only the kill torture */
	if (tu_torture_seconds())
		cmocka_set_test_filter("reliable_killed_subscribers");
	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
