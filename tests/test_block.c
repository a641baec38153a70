/*
 * test_block.c - named blocks: create, attach, close, unlink, names, and
 * every bad input the foundation issue lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "header_internal.h"
#include "inspect/shm_dir_internal.h"
#include "testutil.h"

static void test_create_attach_roundtrip(void **state)
{
	struct shmbus_block *a, *b;
	const char *name = tu_name("rt");
	void *data;
	char buf[6];

	(void)state;
	assert_int_equal(shmbus_block_create(&a, name, 8192, 0), 0);
	assert_string_equal(shmbus_block_name(a), name);
	assert_int_equal(shmbus_block_size(a), 8192);
	assert_false(shmbus_block_readonly(a));
	assert_int_equal(shmbus_block_data(a, &data), 0);
	memcpy(data, "hello", 6);
	/* A second attach in the same process shares the mapping. */
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	assert_ptr_equal(shmbus_block_cdata(a), shmbus_block_cdata(b));
	assert_int_equal(shmbus_block_read(b, 0, buf, 6), 0);
	assert_string_equal(buf, "hello");
	shmbus_block_close(a);
	/* b still works after a is closed */
	assert_int_equal(shmbus_block_read(b, 0, buf, 6), 0);
	assert_string_equal(buf, "hello");
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_leading_slash_and_mode(void **state)
{
	struct shmbus_block *a, *b;
	const char *name = tu_name("slash");
	char path[300];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "/%s", name);
	assert_int_equal(shmbus_block_create(&a, path, 100, 0), 0);
	assert_string_equal(shmbus_block_name(a), name);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 100);
	assert_int_equal(shmbus_block_attach(&b, name, 0), 0);
	shmbus_block_close(b);
	shmbus_block_close(a);
	snprintf(path, sizeof(path), "/%s", name);
	assert_int_equal(shmbus_block_unlink(path), 0);

	name = tu_name("mode");
	assert_int_equal(shmbus_block_create(&a, name, 100, 0640), 0);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	shmbus_block_close(a);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_generated_names(void **state)
{
	struct shmbus_block *a, *b;
	char name[SHMBUS_NAME_MAX + 1];

	(void)state;
	assert_int_equal(shmbus_block_create(&a, NULL, 64, 0), 0);
	assert_int_equal(shmbus_block_create(&b, NULL, 64, 0), 0);
	assert_string_not_equal(shmbus_block_name(a), shmbus_block_name(b));
	assert_int_equal(strncmp(shmbus_block_name(a), "shmbus_", 7), 0);
	strcpy(name, shmbus_block_name(a));
	shmbus_block_close(a);
	assert_int_equal(shmbus_block_attach(&a, name, 0), 0);
	shmbus_block_close(a);
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(shmbus_block_unlink(shmbus_block_name(b)), 0);
	shmbus_block_close(b);
}

static void test_bad_names(void **state)
{
	struct shmbus_block *b = (struct shmbus_block *)0x1;
	char longname[300];

	(void)state;
	memset(longname, 'a', 256);
	longname[256] = '\0';
	assert_int_equal(shmbus_block_create(&b, "", 64, 0), -EINVAL);
	assert_null(b);
	assert_int_equal(shmbus_block_create(&b, "/", 64, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, "a/b", 64, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, "//ab", 64, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, "..", 64, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, longname, 64, 0), -ENAMETOOLONG);
	assert_int_equal(shmbus_block_attach(&b, longname, 0), -ENAMETOOLONG);
	assert_int_equal(shmbus_block_attach(&b, NULL, 0), -EINVAL);
	assert_int_equal(shmbus_block_unlink("x/y"), -EINVAL);
	longname[255] = '\0'; /* 255 bytes is fine */
	assert_int_equal(shmbus_name_check(longname), 0);
	assert_int_equal(shmbus_name_check("/ok"), 0);
}

static void test_bad_sizes_and_existence(void **state)
{
	struct shmbus_block *a, *b;
	const char *name = tu_name("exist");
	char path[300];

	(void)state;
	assert_int_equal(shmbus_block_create(&b, name, 0, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, name, (size_t)-1, 0), -EINVAL);
	assert_int_equal(shmbus_block_create(&b, name, 64, 010000), -EINVAL);
	/* failed creates left nothing behind */
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(shmbus_block_attach(&b, name, 0), -ENOENT);
	assert_int_equal(shmbus_block_create(&a, name, 64, 0), 0);
	assert_int_equal(shmbus_block_create(&b, name, 64, 0), -EEXIST);
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(shmbus_block_unlink(name), -ENOENT);
	shmbus_block_close(a);
}

