/*
 * test_registry.c - the per-process registry of attached blocks: shared
 * mappings, reference counts, and attach/close churn from many threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "registry_internal.h"
#include "testutil.h"

#define THREADS 4
#define ROUNDS 2000

static const char *churn_name;

/* Whether /proc/self/maps still maps an object of this name. */
static bool mapped(const char *name)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, name))
			found = true;
	fclose(f);
	return found;
}

static void test_refcount_and_unmap(void **state)
{
	struct shmbus_block *a, *b, *c;
	const char *name = tu_name("ref");

	(void)state;
	assert_int_equal(shmbus_block_create(&a, name, 4096, 0), 0);
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(atomic_load(&a->refs), 2);
	shmbus_block_close(b);
	assert_true(mapped(name));
	shmbus_block_close(a);
	assert_false(mapped(name));
	/* unlinked and recreated under the same name: a new object, a new map */
	assert_int_equal(shmbus_block_attach(&a, name, 0), 0);
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(shmbus_block_create(&c, name, 4096, 0), 0);
	assert_ptr_not_equal(a, c);
	assert_int_equal(shmbus_block_write(c, 0, "new", 4), 0);
	assert_int_not_equal(memcmp(shmbus_block_cdata(a), "new", 4), 0);
	shmbus_block_close(a);
	shmbus_block_close(c);
	assert_false(mapped(name));
}

static void *churn(void *arg)
{
	long ok = 0, i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		struct shmbus_block *b;
		char buf[8];

		if (shmbus_block_attach(&b, churn_name, 0))
			continue;
		if (shmbus_block_read(b, 0, buf, 8) == 0 && memcmp(buf, "churning", 8) == 0)
			ok++;
		shmbus_block_close(b);
	}
	return (void *)ok;
}

static void test_thread_churn(void **state)
{
	pthread_t th[THREADS];
	struct shmbus_block *keep;
	void *ok;
	int i;

	(void)state;
	churn_name = tu_name("churn");
	assert_int_equal(shmbus_block_create(&keep, churn_name, 4096, 0), 0);
	assert_int_equal(shmbus_block_write(keep, 0, "churning", 8), 0);
	/* Drop our own reference half-way through so the last-close path races
	 * with attaches too: first with it held... */
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn, NULL), 0);
	shmbus_block_close(keep);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], &ok), 0);
		assert_int_equal((long)ok, ROUNDS);
	}
	assert_false(mapped(churn_name));
	tu_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refcount_and_unmap),
		cmocka_unit_test(test_thread_churn),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
