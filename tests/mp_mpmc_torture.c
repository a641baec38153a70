/*
 * mp_mpmc_torture.c - kill producers and consumers of an mpmc ring with
 * SIGKILL, round after round, and check that the ring never wedges, never
 * duplicates, and loses exactly what its `lost` counter says.
 *
 * Three producer and three consumer processes run at all times.  Each round
 * the parent gives every producer a budget of messages, picks a victim at
 * random and kills it either
 *  - parked by the test hook right where a kill hurts most: a producer
 *    between claim and write (MPMC_HOOK_CLAIMED) or between write and
 *    publish (MPMC_HOOK_WRITTEN), a consumer between claim and read
 *    (MPMC_HOOK_TAKEN) or between read and release (MPMC_HOOK_READ); or
 *  - at a random moment of the round's traffic (after a random number of
 *    the round's messages went through).
 * Some rounds first check that the parked (live, merely slow) holder keeps
 * its slot for several liveness timeouts; some leave the victim a zombie
 * (not reaped) while the others recover.  Then a replacement starts, and the
 * survivors must finish the round's budget - which needs the victim's slot
 * recovered by them, since the ring is much smaller than the budget.
 *
 * After each round, at quiescence, the parent checks against the block:
 *  - nothing was delivered twice, every message is intact, and within each
 *    consumer each producer's messages arrive in order;
 *  - missing == lost: positions claimed (tail) minus messages delivered
 *    equals the ring's `lost` counter;
 *  - every loss is attributed to a dead participant entry (per-entry `lost`
 *    counters sum to `lost`, live entries have none, a victim at most one);
 *  - a dead producer's lost message never shows up later.
 * Consumers log a message *before* releasing it, with a PENDING mark that
 * turns FINAL after the release; a dead consumer's PENDING entry is resolved
 * by its entry's `lost` counter (recovered: not delivered; else delivered).
 * A producer's record `next_seq` is the one message it may have in flight.
 *
 * SHMBUS_TORTURE_ROUNDS overrides the number of rounds (default 200, 100
 * under sanitizers); SHMBUS_TORTURE_SECONDS runs batches of rounds for that
 * long instead (scripts/torture.sh), then prints the common summary line.  The liveness timeout is 20 ms (50 ms sanitized).
 */
#include <errno.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mpmc/mpmc_internal.h"
#include "shmbus/mpmc.h"
#include "tu_mpmc.h"
#include "testutil.h"

#define NPROD 3
#define NCONS 3
#define SLOTS 16
#define SLOT 64
#define BUDGET 100          /* messages per producer per round */
#define DEADLINE_MS 30000   /* a wedge, not slowness, makes a round fail */

enum { ST_STARTING, ST_RUNNING, ST_PARKED };
enum { LOG_EMPTY, LOG_PENDING, LOG_FINAL };

/* One worker incarnation (ids start at 1; 0 means nobody). */
struct wrec {
	_Atomic int state;
	_Atomic int park_at;        /* hook point to park at, or -1 */
	_Atomic uint64_t budget;    /* producer: may send seqs below this */
	_Atomic uint64_t next_seq;  /* producer: messages committed so far */
	_Atomic uint32_t part_idx;  /* participant entry */
	int role;
	pid_t pid;
	bool dead;
	/* Parent only: the entry's loss count when this incarnation got it
	 * (entries are reused once recovered), and its own losses once dead
	 * and settled. */
	uint64_t lost_base, lost_final;
};

/* One delivery, logged by a consumer before it releases the message. */
struct lentry {
	_Atomic uint32_t state;     /* LOG_* */
	uint32_t consumer;          /* incarnation id */
	uint32_t producer;          /* incarnation id */
	uint32_t seq;
};

struct shared {
	_Atomic int stop;
	_Atomic uint64_t nlog;      /* entries handed out */
	uint64_t cap;               /* log capacity */
	uint32_t nrec;              /* records in use (parent only writes) */
	uint32_t maxrec;
	struct wrec *recs;          /* [maxrec], in this mapping */
	struct lentry *log;         /* [cap], in this mapping */
};

static struct shared *sh;
static const char *ring_name;
static struct wrec *self;      /* in a worker: its own record */

