/*
 * test_manager.c - the manager inside one process: start, create, track,
 * untrack, unlink, shutdown (twice), many threads at once, inspection of its
 * list, corrupt lists, and a forked child that must not use its copy.
 * Crashes of the owner are in mp_manager.c; gc in test_gc.c.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <jansson.h>

#include "manager/manager_internal.h"
#include "tu_manager.h"

static void test_start_create_shutdown_twice(void **state)
{
	const char *names[4];
	struct shmbus_snapshot *snap;
	struct shmbus_manager *m;
	struct shmbus_block *b[3];
	shmbus_ident_t guardian;
	char key[3][64];
	char full[3][SHMBUS_NAME_MAX + 1];
	int i;
	TU_MGR_NAME(mname, "mgr");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 0), 0);
	assert_string_equal(shmbus_manager_name(m), mname);
	guardian = shmbus_manager_guardian(m);
	assert_true(shmbus_proc_alive(guardian));
	assert_int_not_equal(shmbus_ident_pid(guardian), getpid());
	/* The manager's own block: ours, alive, managed by the guardian. */
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_true(snap->has_header);
	assert_int_equal(snap->kind, SHMBUS_KIND_MANAGER);
	assert_int_equal(snap->info.manager, guardian);
	assert_int_equal(shmbus_ident_pid(snap->info.creator), getpid());
	assert_true(snap->manager_alive && snap->any_alive);
	assert_int_equal(snap->kind_error, 0);
	shmbus_snapshot_free(snap);

	for (i = 0; i < 3; i++) {
		void *p;

		snprintf(key[i], sizeof(key[i]), "blk%d", i);
		snprintf(full[i], sizeof(full[i]), "%s", tu_name(key[i]));
		names[i] = full[i];
		assert_int_equal(shmbus_manager_create_block(m, names[i], 4096 * (i + 1), 0, &b[i]), 0);
		assert_int_equal(shmbus_block_size(b[i]), 4096 * (i + 1));
		assert_int_equal(shmbus_block_data(b[i], &p), 0);
		assert_int_equal(((char *)p)[100], 0); /* zeroed */
		assert_true(tu_mgr_exists(names[i]));
	}
	names[3] = mname;
	assert_int_equal(shmbus_manager_count(m), 3);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	for (i = 0; i < 4; i++)
		assert_false(tu_mgr_exists(names[i])); /* synchronous: gone on return */
	/* A handle stays usable after its name is gone. */
	assert_int_equal(shmbus_block_write(b[0], 0, "x", 1), 0);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_int_equal(shmbus_manager_count(m), -ESHUTDOWN);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("late"), 64, 0, &b[1]), -ESHUTDOWN);
	assert_null(b[1]);
	assert_false(tu_mgr_exists(tu_name("late")));
	assert_int_equal(shmbus_manager_track(m, mname), -ESHUTDOWN);
	/* The guardian confirmed and exits on its own. */
	assert_true(tu_mgr_wait_dead(guardian));
	shmbus_manager_free(m);
	for (i = 0; i < 3; i++)
		shmbus_block_close(b[i]);
}

static void test_create_block_contract(void **state)
{
	struct shmbus_manager *m;
	struct shmbus_block *b, *other;
	char path[1024];
	struct stat st;
	TU_MGR_NAME(taken, "taken");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 2), 0);
	/* Mode is exactly what was asked, whatever the umask. */
	assert_int_equal(shmbus_manager_create_block(m, tu_name("m640"), 100, 0640, &b), 0);
	snprintf(path, sizeof(path), "/dev/shm/%s", tu_name("m640"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_size, 100);
	shmbus_block_close(b);
	/* Exclusive: an existing name is refused and left alone. */
	assert_int_equal(shmbus_block_create(&other, taken, 64, 0), 0);
	assert_int_equal(shmbus_manager_create_block(m, taken, 64, 0, &b), -EEXIST);
	assert_null(b);
	assert_true(tu_mgr_exists(taken));
	assert_int_equal(shmbus_manager_count(m), 1);
	/* Bad arguments. */
	assert_int_equal(shmbus_manager_create_block(m, tu_name("z"), 0, 0, &b), -EINVAL);
	assert_int_equal(shmbus_manager_create_block(m, "a/b", 10, 0, &b), -EINVAL);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("z"), 10, 010000, &b), -EINVAL);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("z"), 10, 0, NULL), -EINVAL);
	assert_int_equal(shmbus_manager_create_block(NULL, tu_name("z"), 10, 0, &b), -EINVAL);
	assert_false(tu_mgr_exists(tu_name("z")));
	/* A generated name, then the list is full (capacity 2). */
	assert_int_equal(shmbus_manager_create_block(m, NULL, 64, 0, &b), 0);
	snprintf(path, sizeof(path), "%s", shmbus_block_name(b));
	assert_true(strncmp(path, "shmbus_", 7) == 0);
	assert_true(tu_mgr_exists(path));
	shmbus_block_close(b);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("full"), 64, 0, &b), -ENOSPC);
	assert_false(tu_mgr_exists(tu_name("full")));
	assert_int_equal(shmbus_manager_track(m, taken), -ENOSPC);
	shmbus_manager_free(m); /* free shuts down */
	assert_false(tu_mgr_exists(path));
	assert_false(tu_mgr_exists(tu_name("m640")));
	assert_true(tu_mgr_exists(taken)); /* never ours */
	shmbus_block_close(other);
	/* Start's own arguments. */
	assert_int_equal(shmbus_manager_start(&m, "bad/name", 0), -EINVAL);
	assert_null(m);
	assert_int_equal(shmbus_manager_start(&m, tu_name("cap"), SHMBUS_MANAGER_CAPACITY_MAX + 1),
			 -EINVAL);
	assert_int_equal(shmbus_manager_start(&m, taken, 0), -EEXIST);
	assert_null(m);
	shmbus_manager_free(NULL);
}