static void test_no_space_leaves_nothing(void **state)
{
	struct shmbus_block *b;
	const char *name = tu_name("huge");
	char path[300];

	(void)state;
	/* Far more than /dev/shm can hold: posix_fallocate must refuse. */
	assert_int_equal(shmbus_block_create(&b, name, (size_t)1 << 50, 0), -ENOSPC);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_readonly_refuses_writes(void **state)
{
	struct shmbus_block *a, *r;
	const char *name = tu_name("ro");
	void *p = NULL;
	char c;

	(void)state;
	assert_int_equal(shmbus_block_create(&a, name, 64, 0), 0);
	assert_int_equal(shmbus_block_write(a, 0, "x", 1), 0);
	assert_int_equal(shmbus_block_attach(&r, name, SHMBUS_ATTACH_RDONLY), 0);
	assert_ptr_not_equal(r, a); /* different access: different mapping */
	assert_true(shmbus_block_readonly(r));
	assert_int_equal(shmbus_block_data(r, &p), -EROFS);
	assert_null(p);
	assert_int_equal(shmbus_block_write(r, 0, "y", 1), -EROFS);
	assert_int_equal(shmbus_block_read(r, 0, &c, 1), 0);
	assert_int_equal(c, 'x');
	/* bounds */
	assert_int_equal(shmbus_block_read(r, 64, &c, 1), -ERANGE);
	assert_int_equal(shmbus_block_read(r, 63, &c, 1), 0);
	assert_int_equal(shmbus_block_write(a, (size_t)-1, "y", 2), -ERANGE);
	assert_int_equal(shmbus_block_attach(&r, name, 0x80), -EINVAL);
	shmbus_block_close(r);
	shmbus_block_close(a);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_zero_length_object(void **state)
{
	struct shmbus_block *b;
	const char *name = tu_name("zero");
	char path[300];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(shmbus_block_attach(&b, name, 0), -SHMBUS_EEMPTY);
	assert_non_null(strstr(shmbus_strerror(-SHMBUS_EEMPTY), "empty"));
	assert_int_equal(shmbus_block_unlink(name), 0);
}

/* Builds a header-bearing block by hand, so each field can be broken. */
static struct shmbus_block *make_layout(const char *name, size_t size, bool publish)
{
	struct layout_desc d = { .kind = SHMBUS_KIND_SPSC, .version = 1,
					.total_size = size };
	struct shmbus_block *b;
	void *p;

	assert_int_equal(shmbus_block_create(&b, name, size, 0), 0);
	assert_int_equal(shmbus_block_data(b, &p), 0);
	header_init(p, &d);
	if (publish)
		header_publish(p);
	return b;
}

static void test_header_validation(void **state)
{
	struct shmbus_block_info info;
	struct shmbus_block *b, *c;
	struct shm_header *h;
	const char *name = tu_name("hdr");

	(void)state;
	b = make_layout(name, 4096, true);
	h = block_header(b);
	assert_int_equal(shmbus_block_info(b, &info), 0);
	assert_int_equal(info.kind, SHMBUS_KIND_SPSC);
	assert_int_equal(info.total_size, 4096);
	assert_int_equal(shmbus_ident_pid(info.creator), getpid());
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL), 0);
	shmbus_block_close(c);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_MPMC, 1, NULL),
			 -SHMBUS_EKIND);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 2, NULL),
			 -SHMBUS_EVERSION);

	h->magic[0] = 'X';
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_EMAGIC);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL),
			 -SHMBUS_EMAGIC);
	h->magic[0] = 'S';
	h->magic[7] = 9; /* unknown header format */
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_EVERSION);
	h->magic[7] = 1;
	h->kind = 200; /* a kind from the future */
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_EVERSION);
	h->kind = SHMBUS_KIND_SPSC;
	h->total_size = 8192; /* larger than the object */
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_ETRUNCATED);
	h->total_size = 4096;
	h->byte_order = __builtin_bswap32(h->byte_order);
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_EBYTEORDER);
	h->byte_order = __builtin_bswap32(h->byte_order);
	h->participants_off = 4000;
	h->participants_max = 100; /* runs past the end */
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_ECORRUPT);
	h->participants_off = 0;
	h->participants_max = 0;
	h->cacheline = 48;
	assert_int_equal(shmbus_block_info(b, &info), -SHMBUS_ECORRUPT);
	h->cacheline = 64;
	assert_int_equal(shmbus_block_info(b, &info), 0);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_not_ready_and_truncated(void **state)
{
	struct shmbus_block *b, *c;
	const char *name = tu_name("nready");
	char path[300];
	int fd;

	(void)state;
	b = make_layout(name, 4096, false);
	assert_int_equal(shmbus_block_info(b, NULL), -SHMBUS_ENOTREADY);
	/* creator (us) alive: waits briefly, then gives up */
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL),
			 -SHMBUS_ENOTREADY);
	header_publish(block_header(b));
	shmbus_block_close(b);
	/* truncate the object to half: the header now claims more than exists */
	snprintf(path, sizeof(path), "/%s", name);
	fd = shm_open(path, O_RDWR, 0);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 2048), 0);
	close(fd);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL),
			 -SHMBUS_ETRUNCATED);
	/* smaller than a header */
	fd = shm_open(path, O_RDWR, 0);
	assert_int_equal(ftruncate(fd, 16), 0);
	close(fd);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL),
			 -SHMBUS_ETRUNCATED);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_raw_zero_block_is_not_ours(void **state)
{
	struct shmbus_block *b, *c;
	const char *name = tu_name("raw");

	(void)state;
	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	assert_int_equal(shmbus_block_info(b, NULL), -SHMBUS_EMAGIC);
	assert_int_equal(block_attach_layout(&c, name, 0, SHMBUS_KIND_SPSC, 1, NULL),
			 -SHMBUS_EMAGIC);
	shmbus_block_close(b);
	assert_int_equal(shmbus_block_unlink(name), 0);
}

