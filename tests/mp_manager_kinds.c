/*
 * mp_manager_kinds.c - rings and slot tables created through a manager, in
 * a child process that is then SIGKILLed or shuts down: every one of them
 * must be gone afterwards (polled with a generous bound; the assertion is
 * "gone", never how fast).  Before that, another process uses each by name
 * through the ordinary APIs (they are ordinary blocks), and `shmbus inspect`
 * shows the rings' live manager.  Last, SIGKILL at random moments of a loop
 * of create calls: nothing may be left behind, whatever instruction the
 * kill interrupted.
 *
 * SHMBUS_TEST_SEED=N repeats the random kill times of a run (it prints its
 * seed); SHMBUS_TEST_ROUNDS=N changes the number of kill rounds.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "tu_manager.h"

#define SPSC_MSG "spsc says hello"
#define MPMC_MSG "mpmc says hello"
#define SLOT_STR "slots say hello"
#define SLOT_INT 4242

enum { MGR, SPSC, MPMC, SLOTS, NNAMES };

struct scenario {
	char name[NNAMES][SHMBUS_NAME_MAX + 1];
	int ready[2]; /* owner -> test: the guardian's ident */
	int go[2];    /* test -> owner: 'S' shut down (EOF: just wait) */
};

static void scenario_init(struct scenario *s)
{
	static const char *const what[NNAMES] = { "mgr", "spsc", "mpmc", "slots" };
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NNAMES; i++)
		snprintf(s->name[i], sizeof(s->name[i]), "%s", tu_name(what[i]));
	assert_int_equal(pipe(s->ready), 0);
	assert_int_equal(pipe(s->go), 0);
}

static const struct shmbus_mpmc_params mpmc_params = { .slots = 8, .slot_size = 64 };

/* Create one of each kind through @m and put a message or value in each. */
static int make_kinds(struct shmbus_manager *m, const struct scenario *s)
{
	struct shmbus_slot_value v[2] = { shmbus_slot_int(1), shmbus_slot_str(SLOT_STR) };
	struct shmbus_slots *sl;
	struct shmbus_spsc *q;
	struct shmbus_mpmc *h;

	if (shmbus_manager_create_spsc(m, s->name[SPSC], 4096, 0) ||
	    shmbus_manager_create_mpmc(m, s->name[MPMC], &mpmc_params) ||
	    shmbus_manager_create_slots(m, &sl, s->name[SLOTS], v, 2, 0))
		return 1;
	v[0] = shmbus_slot_int(SLOT_INT);
	if (shmbus_slots_set(sl, 0, &v[0]))
		return 2;
	shmbus_slots_close(sl);
	if (shmbus_spsc_open(&q, s->name[SPSC], SHMBUS_SPSC_PRODUCER) ||
	    shmbus_spsc_push_try(q, SPSC_MSG, sizeof(SPSC_MSG)))
		return 3;
	shmbus_spsc_close(q);
	if (shmbus_mpmc_open(&h, s->name[MPMC], SHMBUS_MPMC_PRODUCER) ||
	    shmbus_mpmc_push_try(h, MPMC_MSG, sizeof(MPMC_MSG)))
		return 4;
	shmbus_mpmc_close(h);
	return 0;
}

/* The owner: start a manager, make the three, report, then wait for 'S'
 * (shut down cleanly) or for the SIGKILL. */