static void test_generated_manager_name(void **state)
{
	struct shmbus_manager *m;
	char name[300];

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, NULL, 1), 0);
	snprintf(name, sizeof(name), "%s", shmbus_manager_name(m));
	assert_true(strncmp(name, "shmbus_mgr_", 11) == 0);
	assert_true(tu_mgr_exists(name));
	shmbus_manager_free(m);
	assert_false(tu_mgr_exists(name));
}

static void test_track_untrack_unlink(void **state)
{
	struct shmbus_manager *m, *m2;
	struct shmbus_block *rb, *lb, *b;
	shmbus_ident_t g;
	TU_MGR_NAME(raw, "raw");
	TU_MGR_NAME(lay, "lay");
	TU_MGR_NAME(gone, "gone");
	TU_MGR_NAME(empty, "empty");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 0), 0);
	g = shmbus_manager_guardian(m);
	assert_int_equal(shmbus_block_create(&rb, raw, 128, 0), 0);
	lb = tu_mgr_layout(lay, 0);
	assert_int_equal(shmbus_manager_track(m, raw), 0);
	assert_int_equal(shmbus_manager_track(m, lay), 0);
	assert_int_equal(shmbus_manager_track(m, lay), 0); /* same object: idempotent */
	assert_int_equal(shmbus_manager_count(m), 2);
	assert_int_equal(shmbus_manager_track(m, tu_name("nosuch")), -ENOENT);
	assert_int_equal(shmbus_manager_track(m, "a/b"), -EINVAL);
	/* A header block now names the guardian: `ls` shows it managed. */
	assert_int_equal(tu_mgr_header_manager(lay), g);
	/* A second live manager may not take it over. */
	assert_int_equal(shmbus_manager_start(&m2, tu_name("mgr2"), 0), 0);
	assert_int_equal(shmbus_manager_track(m2, lay), -EBUSY);
	assert_int_equal(shmbus_manager_count(m2), 0);
	/* Untrack: off the list, header cleared, block stays. */
	assert_int_equal(shmbus_manager_untrack(m, lay), 0);
	assert_int_equal(shmbus_manager_untrack(m, lay), -ENOENT);
	assert_int_equal(tu_mgr_header_manager(lay), 0);
	assert_true(tu_mgr_exists(lay));
	assert_int_equal(shmbus_manager_track(m2, lay), 0); /* now free to take */
	assert_int_equal(tu_mgr_header_manager(lay), shmbus_manager_guardian(m2));
	/* A zero-length object has nothing to map, but its name is managed. */
	{
		char path[SHMBUS_NAME_MAX + 2];
		int fd;

		snprintf(path, sizeof(path), "/%s", empty);
		fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(shmbus_manager_track(m, empty), 0);
	}
	/* A layout built inside a block from create_block, then marked. */
	{
		struct layout_desc d = { .kind = SHMBUS_KIND_MPMC, .total_size = 4096 };
		struct shmbus_block *in;
		void *p;
		TU_MGR_NAME(inside, "inside");

		assert_int_equal(shmbus_manager_create_block(m, inside, 4096, 0, &in), 0);
		assert_int_equal(shmbus_block_data(in, &p), 0);
		header_init(p, &d);
		header_publish(p);
		assert_int_equal(tu_mgr_header_manager(inside), 0);
		assert_int_equal(shmbus_manager_track(m, inside), 0);
		assert_int_equal(tu_mgr_header_manager(inside), g);
		/* Listed, but the name now holds another object: refused. */
		assert_int_equal(shmbus_block_unlink(inside), 0);
		shmbus_block_close(in);
		assert_int_equal(shmbus_block_create(&in, inside, 64, 0), 0);
		assert_int_equal(shmbus_manager_track(m, inside), -EEXIST);
		assert_int_equal(shmbus_manager_unlink(m, inside), -ESTALE);
		assert_true(tu_mgr_exists(inside));
		shmbus_block_close(in);
	}
	/* Unlink one now. */
	assert_int_equal(shmbus_manager_create_block(m, gone, 64, 0, &b), 0);
	assert_int_equal(shmbus_manager_unlink(m, gone), 0);
	assert_false(tu_mgr_exists(gone));
	assert_int_equal(shmbus_manager_unlink(m, gone), -ENOENT);
	/* A listed name that now holds another object is never unlinked. */
	assert_int_equal(shmbus_block_unlink(raw), 0);
	shmbus_block_close(rb);
	assert_int_equal(shmbus_block_create(&rb, raw, 128, 0), 0);
	assert_int_equal(shmbus_manager_unlink(m, raw), -ESTALE);
	assert_true(tu_mgr_exists(raw));
	assert_int_equal(shmbus_manager_count(m), 1); /* the empty one */
	/* ...not by shutdown either. */
	assert_int_equal(shmbus_manager_track(m, raw), 0);
	assert_int_equal(shmbus_block_unlink(raw), 0);
	shmbus_block_close(rb);
	assert_int_equal(shmbus_block_create(&rb, raw, 128, 0), 0);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_true(tu_mgr_exists(raw));
	assert_false(tu_mgr_exists(empty));
	shmbus_manager_free(m);
	shmbus_manager_free(m2);
	assert_false(tu_mgr_exists(lay));
	shmbus_block_close(b);
	shmbus_block_close(rb);
	shmbus_block_close(lb);
}