/* Test hook, in workers: park at the point the parent asked for. */
static void park_hook(enum mpmc_hook_point point, struct shmbus_mpmc *h)
{
	(void)h;
	/* Acquire: pairs with the parent's release store of park_at. */
	if (atomic_load_explicit(&self->park_at, memory_order_acquire) != (int)point)
		return;
	atomic_store_explicit(&self->state, ST_PARKED, memory_order_release);
	for (;;)
		pause();
}

/*
 * Busy "work" of 0..@max_us microseconds with the slot held, as a slow
 * writer or reader would have: it widens the windows a random kill can hit.
 */
static void think(unsigned *seed, unsigned max_us)
{
	struct timespec t0, t;
	long us = rand_r(seed) % (long)(max_us + 1);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000L + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static int producer_main(uint32_t id)
{
	struct shmbus_mpmc *h;
	unsigned seed = id;
	uint64_t next = 0;
	char msg[SLOT];
	void *data;
	int rc;

	if (shmbus_mpmc_open(&h, ring_name, SHMBUS_MPMC_PRODUCER))
		return 10;
	shmbus_mpmc_set_yields(h, 0);
	atomic_store_explicit(&self->part_idx, shmbus_mpmc_index(h), memory_order_relaxed);
	/* Release: the index is visible to the parent that sees RUNNING. */
	atomic_store_explicit(&self->state, ST_RUNNING, memory_order_release);
	while (!atomic_load_explicit(&sh->stop, memory_order_acquire)) {
		if (next >= atomic_load_explicit(&self->budget, memory_order_acquire)) {
			usleep(200);
			continue;
		}
		if (next % 2) {
			rc = shmbus_mpmc_reserve(h, SLOT, &data, 2000);
			if (rc == 0) {
				size_t len = tu_mpmc_build(data, SLOT, id, next);

				think(&seed, 60);
				rc = shmbus_mpmc_commit(h, len);
			}
		} else {
			rc = shmbus_mpmc_push(h, msg, tu_mpmc_build(msg, SLOT, id, next), 2000);
		}
		if (rc == -ETIMEDOUT)
			continue;
		if (rc)
			return 20;
		next++;
		/* Release: the parent reads it as "all below are published". */
		atomic_store_explicit(&self->next_seq, next, memory_order_release);
	}
	shmbus_mpmc_close(h);
	return 0;
}

static int consumer_main(uint32_t id)
{
	struct shmbus_mpmc *h;
	unsigned seed = id;
	const void *data;
	size_t len;
	int rc;

	if (shmbus_mpmc_open(&h, ring_name, SHMBUS_MPMC_CONSUMER))
		return 10;
	shmbus_mpmc_set_yields(h, 0);
	atomic_store_explicit(&self->part_idx, shmbus_mpmc_index(h), memory_order_relaxed);
	atomic_store_explicit(&self->state, ST_RUNNING, memory_order_release);
	while (!atomic_load_explicit(&sh->stop, memory_order_acquire)) {
		const struct tu_mpmc_msg *m;
		struct lentry *e;
		uint64_t g;

		rc = shmbus_mpmc_peek(h, &data, &len, 10);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc)
			return 30;
		think(&seed, 40);
		if (!tu_mpmc_valid(data, len))
			return 31;
		m = data;
		g = atomic_fetch_add_explicit(&sh->nlog, 1, memory_order_relaxed);
		if (g >= sh->cap)
			return 32;
		e = &sh->log[g];
		e->consumer = id;
		e->producer = m->producer;
		e->seq = (uint32_t)m->seq;
		/* Release: the entry's fields before PENDING. */
		atomic_store_explicit(&e->state, LOG_PENDING, memory_order_release);
		think(&seed, 20);
		if (shmbus_mpmc_release(h))
			return 33;
		atomic_store_explicit(&e->state, LOG_FINAL, memory_order_release);
	}
	shmbus_mpmc_close(h);
	return 0;
}

static int worker(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;

	/* A failed (or killed) test must not leave workers running. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 11;
	self = &sh->recs[id];
	atomic_store(&mpmc_test_hook, park_hook);
	/* Below the parent, which must see the moment to kill promptly. */
	if (setpriority(PRIO_PROCESS, 0, 5)) { /* not fatal: kills land later */ }
	return self->role == SHMBUS_MPMC_PRODUCER ? producer_main(id) : consumer_main(id);
}

