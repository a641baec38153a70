/*
 * telemetry.c - one telemetry stream, three readers, on one broadcast ring.
 *
 *   telemetry [DIR [COUNT [INTERVAL_US]]]
 *
 * A publisher samples (synthetic) CPU load, temperature and memory use
 * COUNT times (default 500), every INTERVAL_US microseconds (default 1000),
 * and publishes each sample once.  Three subscriber processes read every
 * sample at their own pace:
 *   logger    one text line per sample in DIR/telemetry.log;
 *   live      the latest values on stdout, every 100 ms (what a dashboard
 *             would draw);
 *   recorder  the raw samples as length-prefixed records (a 4-byte length in
 *             native byte order, then the bytes) in DIR/telemetry.rec, for
 *             replay.
 * The ring is reliable: a slow reader holds the publisher back instead of
 * missing samples (a lossy ring would suit a view that only wants the
 * latest).  The publisher ends with shmbus_bcast_close_stream(): each
 * reader gets every sample, then -SHMBUS_EEOS, and exits.  At the end the
 * publisher reads the recording back and checks that it holds every sample
 * in order.  Exit status 0 if all went well.
 *
 * The regions between the README markers are what the README shows
 * (tests/readme_check.py).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmbus/shmbus.h>

struct sample {
	uint64_t seq;
	uint64_t t_ns;          /* CLOCK_REALTIME */
	double load, temp_c, mem_mb;
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ readers */

enum reader { LOGGER, LIVE, RECORDER, NREADERS };
static const char *const reader_name[NREADERS] = { "logger", "live", "recorder" };

struct reader_state {
	enum reader who;
	FILE *out;              /* logger, recorder */
	uint64_t count;         /* samples so far */
	uint64_t last_print;    /* live: when it last printed */
};

/* What a reader does with one sample of @len bytes: check that it is the
 * next one, then log it, show it or record it.  0 or -1. */
static int consume(struct reader_state *st, const struct sample *s, size_t len)
{
	uint32_t n = (uint32_t)len;
	int rc = 0;

	if (len != sizeof(*s) || s->seq != st->count) {
		fprintf(stderr, "%s: sample %llu missing or malformed\n", reader_name[st->who],
			(unsigned long long)st->count);
		return -1;
	}
	switch (st->who) {
	case LOGGER:
		rc = fprintf(st->out, "seq=%llu t=%llu load=%.2f temp=%.1f mem=%.0f\n",
			     (unsigned long long)s->seq, (unsigned long long)s->t_ns, s->load,
			     s->temp_c, s->mem_mb) < 0 ? -1 : 0;
		break;
	case LIVE:
		if (now_ns(CLOCK_MONOTONIC) - st->last_print >= 100000000u) {
			printf("live: sample %llu  load %.2f  temp %.1f C  mem %.0f MB\n",
			       (unsigned long long)s->seq, s->load, s->temp_c, s->mem_mb);
			fflush(stdout);
			st->last_print = now_ns(CLOCK_MONOTONIC);
		}
		break;
	default: /* RECORDER */
		if (fwrite(&n, sizeof(n), 1, st->out) != 1 || fwrite(s, len, 1, st->out) != 1)
			rc = -1;
	}
	if (rc < 0)
		fprintf(stderr, "%s: cannot write\n", reader_name[st->who]);
	st->count++;
	return rc;
}

/* A reader process: join, tell the publisher, read to the end of stream. */
static int reader(enum reader who, const char *ring, const char *path, int ready_fd)
{
	struct reader_state st = { .who = who };
	struct sample s;
	int rc, n = 0;

	if (path && !(st.out = fopen(path, who == RECORDER ? "wb" : "w"))) {
		perror(path);
		return -1;
	}
	/* README:begin telemetry-sub */
	struct shmbus_bcast *sub;
	rc = shmbus_bcast_subscribe(&sub, ring, SHMBUS_BCAST_FROM_OLDEST);
	/* README:end */
	if (rc == 0 && write(ready_fd, "r", 1) != 1)
		rc = -errno;
	close(ready_fd);
	if (rc < 0) {
		fprintf(stderr, "%s: %s: %s\n", reader_name[who], ring, shmbus_strerror(rc));
		if (st.out)
			fclose(st.out);
		return -1;
	}
	/* README:begin telemetry-sub */
	while ((n = shmbus_bcast_pop(sub, &s, sizeof(s), NULL, -1)) >= 0)
		if (consume(&st, &s, (size_t)n) < 0)   /* log it, show it or record it */
			break;
	shmbus_bcast_close(sub);        /* n == -SHMBUS_EEOS: the stream was closed */
	/* README:end */
	if (st.out && fclose(st.out) != 0)
		n = -EIO;
	printf("%s: %llu samples, then %s\n", reader_name[who], (unsigned long long)st.count,
	       n >= 0 ? "an error" : shmbus_strerror(n));
	fflush(stdout);
	return n == -SHMBUS_EEOS ? 0 : -1;
}