/* The list as `shmbus inspect --json` shows it. */
static json_t *inspect_doc(const char *name)
{
	struct shmbus_snapshot *snap;
	json_error_t err;
	json_t *doc;
	char *text;

	assert_int_equal(shmbus_snapshot_take(name, &snap), 0);
	assert_int_equal(snap->kind_error, 0);
	text = shmbus_snapshot_json(snap, 0);
	assert_non_null(text);
	doc = json_loads(text, 0, &err);
	assert_non_null(doc);
	free(text);
	shmbus_snapshot_free(snap);
	return doc;
}

static void test_inspect_lists_blocks(void **state)
{
	struct shmbus_manager *m;
	struct shmbus_block *b, *lb;
	json_t *doc, *blocks, *e;
	char *out = NULL;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(a, "a");
	TU_MGR_NAME(lay, "lay");
	const char *argv[] = { tu_tool(), "inspect", mname, NULL };
	const char *argv_json[] = { tu_tool(), "inspect", mname, "--json", NULL };

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 8), 0);
	assert_int_equal(shmbus_manager_create_block(m, a, 64, 0, &b), 0);
	lb = tu_mgr_layout(lay, 0);
	assert_int_equal(shmbus_manager_track(m, lay), 0);
	doc = inspect_doc(mname);
	assert_string_equal(json_string_value(json_object_get(doc, "kind")), "manager");
	assert_true(json_is_true(json_object_get(doc, "alive")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "manager"), "pid")),
			 shmbus_ident_pid(shmbus_manager_guardian(m)));
	e = json_object_get(doc, "registry");
	assert_string_equal(json_string_value(json_object_get(e, "state")), "running");
	assert_int_equal(json_integer_value(json_object_get(e, "capacity")), 8);
	assert_int_equal(json_integer_value(json_object_get(e, "count")), 2);
	blocks = json_object_get(e, "blocks");
	assert_int_equal(json_array_size(blocks), 2);
	/* Sorted by name: "..._a" before "..._lay". */
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "name")), a);
	assert_true(json_is_true(json_object_get(json_array_get(blocks, 0), "present")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "how")),
			    "created");
	assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 1), "how")),
			    "tracked");
	json_decref(doc);
	/* A listed name that vanished shows as not present. */
	assert_int_equal(shmbus_block_unlink(a), 0);
	doc = inspect_doc(mname);
	blocks = json_object_get(json_object_get(doc, "registry"), "blocks");
	assert_true(json_is_false(json_object_get(json_array_get(blocks, 0), "present")));
	json_decref(doc);
	/* The tool shows the names too, and its JSON follows the schema. */
	assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
	assert_non_null(strstr(out, lay));
	assert_non_null(strstr(out, "registry"));
	free(out);
	assert_int_equal(tu_run(argv_json, NULL, &out, NULL), 0);
	tu_mgr_validate("inspect.schema.json", out);
	free(out);
	shmbus_manager_free(m);
	shmbus_block_close(b);
	shmbus_block_close(lb);
}