/* --- the parent's side ---------------------------------------------------- */

struct checker {
	struct shmbus_mpmc *h;      /* the parent's own (idle consumer) handle */
	uint32_t maxrec;
	uint64_t maxper;            /* most messages one producer can send */
	unsigned char *seen;        /* [maxrec * maxper] deliveries */
	int64_t *last;              /* [maxrec * maxrec] last seq per (consumer, producer) */
	uint64_t scanned;           /* log entries accounted so far */
	uint64_t delivered;         /* deliveries among them */
	uint64_t max_stall_ms;      /* longest kill -> survivors done */
	unsigned parked, random_kills, slow_checks, zombies;
	unsigned random_losses;     /* random kills that caught a claim */
	unsigned agent_kills;       /* recoverers killed mid-recovery */
};

#define now_ms tu_now_ms

/* Messages lost with the claims of incarnation @id's entry (all owners). */
static uint64_t entry_lost(struct checker *c, uint32_t id)
{
	return mpmc_entry_lost(c->h, atomic_load(&sh->recs[id].part_idx));
}

/* Messages lost with incarnation @id's own claims. */
static uint64_t own_lost(struct checker *c, uint32_t id)
{
	const struct wrec *r = &sh->recs[id];

	return r->dead ? r->lost_final : entry_lost(c, id) - r->lost_base;
}

static uint32_t spawn(struct checker *c, int role)
{
	uint32_t id = ++sh->nrec;
	struct wrec *r = &sh->recs[id];

	assert_true(id < sh->maxrec);
	uint64_t t0 = now_ms();

	r->role = role;
	atomic_store(&r->park_at, -1);
	atomic_store(&r->state, ST_STARTING);
	r->pid = tu_spawn(worker, (void *)(uintptr_t)id);
	while (atomic_load_explicit(&r->state, memory_order_acquire) == ST_STARTING) {
		if (now_ms() - t0 > DEADLINE_MS)
			fail_msg("worker %u never started", id);
		usleep(200);
	}
	r->lost_base = entry_lost(c, id);
	return id;
}

/*
 * Whether log entry @g counts as a delivery.  Called only at quiescence
 * (see settled()), when no live consumer is between peek and FINAL: then a
 * PENDING entry is a dead consumer's, delivered unless its claim was
 * recovered, and an EMPTY one was never written (its message is lost).
 */
static bool is_delivery(uint64_t g)
{
	struct lentry *e = &sh->log[g];
	uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);

	if (st == LOG_FINAL)
		return true;
	return st == LOG_PENDING && e->consumer && e->consumer <= sh->nrec &&
	       sh->recs[e->consumer].dead && sh->recs[e->consumer].lost_final == 0;
}

/* Deliveries in the log: those accounted plus [scanned, end). */
static uint64_t deliveries(struct checker *c, uint64_t end)
{
	uint64_t g, n = c->delivered;

	for (g = c->scanned; g < end; g++)
		n += is_delivery(g);
	return n;
}

/* Check and record the deliveries in [scanned, end). */
static void account(struct checker *c, uint64_t end)
{
	for (; c->scanned < end; c->scanned++) {
		struct lentry *e = &sh->log[c->scanned];
		uint32_t p = e->producer, k = e->consumer;
		int64_t *last;

		if (!is_delivery(c->scanned))
			continue;
		if (p == 0 || p > sh->nrec || sh->recs[p].role != SHMBUS_MPMC_PRODUCER ||
		    e->seq >= c->maxper || k == 0 || k > sh->nrec)
			fail_msg("log %llu: unknown message %u/%u from %u",
				 (unsigned long long)c->scanned, p, e->seq, k);
		if (c->seen[(uint64_t)p * c->maxper + e->seq]++)
			fail_msg("message %u/%u delivered twice", p, e->seq);
		last = &c->last[(uint64_t)k * c->maxrec + p];
		if (*last >= (int64_t)e->seq)
			fail_msg("consumer %u got producer %u's #%u after #%lld", k, p, e->seq,
				 (long long)*last);
		*last = e->seq;
		c->delivered++;
	}
}

