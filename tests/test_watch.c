/*
 * test_watch.c - `shmbus watch`: under a pseudo-terminal it refreshes in
 * place (clear + redraw per frame) for the requested number of frames; in
 * --json mode it prints one document per refresh, with per-second rates
 * from the second line on, and rates that reflect real traffic on a ring.
 */
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>

#include <jansson.h>

#include "shmbus/shmbus.h"
#include "testutil.h"

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void test_watch_pty(void **state)
{
	const char *name = tu_name("wpty");
	struct shmbus_block *b;
	char buf[65536];
	size_t len = 0;
	pid_t pid;
	int master;

	(void)state;
	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	shmbus_block_close(b);
	pid = forkpty(&master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(tu_tool(), "shmbus", "watch", name, "--interval-ms", "20", "--count", "3",
		      (char *)NULL);
		_exit(127);
	}
	for (;;) {
		ssize_t n = read(master, buf + len, sizeof(buf) - 1 - len);

		if (n <= 0)
			break; /* EIO once the child has exited and the pty closed */
		len += (size_t)n;
	}
	buf[len] = '\0';
	assert_int_equal(tu_wait(pid), 0);
	close(master);
	/* three frames, each drawn from the top of a cleared screen */
	assert_int_equal(count_of(buf, "\033[H\033[J"), 3);
	assert_int_equal(count_of(buf, "shmbus watch "), 3);
	assert_non_null(strstr(buf, name));
}

static void test_watch_json_lines(void **state)
{
	const char *name = tu_name("wjson");
	const char *argv[] = { tu_tool(), "watch", name, "--interval-ms", "10", "--count", "3",
			       "--json", NULL };
	struct shmbus_block *b;
	char *out, *err, *line, *save = NULL;
	int lines = 0;

	(void)state;
	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	shmbus_block_close(b);
	assert_int_equal(tu_run(argv, NULL, &out, &err), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL);

		assert_non_null(doc);
		assert_string_equal(json_string_value(json_object_get(doc, "name")), name);
		assert_int_equal(json_integer_value(json_object_get(doc, "interval_ms")), 10);
		assert_true(json_is_null(json_object_get(doc, "rates"))); /* no ring */
		json_decref(doc);
		lines++;
	}
	assert_int_equal(lines, 3);
	free(out);
	free(err);
	/* the block vanishing is an error, not a crash */
	assert_int_equal(shmbus_block_unlink(name), 0);
	assert_int_equal(tu_run(argv, NULL, &out, &err), 1);
	assert_non_null(strstr(err, name));
	free(out);
	free(err);
}

/* Child: keep the ring busy until killed. */
static int produce(void *arg)
{
	const char *name = arg;
	struct shmbus_spsc *p, *c;
	char msg[100] = { 0 };

	if (shmbus_spsc_open(&p, name, SHMBUS_SPSC_PRODUCER) ||
	    shmbus_spsc_open(&c, name, SHMBUS_SPSC_CONSUMER))
		return 1;
	for (;;) {
		const void *d;
		size_t n;

		if (shmbus_spsc_push(p, msg, sizeof(msg), 100) == 0 &&
		    shmbus_spsc_peek(c, &d, &n, 0) == 0 && shmbus_spsc_release(c) != 0)
			return 2;
	}
}

static double ring_num(json_t *doc, const char *key)
{
	json_t *v = json_object_get(json_object_get(doc, "ring"), key);

	assert_true(json_is_integer(v));
	return (double)json_integer_value(v);
}

