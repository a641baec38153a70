/*
 * test_manager_kinds.c - shmbus_manager_create_spsc / _mpmc / _slots in one
 * process: the block is the same as the kind's own create makes (only the
 * creator, the creation time and the header's manager differ), the rings
 * name the guardian from the start, every failure leaves nothing behind and
 * nothing listed, and a forked child cannot create through its copy.
 * Crashes of the owner are in mp_manager_kinds.c.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "manager/manager_internal.h"
#include "mpmc/mpmc_internal.h"
#include "slots/slots_internal.h"
#include "spsc/spsc_internal.h"
#include "tu_manager.h"

static const struct shmbus_mpmc_params mpmc_params = { .slots = 16, .slot_size = 100,
							 .liveness_ms = 250, .participants = 5 };

/* A private copy of block @name's bytes; *@size receives their number. */
static unsigned char *block_bytes(const char *name, size_t *size)
{
	struct shmbus_block *b;
	unsigned char *p;

	assert_int_equal(shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY), 0);
	*size = shmbus_block_size(b);
	p = malloc(*size);
	assert_non_null(p);
	memcpy(p, shmbus_block_cdata(b), *size);
	shmbus_block_close(b);
	return p;
}

/* The fields a managed header may differ in from a plain one, cleared. */
static void header_neutral(unsigned char *p)
{
	struct shm_header *h = (struct shm_header *)(void *)p;

	h->creator = 0;
	h->created_ns = 0;
	atomic_store_explicit(&h->manager, 0, memory_order_relaxed); /* private copy */
}

static void assert_same_ring(const char *managed, const char *plain)
{
	size_t na, nb;
	unsigned char *a = block_bytes(managed, &na), *b = block_bytes(plain, &nb);

	assert_int_equal(na, nb);
	header_neutral(a);
	header_neutral(b);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
}

static void test_rings_are_ordinary(void **state)
{
	struct shmbus_manager *m;
	shmbus_ident_t g;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(ms, "ms");
	TU_MGR_NAME(ps, "ps");
	TU_MGR_NAME(mm, "mm");
	TU_MGR_NAME(pm, "pm");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	g = shmbus_manager_guardian(m);
	assert_int_equal(shmbus_manager_create_spsc(m, ms, 1 << 12, 0), 0);
	assert_int_equal(shmbus_spsc_create(ps, 1 << 12, 0), 0);
	assert_int_equal(shmbus_manager_create_mpmc(m, mm, &mpmc_params), 0);
	assert_int_equal(shmbus_mpmc_create(pm, &mpmc_params), 0);
	assert_int_equal(shmbus_manager_count(m), 2);
	/* Byte for byte what the kind's own create makes, but the manager. */
	assert_same_ring(ms, ps);
	assert_same_ring(mm, pm);
	assert_int_equal(tu_mgr_header_manager(ms), g);
	assert_int_equal(tu_mgr_header_manager(mm), g);
	assert_int_equal(tu_mgr_header_manager(ps), 0);
	/* Track on a listed name: the same object, nothing to do. */
	assert_int_equal(shmbus_manager_track(m, ms), 0);
	assert_int_equal(shmbus_manager_count(m), 2);
	/* Untrack hands it back: the header no longer names the guardian,
	 * and shutdown leaves it. */
	assert_int_equal(shmbus_manager_untrack(m, mm), 0);
	assert_int_equal(tu_mgr_header_manager(mm), 0);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_false(tu_mgr_exists(ms));
	assert_true(tu_mgr_exists(mm));
	assert_true(tu_mgr_exists(ps));
	shmbus_manager_free(m);
}

static void test_mode(void **state)
{
	struct shmbus_manager *m;
	struct shmbus_slots *sl;
	struct stat st;
	struct shmbus_mpmc_params p = mpmc_params;
	char path[SHMBUS_NAME_MAX + 16];
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(s, "s");
	TU_MGR_NAME(q, "q");
	TU_MGR_NAME(l, "l");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	p.mode = 0640;
	assert_int_equal(shmbus_manager_create_spsc(m, s, 64, 0604), 0);
	assert_int_equal(shmbus_manager_create_mpmc(m, q, &p), 0);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, l, NULL, 0, 0), 0);
	snprintf(path, sizeof(path), "/dev/shm/%s", s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0604);
	snprintf(path, sizeof(path), "/dev/shm/%s", q);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(path, sizeof(path), "/dev/shm/%s", l);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	shmbus_slots_close(sl);
	shmbus_manager_free(m);
	assert_false(tu_mgr_exists(s));
	assert_false(tu_mgr_exists(q));
	assert_false(tu_mgr_exists(l));
}