static void test_strerror(void **state)
{
	(void)state;
	assert_string_equal(shmbus_strerror(0), "success");
	assert_string_equal(shmbus_strerror(-ENOENT), "No such file or directory");
	assert_non_null(strstr(shmbus_strerror(-SHMBUS_EMAGIC), "not a shmbus block"));
	assert_string_equal(shmbus_strerror(-SHMBUS_EMAGIC), shmbus_strerror(SHMBUS_EMAGIC));
	assert_non_null(shmbus_strerror(-999999));
}

/* The listing ls and gc share: regular files (not the subdirectory, nor
 * "." and "..") with block names, sorted, by prefix; the whole directory
 * on every call, even on the same fd. */
static void test_shm_list(void **state)
{
	char dir[] = "/tmp/shmbus-test-list-XXXXXX", path[512];
	const char *files[] = { "b_two", "a_one", "b_three" };
	char **names;
	size_t n, i;
	int dfd, round;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		fd = open(path, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/b_dir", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	for (round = 0; round < 2; round++) {
		assert_int_equal(shm_list(dfd, NULL, &names, &n), 0);
		assert_int_equal(n, 3);
		assert_string_equal(names[0], "a_one");
		assert_string_equal(names[1], "b_three");
		assert_string_equal(names[2], "b_two");
		shmbus_block_list_free(names, n);
	}
	assert_int_equal(shm_list(dfd, "b_", &names, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "b_three");
	shmbus_block_list_free(names, n);
	assert_int_equal(shm_list(dfd, "zz", &names, &n), 0);
	assert_int_equal(n, 0);
	shmbus_block_list_free(names, n);
	assert_int_equal(shm_list(100000, NULL, &names, &n), -EBADF); /* not open */
	close(dfd);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/b_dir", dir);
	rmdir(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_create_attach_roundtrip, tu_teardown),
		cmocka_unit_test_teardown(test_leading_slash_and_mode, tu_teardown),
		cmocka_unit_test_teardown(test_generated_names, tu_teardown),
		cmocka_unit_test_teardown(test_bad_names, tu_teardown),
		cmocka_unit_test_teardown(test_bad_sizes_and_existence, tu_teardown),
		cmocka_unit_test_teardown(test_no_space_leaves_nothing, tu_teardown),
		cmocka_unit_test_teardown(test_readonly_refuses_writes, tu_teardown),
		cmocka_unit_test_teardown(test_zero_length_object, tu_teardown),
		cmocka_unit_test_teardown(test_header_validation, tu_teardown),
		cmocka_unit_test_teardown(test_not_ready_and_truncated, tu_teardown),
		cmocka_unit_test_teardown(test_raw_zero_block_is_not_ours, tu_teardown),
		cmocka_unit_test_teardown(test_strerror, tu_teardown),
		cmocka_unit_test_teardown(test_shm_list, tu_teardown),
	};

	return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