static int owner_main(void *arg)
{
	struct scenario *s = arg;
	struct shmbus_manager *m;
	shmbus_ident_t g;
	char c;
	int rc;

	close(s->ready[0]);
	close(s->go[1]);
	/* Never outlive a test that failed before killing us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 9;
	if (shmbus_manager_start(&m, s->name[MGR], 0))
		return 10;
	rc = make_kinds(m, s);
	if (rc)
		return 10 + rc;
	g = shmbus_manager_guardian(m);
	if (write(s->ready[1], &g, sizeof(g)) != (ssize_t)sizeof(g))
		return 20;
	if (read(s->go[0], &c, 1) != 1 || c != 'S') {
		for (;;)
			pause();
	}
	if (shmbus_manager_shutdown(m))
		return 21;
	shmbus_manager_free(m);
	return 0;
}

static pid_t owner_start(struct scenario *s, shmbus_ident_t *guardian)
{
	pid_t pid = tu_spawn(owner_main, s);

	close(s->ready[1]);
	close(s->go[0]);
	assert_int_equal(read(s->ready[0], guardian, sizeof(*guardian)), sizeof(*guardian));
	close(s->ready[0]);
	return pid;
}

/* Another process: read each message and value by name, ordinary APIs. */
static int reader_main(void *arg)
{
	const struct scenario *s = arg;
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	struct shmbus_spsc *q;
	struct shmbus_mpmc *h;
	char buf[64];

	if (shmbus_spsc_open(&q, s->name[SPSC], SHMBUS_SPSC_CONSUMER))
		return 1;
	if (shmbus_spsc_pop_try(q, buf, sizeof(buf)) != (int)sizeof(SPSC_MSG) ||
	    strcmp(buf, SPSC_MSG) != 0)
		return 2;
	shmbus_spsc_close(q);
	if (shmbus_mpmc_open(&h, s->name[MPMC], SHMBUS_MPMC_CONSUMER))
		return 3;
	if (shmbus_mpmc_pop_try(h, buf, sizeof(buf)) != (int)sizeof(MPMC_MSG) ||
	    strcmp(buf, MPMC_MSG) != 0)
		return 4;
	shmbus_mpmc_close(h);
	if (shmbus_slots_attach(&sl, s->name[SLOTS], 0))
		return 5;
	if (shmbus_slots_get(sl, 0, &v, NULL, 0) || v.type != SHMBUS_SLOT_INT ||
	    v.u.i != SLOT_INT)
		return 6;
	if (shmbus_slots_get(sl, 1, &v, buf, sizeof(buf)) || v.type != SHMBUS_SLOT_STR ||
	    strcmp(buf, SLOT_STR) != 0)
		return 7;
	if (!shmbus_slots_guarded(sl))
		return 8;
	shmbus_slots_close(sl);
	return 0;
}

/* `shmbus inspect --json NAME`, parsed. */
static json_t *inspect_json(const char *name)
{
	const char *argv[] = { tu_tool(), "inspect", name, "--json", NULL };
	json_error_t err;
	char *out = NULL;
	json_t *doc;

	assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
	doc = json_loads(out, 0, &err);
	assert_non_null(doc);
	free(out);
	return doc;
}

/* The rings name the guardian, live; the manager lists all three. */
static void check_inspect(const struct scenario *s, shmbus_ident_t g)
{
	json_t *doc, *mgr, *blocks;
	size_t i, k;

	for (k = SPSC; k <= MPMC; k++) {
		doc = inspect_json(s->name[k]);
		mgr = json_object_get(doc, "manager");
		assert_true(json_is_object(mgr));
		assert_int_equal(json_integer_value(json_object_get(mgr, "pid")),
				 shmbus_ident_pid(g));
		assert_true(json_is_true(json_object_get(mgr, "alive")));
		json_decref(doc);
		assert_int_equal(tu_mgr_header_manager(s->name[k]), g);
	}
	doc = inspect_json(s->name[MGR]);
	blocks = json_object_get(json_object_get(doc, "registry"), "blocks");
	assert_int_equal(json_array_size(blocks), 3);
	for (k = SPSC; k < NNAMES; k++) {
		bool seen = false;

		for (i = 0; i < json_array_size(blocks); i++) {
			json_t *e = json_array_get(blocks, i);

			if (strcmp(json_string_value(json_object_get(e, "name")), s->name[k]))
				continue;
			seen = true;
			assert_true(json_is_true(json_object_get(e, "present")));
			assert_string_equal(json_string_value(json_object_get(e, "how")),
					    "created");
		}
		assert_true(seen);
	}
	json_decref(doc);
}

static void assert_all_exist(const struct scenario *s)
{
	int i;

	for (i = 0; i < NNAMES; i++)
		assert_true(tu_mgr_exists(s->name[i]));
}

static void test_sigkill_owner(void **state)
{
	const char *names[NNAMES];
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;
	int i;

	(void)state;
	scenario_init(&s);
	pid = owner_start(&s, &g);
	assert_all_exist(&s);
	assert_int_equal(tu_wait(tu_spawn(reader_main, &s)), 0);
	check_inspect(&s, g);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
	for (i = 0; i < NNAMES; i++)
		names[i] = s.name[i];
	assert_true(tu_mgr_wait_gone(names, NNAMES));
	assert_true(tu_mgr_wait_dead(g));
	close(s.go[1]);
}

static void test_normal_shutdown(void **state)
{
	struct scenario s;
	shmbus_ident_t g;
	pid_t pid;
	int i;

	(void)state;
	scenario_init(&s);
	pid = owner_start(&s, &g);
	assert_all_exist(&s);
	assert_int_equal(tu_wait(tu_spawn(reader_main, &s)), 0);
	assert_int_equal(write(s.go[1], "S", 1), 1);
	close(s.go[1]);
	assert_int_equal(tu_wait(pid), 0);
	/* Shutdown is synchronous: gone before the owner even exited. */
	for (i = 0; i < NNAMES; i++)
		assert_false(tu_mgr_exists(s.name[i]));
	assert_true(tu_mgr_wait_dead(g));
}

/* ---- SIGKILL at random moments of a loop of create calls ---------------- */

struct churn {
	char prefix[SHMBUS_NAME_MAX + 1];
	int ready[2];
	uint64_t *done; /* shared page: creates completed */
};


/* Create one of each kind per round, as fast as possible, until killed;
 * two of the three are unlinked again so the list never fills up. */
static int churn_main(void *arg)
{
	struct churn *c = arg;
	struct shmbus_slot_value v[3] = { shmbus_slot_int(1), shmbus_slot_str("x"),
					  shmbus_slot_none() };
	struct shmbus_manager *m;
	struct shmbus_slots *sl;
	char name[NNAMES][2 * SHMBUS_NAME_MAX]; /* prefixes are short */
	uint64_t i;
	int k;

	close(c->ready[0]);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1)
		return 9;
	snprintf(name[MGR], sizeof(name[MGR]), "%smgr", c->prefix);
	if (shmbus_manager_start(&m, name[MGR], 4096))
		return 10;
	if (write(c->ready[1], "R", 1) != 1)
		return 11;
	for (i = 0;; i++) {
		snprintf(name[SPSC], sizeof(name[SPSC]), "%ss%llu", c->prefix,
			 (unsigned long long)i);
		snprintf(name[MPMC], sizeof(name[MPMC]), "%sm%llu", c->prefix,
			 (unsigned long long)i);
		snprintf(name[SLOTS], sizeof(name[SLOTS]), "%sl%llu", c->prefix,
			 (unsigned long long)i);
		if (shmbus_manager_create_spsc(m, name[SPSC], 4096, 0))
			return 12;
		__atomic_add_fetch(c->done, 1, __ATOMIC_RELAXED);
		if (shmbus_manager_create_mpmc(m, name[MPMC], &mpmc_params))
			return 13;
		__atomic_add_fetch(c->done, 1, __ATOMIC_RELAXED);
		if (shmbus_manager_create_slots(m, &sl, name[SLOTS], v, 3, 0))
			return 14;
		shmbus_slots_close(sl);
		__atomic_add_fetch(c->done, 1, __ATOMIC_RELAXED);
		for (k = SPSC; k < NNAMES; k++) {
			if ((uint64_t)k != SPSC + i % 3 && shmbus_manager_unlink(m, name[k]))
				return 15;
		}
		if (shmbus_manager_count(m) > 4000) {
			shmbus_manager_shutdown(m); /* keep within capacity... */
			return 16;                  /* ...not expected this soon */
		}
	}
}

