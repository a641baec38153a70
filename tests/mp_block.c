/*
 * mp_block.c - blocks across real processes (fork + exec): one process
 * creates and writes a block and exits; the block outlives it; another
 * process attaches by name and reads the same bytes; a read-only attacher
 * in a third process sees later writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define SIZE (1u << 20)

static const char *self_path;

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131u + 7u);
}

static int do_write(const char *name)
{
	struct shmbus_block *b;
	unsigned char *p;
	size_t i;

	if (shmbus_block_create(&b, name, SIZE, 0) || shmbus_block_data(b, (void **)&p))
		return 10;
	for (i = 0; i < SIZE; i++)
		p[i] = pattern(i);
	shmbus_block_close(b);
	return 0; /* exits without unlinking: the block must outlive us */
}

static int do_read(const char *name, int rdonly)
{
	struct shmbus_block *b;
	const unsigned char *p;
	size_t i;

	if (shmbus_block_attach(&b, name, rdonly ? SHMBUS_ATTACH_RDONLY : 0))
		return 20;
	if (shmbus_block_size(b) != SIZE)
		return 21;
	p = shmbus_block_cdata(b);
	for (i = 0; i < SIZE; i++)
		if (p[i] != pattern(i))
			return 22;
	shmbus_block_close(b);
	return 0;
}

static int run_self(const char *mode, const char *name)
{
	const char *argv[] = { self_path, mode, name, NULL };

	return tu_run(argv, NULL, NULL, NULL);
}

static void test_write_then_read_elsewhere(void **state)
{
	const char *name = tu_name("xproc");
	struct shmbus_block *b;

	(void)state;
	assert_int_equal(run_self("--write", name), 0);
	assert_int_equal(run_self("--read", name), 0);
	assert_int_equal(run_self("--read-only", name), 0);
	/* a change made here is seen by a new process */
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_int_equal(shmbus_block_write(b, 5, "X", 1), 0);
	assert_int_equal(run_self("--read", name), 22);
	assert_int_equal(shmbus_block_write(b, 5, (unsigned char[]){ pattern(5) }, 1), 0);
	assert_int_equal(run_self("--read", name), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(run_self("--read", name), 20);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_write_then_read_elsewhere, tu_teardown),
	};

	self_path = argv[0];
	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		return do_write(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--read") == 0)
		return do_read(argv[2], 0);
	if (argc == 3 && strcmp(argv[1], "--read-only") == 0)
		return do_read(argv[2], 1);
	return cmocka_run_group_tests_name("mp_block", tests, NULL, NULL);
}