static struct shmbus_mpmc_stats ring_stats(struct checker *c)
{
	struct shmbus_mpmc_stats st;

	shmbus_mpmc_stats(c->h, &st);
	return st;
}

/*
 * Wait for quiescence and check missing == lost: every position producers
 * claimed (tail) is a delivery or a loss.  Live consumers drain meanwhile;
 * the equality cannot hold while one of them is mid-delivery (its message
 * is claimed but neither delivered nor lost), so once it holds, the log is
 * settled and is accounted.
 */
static void settle_and_check(struct checker *c, const char *when)
{
	uint64_t t0 = now_ms(), end, got = 0;
	struct shmbus_mpmc_stats st;

	for (;;) {
		assert_true(shmbus_mpmc_recover(c->h) >= 0); /* hints; dead claims */
		st = ring_stats(c);
		end = atomic_load(&sh->nlog);
		got = deliveries(c, end);
		if (st.tail == got + st.lost)
			break;
		if (now_ms() - t0 > DEADLINE_MS)
			fail_msg("%s: claimed %llu, delivered %llu, lost %llu: never settles", when,
				 (unsigned long long)st.tail, (unsigned long long)got,
				 (unsigned long long)st.lost);
		usleep(1000);
	}
	account(c, end);
}

/* Every loss belongs to a dead incarnation, at most one each. */
static void check_attribution(struct checker *c)
{
	uint64_t sum = mpmc_entry_lost(c->h, shmbus_mpmc_index(c->h));
	uint64_t lost = ring_stats(c).lost;
	uint32_t id;

	for (id = 1; id <= sh->nrec; id++) {
		uint64_t n = own_lost(c, id);

		if (n && !sh->recs[id].dead)
			fail_msg("live worker %u had %llu claims recovered", id,
				 (unsigned long long)n);
		if (n > 1)
			fail_msg("worker %u lost %llu messages (holds one at a time)", id,
				 (unsigned long long)n);
		sum += n;
	}
	if (sum != lost)
		fail_msg("per-entry losses %llu != lost %llu", (unsigned long long)sum,
			 (unsigned long long)lost);
}

/* Wait until every live producer has sent its whole budget. */
static void wait_producers(const uint32_t *prod)
{
	uint64_t t0 = now_ms();
	unsigned i;

	for (i = 0; i < NPROD; i++) {
		struct wrec *r = &sh->recs[prod[i]];

		while (atomic_load_explicit(&r->next_seq, memory_order_acquire) <
		       atomic_load(&r->budget)) {
			if (now_ms() - t0 > DEADLINE_MS)
				fail_msg("producer %u stuck at %llu of %llu: the ring is wedged",
					 prod[i], (unsigned long long)atomic_load(&r->next_seq),
					 (unsigned long long)atomic_load(&r->budget));
			usleep(500);
		}
	}
}