static unsigned env_uint(const char *var, unsigned dflt)
{
	const char *s = getenv(var);

	return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

static void test_kill_during_creates(void **state)
{
	unsigned rounds = env_uint("SHMBUS_TEST_ROUNDS", tu_sanitized() ? 6 : 16);
	unsigned seed = env_uint("SHMBUS_TEST_SEED", (unsigned)time(NULL) ^ (unsigned)getpid());
	uint64_t *done, total = 0;
	struct churn c;
	unsigned r;
	char byte;
	pid_t pid;

	(void)state;
	fprintf(stderr, "mp_manager_kinds: SHMBUS_TEST_SEED=%u\n", seed);
	done = mmap(NULL, sizeof(*done), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
		    0);
	assert_true(done != MAP_FAILED);
	for (r = 0; r < rounds; r++) {
		char key[32];

		snprintf(key, sizeof(key), "k%u_", r);
		snprintf(c.prefix, sizeof(c.prefix), "%s", tu_name(key));
		*done = 0;
		c.done = done;
		assert_int_equal(pipe(c.ready), 0);
		pid = tu_spawn(churn_main, &c);
		close(c.ready[1]);
		assert_int_equal(read(c.ready[0], &byte, 1), 1);
		close(c.ready[0]);
		/* 0..39 ms: a few hundred create calls at most, so the kill
		 * lands inside one of them (or between) at a random point. */
		tu_mgr_nap_ms((int)(rand_r(&seed) % 40));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(tu_wait(pid), 1000 + SIGKILL);
		total += __atomic_load_n(done, __ATOMIC_RELAXED);
		assert_int_equal(tu_mgr_wait_prefix_gone(c.prefix), 0);
	}
	/* The loop did run: the kills landed among create calls, not only
	 * before the first one. */
	assert_true(total > 0);
	munmap(done, sizeof(*done));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigkill_owner, tu_teardown),
		cmocka_unit_test_teardown(test_normal_shutdown, tu_teardown),
		cmocka_unit_test_teardown(test_kill_during_creates, tu_teardown),
	};

	return cmocka_run_group_tests_name("mp_manager_kinds", tests, NULL, NULL);
}
