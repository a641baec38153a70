/*
 * interop_block.c - blocks shared with a real python3: Python creates a
 * SharedMemory, C attaches and reads what Python wrote, C writes and Python
 * reads it back; and the reverse.  Also: Python merely attaching must not
 * destroy the block (the tests' scripts unregister from the resource
 * tracker, as our docs tell users to).
 */
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define SIZE 10000

static int py(const char *cmd, const char *name, const char *arg)
{
	const char *argv[] = { tu_python(), SHMBUS_TEST_SRCDIR "/py/block_peer.py", cmd, name,
			       arg, NULL };
	char *out, *err;
	int rc = tu_run(argv, NULL, &out, &err);

	if (rc != 0 || strcmp(out, "ok\n") != 0)
		fprintf(stderr, "python %s %s -> %d\nstdout: %s\nstderr: %s\n", cmd, name, rc,
			out, err);
	free(out);
	free(err);
	return rc;
}

static int setup(void **state)
{
	(void)state;
	return tu_python() ? 0 : -1;
}

static void test_python_creates_c_reads(void **state)
{
	const char *name = tu_name("pyc");
	struct shmbus_block *b;
	const unsigned char *p;
	char buf[12] = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(py("create", name, "10000"), 0);
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_true(shmbus_block_size(b) >= SIZE);
	p = shmbus_block_cdata(b);
	for (i = 0; i < SIZE; i++)
		assert_int_equal(p[i], (unsigned char)(i * 7 + 3));
	assert_int_equal(shmbus_block_write(b, 200, "from C!!", 9), 0);
	assert_int_equal(py("check-c-edit", name, NULL), 0);
	assert_int_equal(py("write-back", name, NULL), 0);
	assert_int_equal(shmbus_block_read(b, 100, buf, 11), 0);
	assert_string_equal(buf, "from python");
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_c_creates_python_reads(void **state)
{
	const char *name = tu_name("cpy");
	struct shmbus_block *b;
	unsigned char *p;
	char buf[12] = { 0 }, size[16];
	size_t i;

	(void)state;
	assert_int_equal(shmbus_block_create(&b, name, SIZE, 0), 0);
	assert_int_equal(shmbus_block_data(b, (void **)&p), 0);
	for (i = 0; i < SIZE; i++)
		p[i] = (unsigned char)(i * 131 + 7);
	snprintf(size, sizeof(size), "%d", SIZE);
	assert_int_equal(py("check", name, size), 0);
	assert_int_equal(py("write-back", name, NULL), 0);
	assert_int_equal(shmbus_block_read(b, 100, buf, 11), 0);
	assert_string_equal(buf, "from python");
	shmbus_block_close(b);
	/* Python attached three times and exited: the block is still here. */
	assert_int_equal(shmbus_block_attach(&b, name, SHMBUS_ATTACH_RDONLY), 0);
	shmbus_block_close(b);
	/* Python can unlink what C created ("/name" vs "name": same block). */
	assert_int_equal(py("unlink", name, NULL), 0);
	assert_int_equal(shmbus_block_attach(&b, name, 0), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_python_creates_c_reads, tu_teardown),
		cmocka_unit_test_teardown(test_c_creates_python_reads, tu_teardown),
	};

	if (!tu_python()) {
		fprintf(stderr, "python3 not found: interop tests need it\n");
		return 1;
	}
	return cmocka_run_group_tests_name("interop_block", tests, setup, NULL);
}