static void test_slots(void **state)
{
	struct shmbus_slot_value v[4] = { shmbus_slot_int(-7), shmbus_slot_float(2.5),
					  shmbus_slot_str("hé"), shmbus_slot_none() };
	struct shmbus_slots *ms, *ps, *gen, *att;
	struct shmbus_manager *m;
	struct shmbus_slot_value got;
	char buf[32], gname[SHMBUS_NAME_MAX + 1];
	unsigned char *a, *b;
	size_t na, nb;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(ml, "ml");
	TU_MGR_NAME(pl, "pl");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	assert_int_equal(shmbus_manager_create_slots(m, &ms, ml, v, 4, 0), 0);
	assert_int_equal(shmbus_slots_create(&ps, pl, v, 4, 0), 0);
	/* The handle is an ordinary one. */
	assert_string_equal(shmbus_slots_name(ms), ml);
	assert_int_equal(shmbus_slots_len(ms), 4);
	assert_true(shmbus_slots_guarded(ms));
	assert_int_equal(shmbus_slots_get(ms, 2, &got, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "hé");
	v[0] = shmbus_slot_int(99);
	assert_int_equal(shmbus_slots_set(ms, 0, &v[0]), 0);
	assert_int_equal(shmbus_slots_set(ps, 0, &v[0]), 0);
	assert_int_equal(shmbus_slots_attach(&att, ml, 0), 0);
	assert_int_equal(shmbus_slots_get(att, 0, &got, NULL, 0), 0);
	assert_int_equal(got.u.i, 99);
	shmbus_slots_close(att);
	/* Python's part and the trailer are as the plain create makes them,
	 * but the creator and the creation time. */
	a = block_bytes(ml, &na);
	b = block_bytes(pl, &nb);
	assert_int_equal(na, nb);
	assert_int_equal(na, ms->lay.trailer_end);
	memset(a + ms->lay.trailer_off + offsetof(struct slots_trailer, creator), 0, 16);
	memset(b + ms->lay.trailer_off + offsetof(struct slots_trailer, creator), 0, 16);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	/* A generated name, listed like the others. */
	assert_int_equal(shmbus_manager_create_slots(m, &gen, NULL, v, 1, 0), 0);
	snprintf(gname, sizeof(gname), "%s", shmbus_slots_name(gen));
	assert_true(tu_mgr_exists(gname));
	assert_int_equal(shmbus_manager_count(m), 2);
	assert_int_equal(shmbus_manager_unlink(m, gname), 0);
	assert_false(tu_mgr_exists(gname));
	/* A handle outlives the name, as with any block. */
	assert_int_equal(shmbus_slots_get(gen, 0, &got, NULL, 0), 0);
	shmbus_slots_close(gen);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_false(tu_mgr_exists(ml));
	assert_int_equal(shmbus_slots_get(ms, 0, &got, NULL, 0), 0);
	shmbus_slots_close(ms);
	shmbus_slots_close(ps);
	shmbus_manager_free(m);
}

static void test_failures_leave_nothing(void **state)
{
	struct shmbus_slot_value bad = shmbus_slot_str("\xff");
	struct shmbus_slot_value ok = shmbus_slot_int(1);
	struct shmbus_mpmc_params p = mpmc_params;
	struct shmbus_slots *sl = (struct shmbus_slots *)&sl;
	struct shmbus_manager *m;
	struct shmbus_block *b;
	char buf[8];
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(x, "x");
	TU_MGR_NAME(taken, "taken");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 1), 0);
	/* Bad parameters: refused before anything is made. */
	assert_int_equal(shmbus_manager_create_spsc(m, x, 100, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_spsc(m, NULL, 64, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_spsc(NULL, x, 64, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_spsc(m, "a/b", 64, 0), -EINVAL);
	p.slots = 3;
	assert_int_equal(shmbus_manager_create_mpmc(m, x, &p), -EINVAL);
	assert_int_equal(shmbus_manager_create_mpmc(m, x, NULL), -EINVAL);
	assert_int_equal(shmbus_manager_create_mpmc(m, NULL, &mpmc_params), -EINVAL);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, x, &bad, 1, 0), -EILSEQ);
	assert_null(sl);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, x, NULL, 1, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_slots(m, NULL, x, &ok, 1, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_slots(NULL, &sl, x, &ok, 1, 0), -EINVAL);
	assert_int_equal(shmbus_manager_create_spsc(m, x, 64, 01000000), -EINVAL);
	assert_false(tu_mgr_exists(x));
	assert_int_equal(shmbus_manager_count(m), 0);
	/* A name taken by someone else: theirs stays as it was. */
	assert_int_equal(shmbus_block_create(&b, taken, 8, 0), 0);
	assert_int_equal(shmbus_block_write(b, 0, "theirs", 7), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_manager_create_spsc(m, taken, 64, 0), -EEXIST);
	assert_int_equal(shmbus_manager_create_mpmc(m, taken, &mpmc_params), -EEXIST);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, taken, &ok, 1, 0), -EEXIST);
	assert_null(sl);
	assert_int_equal(shmbus_manager_count(m), 0);
	assert_int_equal(shmbus_block_attach(&b, taken, SHMBUS_ATTACH_RDONLY), 0);
	assert_int_equal(shmbus_block_size(b), 8);
	assert_int_equal(shmbus_block_read(b, 0, buf, 7), 0);
	assert_string_equal(buf, "theirs");
	shmbus_block_close(b);
	/* The list is full (capacity 1). */
	assert_int_equal(shmbus_manager_create_spsc(m, x, 64, 0), 0);
	TU_MGR_NAME(y, "y");
	assert_int_equal(shmbus_manager_create_spsc(m, y, 64, 0), -ENOSPC);
	assert_int_equal(shmbus_manager_create_mpmc(m, y, &mpmc_params), -ENOSPC);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, y, &ok, 1, 0), -ENOSPC);
	assert_false(tu_mgr_exists(y));
	/* After shutdown. */
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_int_equal(shmbus_manager_create_spsc(m, y, 64, 0), -ESHUTDOWN);
	assert_int_equal(shmbus_manager_create_mpmc(m, y, &mpmc_params), -ESHUTDOWN);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, y, &ok, 1, 0), -ESHUTDOWN);
	assert_null(sl);
	assert_false(tu_mgr_exists(x));
	assert_false(tu_mgr_exists(y));
	assert_true(tu_mgr_exists(taken));
	shmbus_manager_free(m);
}