static void test_ls_shows_managed(void **state)
{
	const char *argv[] = { tu_tool(), "ls", "--json", NULL };
	TU_MGR_NAME(lay, "lay");
	struct shmbus_manager *m;
	struct shmbus_block *lb;
	json_error_t err;
	json_t *doc, *blocks;
	char *out = NULL;
	size_t i;
	int seen = 0;

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 0), 0);
	lb = tu_mgr_layout(lay, 0);
	assert_int_equal(shmbus_manager_track(m, lay), 0);
	assert_int_equal(tu_run(argv, NULL, &out, NULL), 0);
	doc = json_loads(out, 0, &err);
	assert_non_null(doc);
	blocks = json_object_get(doc, "blocks");
	for (i = 0; i < json_array_size(blocks); i++) {
		json_t *e = json_array_get(blocks, i);
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n && (strcmp(n, lay) == 0 || strcmp(n, tu_name("mgr")) == 0)) {
			assert_true(json_is_true(json_object_get(e, "managed")));
			seen++;
		}
	}
	assert_int_equal(seen, 2);
	json_decref(doc);
	free(out);
	shmbus_manager_free(m);
	shmbus_block_close(lb);
}

struct worker {
	struct shmbus_manager *m;
	const char *prefix; /* tu_name("") copied: tu_name is not thread-safe */
	int id;
	int rounds;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r;

	for (r = 0; r < w->rounds; r++) {
		char name[SHMBUS_NAME_MAX + 1];
		struct shmbus_block *b;

		snprintf(name, sizeof(name), "%st%d_%d", w->prefix, w->id, r);
		if (shmbus_manager_create_block(w->m, name, 4096, 0, &b) != 0) {
			w->failures++;
			continue;
		}
		if (shmbus_block_write(b, 0, &r, sizeof(r)) != 0)
			w->failures++;
		shmbus_block_close(b);
		/* Every other block is unlinked again; the rest stay listed. */
		if (r % 2 == 0 && shmbus_manager_unlink(w->m, name) != 0)
			w->failures++;
	}
	return NULL;
}

static void *inspector_main(void *arg)
{
	struct worker *w = arg;
	int r;

	for (r = 0; r < w->rounds; r++) {
		struct shmbus_snapshot *snap;

		if (shmbus_snapshot_take(shmbus_manager_name(w->m), &snap) != 0) {
			w->failures++;
			continue;
		}
		if (snap->kind_error)
			w->failures++;
		shmbus_snapshot_free(snap);
	}
	return NULL;
}

static void *shutdown_main(void *arg)
{
	return (void *)(intptr_t)shmbus_manager_shutdown(arg);
}

static void test_threads(void **state)
{
	enum { NTHREADS = 4 };
	struct worker w[NTHREADS + 1];
	pthread_t t[NTHREADS + 1];
	struct shmbus_manager *m;
	int rounds = tu_sanitized() ? 20 : 100, i, r, left = 0;
	TU_MGR_NAME(prefix, "");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), NTHREADS * 100), 0);
	for (i = 0; i <= NTHREADS; i++) {
		w[i] = (struct worker){ .m = m, .prefix = prefix, .id = i, .rounds = rounds };
		assert_int_equal(pthread_create(&t[i], NULL, i < NTHREADS ? worker_main :
							    inspector_main, &w[i]), 0);
	}
	for (i = 0; i <= NTHREADS; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(shmbus_manager_count(m), NTHREADS * rounds / 2);
	for (i = 0; i < NTHREADS; i++) {
		for (r = 0; r < rounds; r++) {
			char key[64];

			snprintf(key, sizeof(key), "t%d_%d", i, r);
			left += tu_mgr_exists(tu_name(key));
		}
	}
	assert_int_equal(left, NTHREADS * rounds / 2);
	/* Shutdown from several threads at once is fine too. */
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, shutdown_main, m), 0);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		for (r = 0; r < rounds; r++) {
			char key[64];

			snprintf(key, sizeof(key), "t%d_%d", i, r);
			assert_false(tu_mgr_exists(tu_name(key)));
		}
	}
	shmbus_manager_free(m);
}