static void test_watch_rates_follow_traffic(void **state)
{
	const char *name = tu_name("wrate");
	const char *argv[] = { tu_tool(), "watch", name, "--interval-ms", "50", "--count", "3",
			       "--json", NULL };
	char *out, *err, *line, *save = NULL;
	int lines = 0, with_rates = 0;
	double msgs, bytes, prev_msgs = 0, prev_bytes = 0, dm, db;
	struct shmbus_spsc_stats st;
	struct shmbus_spsc *q;
	pid_t pid;

	(void)state;
	assert_int_equal(shmbus_spsc_create(name, 1 << 16, 0), 0);
	pid = tu_spawn(produce, (void *)name);
	assert_int_equal(tu_run(argv, NULL, &out, &err), 0);
	kill(pid, SIGKILL);
	tu_wait(pid);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *doc = json_loads(line, 0, NULL), *r;

		assert_non_null(doc);
		assert_string_equal(json_string_value(json_object_get(doc, "kind")), "spsc");
		r = json_object_get(doc, "rates");
		dm = ring_num(doc, "msgs_in") - prev_msgs;
		db = ring_num(doc, "bytes_in") - prev_bytes;
		prev_msgs += dm;
		prev_bytes += db;
		if (lines++ == 0) {
			assert_true(json_is_null(r));
		} else {
			assert_true(json_is_object(r));
			msgs = json_real_value(json_object_get(r, "msgs_in_per_s"));
			bytes = json_real_value(json_object_get(r, "bytes_in_per_s"));
			/* The traffic between the two snapshots, over one
			 * interval: both rates are these counts' differences
			 * over the same time, whatever moved while each
			 * snapshot copied its counters. */
			assert_true(dm > 0 && msgs > 0);
			assert_true(bytes * dm - msgs * db <= 1e-9 * bytes * dm &&
				    msgs * db - bytes * dm <= 1e-9 * bytes * dm);
			with_rates++;
		}
		json_decref(doc);
	}
	assert_int_equal(lines, 3);
	assert_int_equal(with_rates, 2);
	/* And the counters moved 100 bytes a message: exactly, now that the
	 * producer is dead (it may have died between counting a message and
	 * its bytes). */
	assert_int_equal(shmbus_spsc_open(&q, name, SHMBUS_SPSC_CONSUMER), 0);
	assert_int_equal(shmbus_spsc_stats(q, &st), 0);
	assert_true(st.msgs_in > 0);
	assert_true(st.bytes_in == 100 * st.msgs_in || st.bytes_in == 100 * (st.msgs_in - 1));
	shmbus_spsc_close(q);
	free(out);
	free(err);
}

/* Text view of both ring kinds: occupancy in bytes (spsc) or slots (mpmc). */
static void test_watch_text_occupancy(void **state)
{
	struct shmbus_mpmc_params params = { .slots = 8, .slot_size = 32 };
	const char *m = tu_name("wm"), *q = tu_name("ws");
	const char *argm[] = { tu_tool(), "watch", m, "--count", "1", NULL };
	const char *argq[] = { tu_tool(), "watch", q, "--count", "1", NULL };
	struct shmbus_mpmc *h;
	struct shmbus_spsc *p;
	char *out, *err;

	(void)state;
	assert_int_equal(shmbus_mpmc_create(m, &params), 0);
	assert_int_equal(shmbus_mpmc_open(&h, m, SHMBUS_MPMC_PRODUCER), 0);
	assert_int_equal(shmbus_mpmc_push_try(h, "a", 1), 0);
	assert_int_equal(shmbus_mpmc_push_try(h, "b", 1), 0);
	assert_int_equal(shmbus_mpmc_push_try(h, "c", 1), 0);
	shmbus_mpmc_close(h);
	assert_int_equal(tu_run(argm, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "(3 / 8 slots)"));
	assert_non_null(strstr(out, "in 3  out 0  lost 0"));
	free(out);
	free(err);
	assert_int_equal(shmbus_spsc_create(q, 1024, 0), 0);
	assert_int_equal(shmbus_spsc_open(&p, q, SHMBUS_SPSC_PRODUCER), 0);
	assert_int_equal(shmbus_spsc_push_try(p, "abc", 3), 0);
	shmbus_spsc_close(p);
	assert_int_equal(tu_run(argq, NULL, &out, &err), 0);
	assert_non_null(strstr(out, "(16 / 1024 bytes)"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_watch_pty, tu_teardown),
		cmocka_unit_test_teardown(test_watch_json_lines, tu_teardown),
		cmocka_unit_test_teardown(test_watch_rates_follow_traffic, tu_teardown),
		cmocka_unit_test_teardown(test_watch_text_occupancy, tu_teardown),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