static void assert_alive(const uint32_t *ids, unsigned n)
{
	unsigned i;
	int st;

	for (i = 0; i < n; i++) {
		pid_t pid = sh->recs[ids[i]].pid;

		if (waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("worker %u exited on its own (status %d)", ids[i], st);
	}
}

/*
 * A random moment of the round's traffic: once producers have sent @target
 * of this round's messages (or the round is over).  Polls without sleeping,
 * so the kill lands while messages are moving (workers run at a lower
 * priority, so this poll sees the target reached in time).
 */
static unsigned c_traffic_kills; /* random kills that landed mid-traffic */

static void wait_for_traffic(const uint32_t *prod, const uint64_t *start, uint64_t target)
{
	uint64_t t0 = now_ms(), sent;
	unsigned i;

	do {
		sent = 0;
		for (i = 0; i < NPROD; i++)
			sent += atomic_load(&sh->recs[prod[i]].next_seq) - start[i];
	} while (sent < target && now_ms() - t0 < 1000);
	c_traffic_kills += sent < NPROD * BUDGET;
}

static unsigned rounds_wanted(void)
{
	const char *env = getenv("SHMBUS_TORTURE_ROUNDS");

	if (env && *env)
		return (unsigned)strtoul(env, NULL, 10);
	return tu_sanitized() ? 100 : 200;
}

/*
 * A survivor is recovering the victim and parked right after its slot CAS,
 * before counting the loss: kill it there.  The next recoverer must settle
 * the journalled recovery, counted once.  Returns the agent, or 0 if none
 * parked (nobody needed the victim's slot in time).
 */
static uint32_t kill_agent(uint32_t *prod, uint32_t *cons)
{
	uint64_t t0 = now_ms();
	uint32_t agent = 0;
	unsigned i;

	while (!agent && now_ms() - t0 < 5000) {
		for (i = 0; i < NPROD + NCONS && !agent; i++) {
			uint32_t id = i < NPROD ? prod[i] : cons[i - NPROD];

			if (id && atomic_load_explicit(&sh->recs[id].state,
						       memory_order_acquire) == ST_PARKED)
				agent = id;
		}
		usleep(200);
	}
	/* Nobody else parks from now on. */
	for (i = 0; i < NPROD + NCONS; i++) {
		uint32_t id = i < NPROD ? prod[i] : cons[i - NPROD];

		if (id)
			atomic_store_explicit(&sh->recs[id].park_at, -1, memory_order_release);
	}
	if (!agent)
		return 0;
	kill(sh->recs[agent].pid, SIGKILL);
	assert_int_equal(tu_wait(sh->recs[agent].pid), 1000 + SIGKILL);
	sh->recs[agent].dead = true;
	for (i = 0; i < NPROD; i++)
		prod[i] = prod[i] == agent ? 0 : prod[i];
	for (i = 0; i < NCONS; i++)
		cons[i] = cons[i] == agent ? 0 : cons[i];
	return agent;
}

/* One round: budgets, a victim parked or not, kill, survivors finish. */
static void one_round(struct checker *c, unsigned round, uint32_t *prod, uint32_t *cons,
		      unsigned liveness_ms)
{
	unsigned pick = (unsigned)rand() % (NPROD + NCONS), i;
	bool is_prod = pick < NPROD;
	uint32_t *slot = is_prod ? &prod[pick] : &cons[pick - NPROD];
	uint32_t victim = *slot;
	struct wrec *v = &sh->recs[victim];
	bool hook = rand() % 10 < 4, zombie = round % 2, agent_kill = false;
	uint64_t t_kill, start[NPROD];
	uint32_t agent = 0;

	if (hook) {
		int point = is_prod ? (rand() % 2 ? MPMC_HOOK_CLAIMED : MPMC_HOOK_WRITTEN) :
				      (rand() % 2 ? MPMC_HOOK_TAKEN : MPMC_HOOK_READ);

		/* Release: pairs with the acquire in park_hook(). */
		atomic_store_explicit(&v->park_at, point, memory_order_release);
	}
	for (i = 0; i < NPROD; i++) {
		start[i] = atomic_load(&sh->recs[prod[i]].next_seq);
		atomic_fetch_add_explicit(&sh->recs[prod[i]].budget, BUDGET, memory_order_release);
	}
	if (hook) {
		uint64_t t0 = now_ms();

		while (atomic_load_explicit(&v->state, memory_order_acquire) != ST_PARKED &&
		       now_ms() - t0 < 5000)
			usleep(200);
		hook = atomic_load(&v->state) == ST_PARKED;
	}
	if (hook && round % 8 == 0) {
		/* Slow is not dead: a live holder keeps its slot however long
		 * the others wait for it. */
		uint64_t lost = ring_stats(c).lost;

		usleep(4 * liveness_ms * 1000);
		if (ring_stats(c).lost != lost || own_lost(c, victim))
			fail_msg("round %u: a live, parked holder was robbed", round);
		c->slow_checks++;
	}
	if (!hook)
		wait_for_traffic(prod, start, (uint64_t)rand() % (NPROD * BUDGET));
	c->parked += hook;
	c->random_kills += !hook;
	if (hook && rand() % 4 == 0) {
		/* Whoever recovers the victim parks mid-recovery, to be
		 * killed there too. */
		for (i = 0; i < NPROD + NCONS; i++) {
			uint32_t id = i < NPROD ? prod[i] : cons[i - NPROD];

			if (id != victim)
				atomic_store_explicit(&sh->recs[id].park_at, MPMC_HOOK_RECOVERED,
						      memory_order_release);
		}
		agent_kill = true;
	}
	kill(v->pid, SIGKILL);
	t_kill = now_ms();
	if (!zombie)
		assert_int_equal(tu_wait(v->pid), 1000 + SIGKILL);
	v->dead = true;
	/* The survivors must finish the round without the victim: that needs
	 * its slot recovered, by them (the ring is far smaller than the
	 * budget, so producers lap it and consumers must pass it). */
	if (is_prod)
		prod[pick] = 0;
	else
		cons[pick - NPROD] = 0;
	if (agent_kill) {
		agent = kill_agent(prod, cons);
		c->agent_kills += agent != 0;
	}
	{
		uint32_t live[NPROD];
		unsigned n = 0;

		for (i = 0; i < NPROD; i++)
			if (prod[i])
				live[n++] = prod[i];
		for (i = n; i < NPROD; i++)
			live[i] = live[0];
		wait_producers(live);
	}
	if (now_ms() - t_kill > c->max_stall_ms)
		c->max_stall_ms = now_ms() - t_kill;
	if (zombie) {
		c->zombies++;
		assert_int_equal(tu_wait(v->pid), 1000 + SIGKILL);
	}
	/* Recover whatever the survivors did not need (a consumer's slot
	 * that nobody lapped yet), so the victim's losses are final. */
	assert_true(shmbus_mpmc_recover(c->h) >= 0);
	v->lost_final = entry_lost(c, victim) - v->lost_base;
	settle_and_check(c, "round");
	if (agent)
		sh->recs[agent].lost_final = entry_lost(c, agent) - sh->recs[agent].lost_base;
	check_attribution(c);
	if (hook && !own_lost(c, victim))
		fail_msg("round %u: victim parked holding a claim, but nothing recovered", round);
	c->random_losses += !hook && own_lost(c, victim);
	*slot = spawn(c, is_prod ? SHMBUS_MPMC_PRODUCER : SHMBUS_MPMC_CONSUMER);
	for (i = 0; i < NPROD; i++)
		if (!prod[i])
			prod[i] = spawn(c, SHMBUS_MPMC_PRODUCER);
	for (i = 0; i < NCONS; i++)
		if (!cons[i])
			cons[i] = spawn(c, SHMBUS_MPMC_CONSUMER);
	assert_alive(prod, NPROD);
	assert_alive(cons, NCONS);
}

/* One batch of @rounds rounds on a fresh ring, added to @sum. */
static void torture_batch(unsigned rounds, struct tu_torture *sum)
{
	const unsigned liveness = tu_sanitized() ? 50 : 20;
	const uint32_t maxrec = 2 + NPROD + NCONS + 2 * rounds; /* up to two kills a round */
	struct shmbus_mpmc_params p = {
		.slots = SLOTS,
		.slot_size = SLOT,
		.liveness_ms = liveness,
		.participants = maxrec + 2,
	};
	struct checker c = { .maxrec = maxrec + 1, .maxper = (uint64_t)(rounds + 1) * BUDGET + 1 };
	uint64_t cap = (uint64_t)(rounds + 2) * NPROD * BUDGET, t0 = now_ms(), missing = 0;
	uint64_t lost_consumers = 0, seq;
	uint32_t prod[NPROD], cons[NCONS], id;
	struct shmbus_mpmc_stats st;
	size_t bytes;
	unsigned i, r;

	assert_true(p.participants <= SHMBUS_MPMC_PARTICIPANTS_MAX);
	srand((unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)now_ms());
	ring_name = tu_name("torture");
	assert_int_equal(shmbus_mpmc_create(ring_name, &p), 0);
	bytes = sizeof(*sh) + (maxrec + 1) * sizeof(struct wrec) + cap * sizeof(struct lentry);
	sh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(sh != MAP_FAILED);
	sh->recs = (struct wrec *)(sh + 1);
	sh->log = (struct lentry *)(sh->recs + maxrec + 1);
	sh->cap = cap;
	sh->maxrec = maxrec + 1;
	c.seen = calloc(c.maxrec * c.maxper, 1);
	c.last = malloc(sizeof(int64_t) * c.maxrec * c.maxrec);
	assert_non_null(c.seen);
	assert_non_null(c.last);
	for (i = 0; i < c.maxrec * c.maxrec; i++)
		c.last[i] = -1;
	assert_int_equal(shmbus_mpmc_open(&c.h, ring_name, SHMBUS_MPMC_CONSUMER), 0);
	for (i = 0; i < NPROD; i++)
		prod[i] = spawn(&c, SHMBUS_MPMC_PRODUCER);
	for (i = 0; i < NCONS; i++)
		cons[i] = spawn(&c, SHMBUS_MPMC_CONSUMER);

	for (r = 0; r < rounds; r++)
		one_round(&c, r, prod, cons, liveness);

	/* Stop everyone cleanly and check the whole history once more. */
	for (i = 0; i < NPROD; i++)
		atomic_fetch_add(&sh->recs[prod[i]].budget, BUDGET);
	wait_producers(prod);
	settle_and_check(&c, "end");
	atomic_store(&sh->stop, 1);
	for (i = 0; i < NPROD; i++)
		assert_int_equal(tu_wait(sh->recs[prod[i]].pid), 0);
	for (i = 0; i < NCONS; i++)
		assert_int_equal(tu_wait(sh->recs[cons[i]].pid), 0);
	check_attribution(&c);
	for (id = 1; id <= sh->nrec; id++) {
		struct wrec *w = &sh->recs[id];
		uint64_t next = atomic_load(&w->next_seq);

		if (w->role == SHMBUS_MPMC_CONSUMER) {
			lost_consumers += own_lost(&c, id);
			continue;
		}
		/* Everything below next_seq was published: delivered, or lost
		 * with a dead consumer. */
		for (seq = 0; seq < next; seq++)
			missing += !c.seen[(uint64_t)id * c.maxper + seq];
		/* A producer's recovered claim is its in-flight message: it
		 * must never have been delivered. */
		if (own_lost(&c, id) && c.seen[(uint64_t)id * c.maxper + next])
			fail_msg("producer %u's skipped message #%llu was delivered", id,
				 (unsigned long long)next);
	}
	if (missing > lost_consumers)
		fail_msg("%llu published messages missing, consumers lost only %llu",
			 (unsigned long long)missing, (unsigned long long)lost_consumers);
	st = ring_stats(&c);
	printf("# %u rounds in %.1f s: %u parked kills, %u random kills (%u caught a claim, "
	       "%u mid-traffic), %u recoverers killed mid-recovery, %u slow-holder checks, "
	       "%u zombies; %llu delivered, lost %llu, recovered %llu; longest stall %llu ms "
	       "(liveness %u ms)\n",
	       rounds, (double)(now_ms() - t0) / 1000, c.parked, c.random_kills,
	       c.random_losses, c_traffic_kills, c.agent_kills, c.slow_checks,
	       c.zombies, (unsigned long long)c.delivered, (unsigned long long)st.lost,
	       (unsigned long long)st.recovered, (unsigned long long)c.max_stall_ms, liveness);
	sum->rounds += rounds;
	sum->kills += c.parked + c.random_kills + c.agent_kills;
	sum->messages += c.delivered;
	sum->lost += st.lost; /* == missing, checked every round */
	tu_torture_stall(sum, c.max_stall_ms);
	shmbus_mpmc_close(c.h);
	assert_int_equal(shmbus_block_unlink(ring_name), 0);
	free(c.seen);
	free(c.last);
	munmap(sh, bytes);
}

/*
 * The short CI mode: one batch.  With SHMBUS_TORTURE_SECONDS, batches of 50
 * rounds (each on a fresh ring: the checker's tables grow with the rounds)
 * until the time is up.  A duplicate fails the round, so the summary's
 * duplicates is 0 whenever it is printed.
 */
static void test_torture(void **state)
{
	const unsigned secs = tu_torture_seconds();
	const uint64_t t0 = now_ms();
	struct tu_torture sum = { 0 };

	(void)state;
	if (!secs) {
		torture_batch(rounds_wanted(), &sum);
	} else {
		do
			torture_batch(50, &sum);
		while (now_ms() - t0 < (uint64_t)secs * 1000);
	}
	tu_torture_print("mpmc", &sum);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_torture, tu_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, tu_teardown);
}