static void test_forked_child_cannot_create(void **state)
{
	struct shmbus_slot_value ok = shmbus_slot_int(1);
	struct shmbus_manager *m;
	struct shmbus_slots *sl;
	int status;
	pid_t pid;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(c, "child");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		bad |= shmbus_manager_create_spsc(m, c, 64, 0) != -EPERM;
		bad |= shmbus_manager_create_mpmc(m, c, &mpmc_params) != -EPERM;
		bad |= shmbus_manager_create_slots(m, &sl, c, &ok, 1, 0) != -EPERM;
		bad |= tu_mgr_exists(c);
		shmbus_manager_free(m);
		_exit(bad);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(tu_mgr_exists(c));
	assert_int_equal(shmbus_manager_count(m), 0);
	shmbus_manager_free(m);
}

/* What the tool shows of a manager and its rings follows the schema; gc
 * leaves the blocks of a live manager alone. */
static void test_inspect_and_gc(void **state)
{
	struct shmbus_slot_value ok = shmbus_slot_str("v");
	struct shmbus_manager *m;
	struct shmbus_slots *sl;
	char *out = NULL;
	const char *names[4];
	int i;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(s, "s");
	TU_MGR_NAME(q, "q");
	TU_MGR_NAME(l, "l");
	const char *argv[] = { tu_tool(), "inspect", NULL, "--json", NULL };

	(void)state;
	names[0] = mname;
	names[1] = s;
	names[2] = q;
	names[3] = l;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	assert_int_equal(shmbus_manager_create_spsc(m, s, 64, 0), 0);
	assert_int_equal(shmbus_manager_create_mpmc(m, q, &mpmc_params), 0);
	assert_int_equal(shmbus_manager_create_slots(m, &sl, l, &ok, 1, 0), 0);
	shmbus_slots_close(sl);
	for (i = 0; i < 4; i++) {
		argv[2] = names[i];
		assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
		if (i > 0 && i < 3) {
			json_error_t err;
			json_t *doc = json_loads(out, 0, &err), *mg;

			assert_non_null(doc);
			mg = json_object_get(doc, "manager");
			assert_true(json_is_true(json_object_get(mg, "alive")));
			assert_int_equal(json_integer_value(json_object_get(mg, "pid")),
					 shmbus_ident_pid(shmbus_manager_guardian(m)));
			json_decref(doc);
		}
		tu_mgr_validate("inspect.schema.json", out);
		free(out);
		out = NULL;
	}
	assert_int_equal(shmbus_gc_run(tu_name(""), 0, NULL, NULL), 0);
	for (i = 0; i < 4; i++)
		assert_true(tu_mgr_exists(names[i]));
	shmbus_manager_free(m);
	for (i = 0; i < 4; i++)
		assert_false(tu_mgr_exists(names[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rings_are_ordinary, tu_teardown),
		cmocka_unit_test_teardown(test_mode, tu_teardown),
		cmocka_unit_test_teardown(test_slots, tu_teardown),
		cmocka_unit_test_teardown(test_failures_leave_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_forked_child_cannot_create, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_and_gc, tu_teardown),
	};

	return cmocka_run_group_tests_name("test_manager_kinds", tests, NULL, NULL);
}
