/*
 * mp_mpmc_eos.c - end of stream between processes: 2 producer processes
 * send N messages each and close the stream; 2 consumer processes pop until
 * -SHMBUS_EEOS.  Every message must arrive exactly once, intact, in
 * per-producer order, before either consumer sees the end; and the end must
 * wake a consumer asleep on the empty ring (the last producer closes only
 * once the ring is drained and a consumer sleeps in the futex).
 *
 * SHMBUS_MPMC_MSGS overrides the messages per producer (default 20000,
 * 3000 under sanitizers).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "shmbus/mpmc.h"
#include "tu_mpmc.h"
#include "testutil.h"

#define NPROD 2
#define NCONS 2
#define SLOT 64

struct shared {
	_Atomic unsigned closed;        /* producers that closed the stream */
	uint64_t counts[NCONS];
	struct tu_mpmc_entry *logs[NCONS];   /* in the same shared mapping */
};

struct worker {
	const char *name;
	struct shared *sh;
	uint64_t msgs;                  /* per producer */
	unsigned id;
};

static int produce(void *arg)
{
	const struct worker *w = arg;
	struct shmbus_mpmc_stats st;
	struct shmbus_mpmc *h;
	char msg[SLOT];
	uint64_t seq;
	int i;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return 11;
	if (shmbus_mpmc_open(&h, w->name, SHMBUS_MPMC_PRODUCER))
		return 10;
	for (seq = 0; seq < w->msgs; seq++) {
		size_t len = tu_mpmc_build(msg, sizeof(msg), w->id, seq);

		if (shmbus_mpmc_push(h, msg, len, 10000))
			return 12;
	}
	if (w->id == 0) {
		/* The last to close: once the other closed, the ring is
		 * drained and a consumer sleeps (futex, no polls: yields 0),
		 * so that the end has somebody to wake. */
		for (i = 0; i < 100000; i++) {
			shmbus_mpmc_stats(h, &st);
			if (atomic_load(&w->sh->closed) == NPROD - 1 &&
			    st.msgs_out == NPROD * w->msgs && waitq_has_waiters(&h->ctl->not_empty.q))
				break;
			usleep(100);
		}
		if (i == 100000)
			return 13;
		usleep(20000); /* from counted to asleep in the futex, most likely */
		shmbus_mpmc_stats(h, &st);
		if (st.ended)
			return 14; /* our open handle holds it open */
	}
	if (shmbus_mpmc_close_stream(h))
		return 15;
	atomic_fetch_add(&w->sh->closed, 1);
	if (shmbus_mpmc_push_try(h, msg, 1) != -EPIPE)
		return 16;
	shmbus_mpmc_close(h);
	return 0;
}

static int consume(void *arg)
{
	const struct worker *w = arg;
	struct tu_mpmc_entry *log = w->sh->logs[w->id];
	struct shmbus_mpmc *h;
	uint64_t n = 0;
	char buf[SLOT];
	int rc;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL))
		return 11;
	if (shmbus_mpmc_open(&h, w->name, SHMBUS_MPMC_CONSUMER))
		return 10;
	shmbus_mpmc_set_yields(h, 0); /* sleep at once on an empty ring */
	for (;;) {
		struct tu_mpmc_msg m;

		rc = shmbus_mpmc_pop(h, buf, sizeof(buf), 30000);
		if (rc < 0)
			break;
		if (!tu_mpmc_valid(buf, (size_t)rc))
			return 12;
		memcpy(&m, buf, sizeof(m));
		if (n == NPROD * w->msgs)
			return 13;
		log[n++] = (struct tu_mpmc_entry){ m.producer, (uint32_t)m.seq };
	}
	w->sh->counts[w->id] = n;
	if (rc != -SHMBUS_EEOS)
		return 14;
	/* And it stays ended. */
	if (shmbus_mpmc_pop_try(h, buf, sizeof(buf)) != -SHMBUS_EEOS ||
	    shmbus_mpmc_pop(h, buf, sizeof(buf), -1) != -SHMBUS_EEOS)
		return 15;
	shmbus_mpmc_close(h);
	return 0;
}

static uint64_t msgs_per_producer(void)
{
	const char *env = getenv("SHMBUS_MPMC_MSGS");

	if (env && *env)
		return strtoull(env, NULL, 10);
	return tu_sanitized() ? 3000 : 20000;
}

static void test_2x2_until_eos(void **state)
{
	struct shmbus_mpmc_params p = { .slots = 16, .slot_size = SLOT, .participants = 8,
					.liveness_ms = 30000 };
	const char *name = tu_name("eos");
	uint64_t msgs = msgs_per_producer();
	size_t logbytes = (size_t)msgs * NPROD * sizeof(struct tu_mpmc_entry);
	struct worker wp[NPROD], wc[NCONS];
	pid_t pids[NPROD + NCONS];
	const struct tu_mpmc_entry *logs[NCONS];
	uint64_t sent[NPROD];
	struct shmbus_mpmc_stats st;
	struct shmbus_mpmc *h;
	struct shared *sh;
	char why[160];
	unsigned i;

	(void)state;
	assert_int_equal(shmbus_mpmc_create(name, &p), 0);
	sh = mmap(NULL, sizeof(*sh) + NCONS * logbytes, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	for (i = 0; i < NCONS; i++)
		sh->logs[i] = (struct tu_mpmc_entry *)((char *)(sh + 1) + i * logbytes);
	for (i = 0; i < NCONS; i++) {
		wc[i] = (struct worker){ name, sh, msgs, i };
		pids[NPROD + i] = tu_spawn(consume, &wc[i]);
	}
	for (i = 0; i < NPROD; i++) {
		wp[i] = (struct worker){ name, sh, msgs, i };
		pids[i] = tu_spawn(produce, &wp[i]);
	}
	for (i = 0; i < NPROD + NCONS; i++)
		assert_int_equal(tu_wait(pids[i]), 0);
	for (i = 0; i < NPROD; i++)
		sent[i] = msgs;
	for (i = 0; i < NCONS; i++)
		logs[i] = sh->logs[i];
	assert_int_equal(sh->counts[0] + sh->counts[1], NPROD * msgs);
	if (tu_mpmc_check_logs(logs, sh->counts, NCONS, sent, NPROD, why, sizeof(why)))
		fail_msg("%s", why);
	assert_int_equal(shmbus_mpmc_open(&h, name, SHMBUS_MPMC_CONSUMER), 0);
	shmbus_mpmc_stats(h, &st);
	assert_int_equal(st.ended, 1);
	assert_int_equal(st.producers_closed, NPROD);
	assert_int_equal(st.producers_open, 0);
	assert_int_equal(st.msgs_out, NPROD * msgs);
	assert_int_equal(st.lost, 0);
	printf("# %llu msgs, empty_waits %llu, wakes %llu\n", (unsigned long long)st.msgs_out,
	       (unsigned long long)st.empty_waits, (unsigned long long)st.wakes);
	shmbus_mpmc_close(h);
	munmap(sh, sizeof(*sh) + NCONS * logbytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_2x2_until_eos, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