/* ---------------------------------------------------------- publisher */

/* Sample @i of the (synthetic) machine. */
static void take_sample(struct sample *s, uint64_t i)
{
	s->seq = i;
	s->t_ns = now_ns(CLOCK_REALTIME);
	s->load = 0.5 + 0.4 * sin((double)i / 50);
	s->temp_c = 45 + 10 * sin((double)i / 200);
	s->mem_mb = 2048 + (double)(i % 64);
}

static int publish(const char *ring, uint64_t count, unsigned interval_us)
{
	struct sample s;
	int rc;

	/* README:begin telemetry-pub */
	struct shmbus_bcast *pub;
	rc = shmbus_bcast_open_producer(&pub, ring);
	for (uint64_t i = 0; rc == 0 && i < count; i++) {
		take_sample(&s, i);
		rc = shmbus_bcast_push(pub, &s, sizeof(s), 1000); /* waits for the slowest reader */
		usleep(interval_us);
	}
	if (rc == 0)
		rc = shmbus_bcast_close_stream(pub);    /* readers drain, then get -SHMBUS_EEOS */
	shmbus_bcast_close(pub);
	/* README:end */
	return rc;
}

/* The recording holds every sample, in order, each prefixed by its length. */
static int check_recording(const char *path, uint64_t count)
{
	FILE *f = fopen(path, "rb");
	struct sample s;
	uint64_t n = 0;
	uint32_t len;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fread(&len, sizeof(len), 1, f) == 1) {
		if (len != sizeof(s) || fread(&s, sizeof(s), 1, f) != 1 || s.seq != n)
			break;
		n++;
	}
	fclose(f);
	printf("publisher: %s holds %llu of %llu samples\n", path, (unsigned long long)n,
	       (unsigned long long)count);
	return n == count ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	uint64_t count = argc > 2 ? strtoull(argv[2], NULL, 10) : 500;
	unsigned interval_us = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1000;
	char ring[64], log_path[4096], rec_path[4096];
	pid_t child[NREADERS];
	int ready[2], rc, status, failed = 0;
	unsigned i, joined = 0;
	char c;

	snprintf(ring, sizeof(ring), "telemetry-%d", (int)getpid());
	snprintf(log_path, sizeof(log_path), "%s/telemetry.log", dir);
	snprintf(rec_path, sizeof(rec_path), "%s/telemetry.rec", dir);
	/* README:begin telemetry-create */
	struct shmbus_bcast_params params = {
		.capacity = 64 * 1024,          /* bytes, a power of two */
		.subscribers = 8,               /* readers at once, at most */
		.policy = SHMBUS_BCAST_RELIABLE, /* or SHMBUS_BCAST_LOSSY: never wait, count misses */
	};
	rc = shmbus_bcast_create(ring, &params);
	/* README:end */
	if (rc) {
		fprintf(stderr, "%s: %s\n", ring, shmbus_strerror(rc));
		return 1;
	}
	if (pipe(ready) < 0) {
		perror("pipe");
		failed = 1;
		goto out;
	}
	for (i = 0; i < NREADERS; i++) {
		const char *path = i == LOGGER ? log_path : i == RECORDER ? rec_path : NULL;

		fflush(stdout);
		child[i] = fork();
		if (child[i] == 0) {
			close(ready[0]);
			_exit(reader((enum reader)i, ring, path, ready[1]) ? 1 : 0);
		}
		if (child[i] < 0) {
			perror("fork");
			failed = 1;
		}
	}
	close(ready[1]);
	/* Every reader joins before the first sample (a reliable ring keeps
	 * samples for no one who has not joined yet). */
	while (joined < NREADERS && read(ready[0], &c, 1) == 1)
		joined++;
	close(ready[0]);
	if (joined < NREADERS) {
		fprintf(stderr, "publisher: only %u readers joined\n", joined);
		failed = 1;
	}
	rc = publish(ring, count, interval_us);
	if (rc) {
		/* No end of stream for the readers: stop them. */
		fprintf(stderr, "publisher: %s\n", shmbus_strerror(rc));
		for (i = 0; i < NREADERS; i++)
			if (child[i] > 0)
				kill(child[i], SIGTERM);
		failed = 1;
	}
	for (i = 0; i < NREADERS; i++)
		if (child[i] > 0 && (waitpid(child[i], &status, 0) != child[i] ||
				     !WIFEXITED(status) || WEXITSTATUS(status) != 0))
			failed = 1;
	if (!failed && check_recording(rec_path, count))
		failed = 1;
out:
	if (shmbus_block_unlink(ring))
		failed = 1;
	return failed;
}
