/*
 * test_watch.c - `shmbus watch`: under a pseudo-terminal it refreshes in
 * place (home + redraw per frame, on the alternate screen, cut to the
 * terminal's size) for the requested number of frames; a slot table shows a
 * window of rows with the changed ones marked; in
 * --json mode it prints one document per refresh, with per-second rates
 * from the second line on, and rates that reflect real traffic on a ring.
 *
 * Where no pseudo-terminal can be opened (a container without /dev/pts),
 * the tests that need one are skipped and the run exits 77 (skipped) if
 * everything else passed.
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

static bool have_pty;

/* Whether a pseudo-terminal can be opened here at all. */
static bool pty_available(void)
{
	int master, slave;

	if (openpty(&master, &slave, NULL, NULL, NULL) != 0) {
		fprintf(stderr, "no pseudo-terminal (%s): skipping the terminal tests\n",
			strerror(errno));
		return false;
	}
	close(master);
	close(slave);
	return true;
}

/* Run the tool with @args under a pty of @rows x @cols; its output. */
struct watch_pty {
	char buf[1 << 17];
	size_t len;
	int master;
	pid_t pid;
};

static void pty_start(struct watch_pty *w, const char *const *args, unsigned short rows,
		      unsigned short cols)
{
	struct winsize ws = { .ws_row = rows, .ws_col = cols };

	if (!have_pty)
		skip();
	w->len = 0;
	w->pid = forkpty(&w->master, NULL, NULL, &ws);
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		execv(tu_tool(), (char *const *)args);
		_exit(127);
	}
}

/* Read until @needle has appeared @times (NULL: until the end). */
static void pty_read(struct watch_pty *w, const char *needle, size_t times)
{
	for (;;) {
		ssize_t n;

		w->buf[w->len] = '\0';
		if (needle && count_of(w->buf, needle) >= times)
			return;
		n = read(w->master, w->buf + w->len, sizeof(w->buf) - 1 - w->len);
		if (n <= 0)
			break; /* EIO once the child has exited and the pty closed */
		w->len += (size_t)n;
	}
	w->buf[w->len] = '\0';
}

static int pty_finish(struct watch_pty *w)
{
	pty_read(w, NULL, 0);
	close(w->master);
	return tu_wait(w->pid);
}

/* Longest line of @s, and how many lines each frame (from one home to the
 * next) has at most. */
static void frame_extent(const char *s, size_t *widest, size_t *tallest)
{
	size_t col = 0, lines = 0;

	*widest = *tallest = 0;
	for (; *s; s++) {
		if (strncmp(s, "\033[H", 3) == 0) {
			lines = 0;
			s += 2;
			continue;
		}
		if (*s == '\033') { /* other escape: ESC [ params, up to a letter */
			while (*s && !(*s >= 'A' && *s <= 'Z') && !(*s >= 'a' && *s <= 'z'))
				s++;
			if (!*s)
				break;
			continue;
		}
		if (*s == '\r')
			continue;
		if (*s == '\n') {
			*widest = col > *widest ? col : *widest;
			col = 0;
			if (++lines > *tallest)
				*tallest = lines;
			continue;
		}
		col++;
	}
}

static void test_watch_pty(void **state)
{
	const char *name = tu_name("wpty");
	const char *args[] = { "shmbus", "watch", name, "--interval-ms", "20", "--count", "3",
			       NULL };
	struct watch_pty *w = calloc(1, sizeof(*w));
	struct shmbus_block *b;

	(void)state;
	assert_non_null(w);
	assert_int_equal(shmbus_block_create(&b, name, 4096, 0), 0);
	shmbus_block_close(b);
	pty_start(w, args, 24, 80);
	assert_int_equal(pty_finish(w), 0);
	/* three frames, each drawn from the top over the last, on the
	 * alternate screen, which is left at the end */
	assert_int_equal(count_of(w->buf, "\033[H"), 3);
	assert_int_equal(count_of(w->buf, "shmbus watch "), 3);
	assert_int_equal(count_of(w->buf, "\033[?1049h"), 1);
	assert_int_equal(count_of(w->buf, "\033[?1049l"), 1);
	assert_non_null(strstr(w->buf, name));
	free(w);
}

/* A slot table longer than the terminal: each frame fits it, shows a window
 * of rows and sums up the rest, and marks the item that changed. */
static void test_watch_slots_window(void **state)
{
	const char *name = tu_name("wslots");
	const char *args[] = { "shmbus", "watch", name, "--interval-ms", "1500", "--count", "2",
			       NULL };
	struct shmbus_slot_value vals[40], v = { .type = SHMBUS_SLOT_INT, .u.i = 777 };
	struct watch_pty *w = calloc(1, sizeof(*w));
	struct shmbus_slots *sl;
	size_t widest, tallest, i;

	(void)state;
	assert_non_null(w);
	for (i = 0; i < 40; i++)
		vals[i] = (struct shmbus_slot_value){ .type = SHMBUS_SLOT_INT, .u.i = (int64_t)i };
	assert_int_equal(shmbus_slots_create(&sl, name, vals, 40, 0), 0);
	pty_start(w, args, 12, 60);
	pty_read(w, "more items", 1);  /* the first frame is out */
	assert_int_equal(shmbus_slots_set(sl, 3, &v), 0);
	assert_int_equal(pty_finish(w), 0);
	shmbus_slots_close(sl);
	frame_extent(w->buf, &widest, &tallest);
	assert_true(widest <= 60);
	assert_true(tallest < 12);
	assert_int_equal(count_of(w->buf, "more items"), 2);
	assert_int_equal(count_of(w->buf, "40 items"), 2);
	/* Item 3 changed between the frames: marked in the second only. */
	assert_int_equal(count_of(w->buf, "*     3  int    777"), 1);
	assert_int_equal(count_of(w->buf, "      3  int    3"), 1);
	free(w);
}

/* --count 0 is bad usage (leave --count out to watch for ever). */
static void test_watch_count_zero(void **state)
{
	const char *argv[] = { tu_tool(), "watch", "x", "--count", "0", NULL };
	char *err = NULL;

	(void)state;
	assert_int_equal(tu_run(argv, NULL, NULL, &err), 2);
	assert_non_null(strstr(err, "--count"));
	free(err);
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
	assert_non_null(strstr(out, "in 1  out 0"));
	/* An spsc ring has no lost or recovered messages to show. */
	assert_null(strstr(out, "lost"));
	assert_null(strstr(out, "recovered"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_watch_pty, tu_teardown),
		cmocka_unit_test_teardown(test_watch_slots_window, tu_teardown),
		cmocka_unit_test_teardown(test_watch_count_zero, tu_teardown),
		cmocka_unit_test_teardown(test_watch_json_lines, tu_teardown),
		cmocka_unit_test_teardown(test_watch_rates_follow_traffic, tu_teardown),
		cmocka_unit_test_teardown(test_watch_text_occupancy, tu_teardown),
	};

	int rc;

	have_pty = pty_available();
	rc = cmocka_run_group_tests_name("watch", tests, NULL, NULL);
	return rc == 0 && !have_pty ? TU_SKIP : rc;
}