static void test_corrupt_list(void **state)
{
	struct shmbus_snapshot *snap;
	struct shmbus_manager *m;
	struct shmbus_block *b, *rw;
	struct mgr_region *r;
	struct mgr_entry *e;
	char *text;
	void *p;
	TU_MGR_NAME(mname, "mgr");
	TU_MGR_NAME(a, "a");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, mname, 4), 0);
	assert_int_equal(shmbus_manager_create_block(m, tu_name("a"), 64, 0, &b), 0);
	assert_int_equal(shmbus_block_attach(&rw, mname, 0), 0);
	assert_int_equal(shmbus_block_data(rw, &p), 0);
	r = mgr_region(p);
	e = &mgr_entries(p)[0];
	/* A capacity that does not match the size. */
	r->capacity = 1000000;
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	text = shmbus_snapshot_json(snap, 0); /* still renders, with "error" */
	assert_non_null(strstr(text, "\"error\""));
	free(text);
	shmbus_snapshot_free(snap);
	r->capacity = 4;
	/* An entry whose name runs past its length, or holds a '/'. */
	e->name_len = 999;
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	shmbus_snapshot_free(snap);
	e->name_len = (uint32_t)strlen(e->name);
	e->name[1] = '/';
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	shmbus_snapshot_free(snap);
	e->name[1] = a[1];
	e->active = 7;
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_int_equal(snap->kind_error, -SHMBUS_ECORRUPT);
	shmbus_snapshot_free(snap);
	e->active = 1;
	assert_int_equal(shmbus_snapshot_take(mname, &snap), 0);
	assert_int_equal(snap->kind_error, 0);
	shmbus_snapshot_free(snap);
	/* Shutdown works from the private list, whatever the shared one says. */
	e->name_len = 999;
	shmbus_block_close(rw);
	assert_int_equal(shmbus_manager_shutdown(m), 0);
	assert_false(tu_mgr_exists(tu_name("a")));
	assert_false(tu_mgr_exists(mname));
	shmbus_manager_free(m);
	shmbus_block_close(b);
}

static void test_forked_child_owns_nothing(void **state)
{
	struct shmbus_manager *m;
	struct shmbus_block *b, *c;
	pid_t pid;
	TU_MGR_NAME(a, "a");

	(void)state;
	assert_int_equal(shmbus_manager_start(&m, tu_name("mgr"), 0), 0);
	assert_int_equal(shmbus_manager_create_block(m, a, 64, 0, &b), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		bad |= shmbus_manager_create_block(m, tu_name("child"), 64, 0, &c) != -EPERM;
		bad |= shmbus_manager_track(m, a) != -EPERM;
		bad |= shmbus_manager_unlink(m, a) != -EPERM;
		bad |= shmbus_manager_shutdown(m) != -EPERM;
		bad |= shmbus_manager_count(m) != -EPERM;
		shmbus_manager_free(m); /* releases the copy, unlinks nothing */
		_exit(bad);
	}
	assert_int_equal(tu_wait(pid), 0);
	assert_true(tu_mgr_exists(a));
	assert_true(tu_mgr_exists(shmbus_manager_name(m)));
	assert_int_equal(shmbus_manager_count(m), 1);
	assert_true(shmbus_proc_alive(shmbus_manager_guardian(m)));
	shmbus_manager_free(m);
	assert_false(tu_mgr_exists(a));
	shmbus_block_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_start_create_shutdown_twice, tu_teardown),
		cmocka_unit_test_teardown(test_create_block_contract, tu_teardown),
		cmocka_unit_test_teardown(test_generated_manager_name, tu_teardown),
		cmocka_unit_test_teardown(test_track_untrack_unlink, tu_teardown),
		cmocka_unit_test_teardown(test_inspect_lists_blocks, tu_teardown),
		cmocka_unit_test_teardown(test_ls_shows_managed, tu_teardown),
		cmocka_unit_test_teardown(test_threads, tu_teardown),
		cmocka_unit_test_teardown(test_corrupt_list, tu_teardown),
		cmocka_unit_test_teardown(test_forked_child_owns_nothing, tu_teardown),
	};

	return cmocka_run_group_tests_name("manager", tests, NULL, NULL);
}
