/*
 * demo.c - shmbus-demo, the main job: a producer process and a consumer
 * process exchange millions of messages through an SPSC ring, zero-copy;
 * the consumer checks every one (sequence number and checksum), then the
 * program prints the throughput and the ring's state as JSON, removes its
 * block and exits non-zero if any check failed.
 *
 * Uses only the public API (<shmbus/shmbus.h>), as an application would.
 *
 * Message n: [u64 n][u32 length][u32 checksum of the payload][payload], the
 * payload xorshift64 bytes seeded by n; lengths 16..max vary with n.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmbus/shmbus.h>

#define BURST 32
#define HDR 16
#define WAIT_MS 10000 /* a peer silent this long has failed */

struct opts {
	const char *name;
	uint64_t count;
	uint64_t capacity;
	uint64_t max_size;
	bool spin;
	bool keep;
};

/* What each child reports, in a shared anonymous mapping. */
struct result {
	uint64_t msgs;
	uint64_t bytes;
	uint64_t bad;        /* consumer: messages that failed a check */
	int64_t ns;          /* time from first to last message */
	int rc;              /* 0 or the shmbus error that stopped it */
	char what[160];      /* the first failure, for people */
};

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static uint64_t mix(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static size_t msg_len(uint64_t n, uint64_t max)
{
	return HDR + (size_t)(mix(n) % (max - HDR + 1));
}

/* 32-bit checksum of @len bytes, a word at a time (FNV-style). */
static uint32_t checksum(const unsigned char *p, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325), w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return (uint32_t)(h ^ (h >> 32));
}

static void fill(unsigned char *m, uint64_t n, size_t len)
{
	uint64_t x = mix(n) | 1;
	uint32_t l = (uint32_t)len, sum;
	size_t i;

	memcpy(m, &n, 8);
	memcpy(m + 8, &l, 4);
	for (i = HDR; i < len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(m + i, &x, len - i < 8 ? len - i : 8);
	}
	sum = checksum(m + HDR, len - HDR);
	memcpy(m + 12, &sum, 4);
}

/* Whether @m (@len bytes) is intact message @n. */
static bool check(const unsigned char *m, size_t len, uint64_t n, uint64_t max,
		  char *why, size_t whylen)
{
	uint64_t seq;
	uint32_t l, sum;

	if (len < HDR) {
		snprintf(why, whylen, "consumer: message %" PRIu64 ": %zu bytes, too short", n, len);
		return false;
	}
	memcpy(&seq, m, 8);
	memcpy(&l, m + 8, 4);
	memcpy(&sum, m + 12, 4);
	if (seq != n) {
		snprintf(why, whylen, "consumer: message %" PRIu64 ": sequence %" PRIu64 " (lost, "
			 "duplicated or reordered)", n, seq);
		return false;
	}
	if (l != len || len != msg_len(n, max)) {
		snprintf(why, whylen, "consumer: message %" PRIu64 ": length %zu, expected %zu", n, len,
			 msg_len(n, max));
		return false;
	}
	if (checksum(m + HDR, len - HDR) != sum) {
		snprintf(why, whylen, "consumer: message %" PRIu64 ": bad checksum", n);
		return false;
	}
	return true;
}

static int producer(const struct opts *o, struct result *r)
{
	struct shmbus_spsc_buf bufs[BURST];
	struct shmbus_spsc *q;
	uint64_t n = 0, i;
	int64_t t0 = 0;
	int rc, k;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_PRODUCER);
	if (rc) {
		snprintf(r->what, sizeof(r->what), "producer: open: %s", shmbus_strerror(rc));
		return r->rc = rc;
	}
	while (n < o->count) {
		unsigned want = o->count - n < BURST ? (unsigned)(o->count - n) : BURST;

		for (i = 0; i < want; i++)
			bufs[i].len = msg_len(n + i, o->max_size);
		k = o->spin ? shmbus_spsc_reserve_burst_try(q, bufs, want)
			    : shmbus_spsc_reserve_burst(q, bufs, want, WAIT_MS);
		if (k == -EAGAIN)
			continue;
		if (k < 0) {
			snprintf(r->what, sizeof(r->what), "producer: reserve: %s",
				 shmbus_strerror(k));
			rc = k;
			break;
		}
		if (n == 0)
			t0 = now_ns();
		for (i = 0; i < (uint64_t)k; i++) {
			fill(bufs[i].data, n + i, bufs[i].len);
			r->bytes += bufs[i].len;
		}
		rc = shmbus_spsc_commit_bulk(q, NULL, (unsigned)k);
		if (rc) {
			snprintf(r->what, sizeof(r->what), "producer: commit: %s",
				 shmbus_strerror(rc));
			break;
		}
		n += (uint64_t)k;
	}
	r->msgs = n;
	r->ns = now_ns() - t0;
	shmbus_spsc_close(q);
	return r->rc = rc;
}

static int consumer(const struct opts *o, struct result *r)
{
	struct shmbus_spsc_msg msgs[BURST];
	struct shmbus_spsc *q;
	uint64_t n = 0;
	int64_t t0 = 0;
	int rc = 0, k, i;

	rc = shmbus_spsc_open(&q, o->name, SHMBUS_SPSC_CONSUMER);
	if (rc) {
		snprintf(r->what, sizeof(r->what), "consumer: open: %s", shmbus_strerror(rc));
		return r->rc = rc;
	}
	while (n < o->count) {
		k = o->spin ? shmbus_spsc_peek_burst_try(q, msgs, BURST)
			    : shmbus_spsc_peek_burst(q, msgs, BURST, WAIT_MS);
		if (k == -EAGAIN)
			continue;
		if (k < 0) {
			snprintf(r->what, sizeof(r->what), "consumer: after %" PRIu64
				 " messages: %s", n, shmbus_strerror(k));
			rc = k;
			break;
		}
		if (n == 0)
			t0 = now_ns();
		for (i = 0; i < k; i++, n++) {
			if (!check(msgs[i].data, msgs[i].len, n, o->max_size,
				   r->bad ? (char[160]){ 0 } : r->what, sizeof(r->what)))
				r->bad++;
			r->bytes += msgs[i].len;
		}
		rc = shmbus_spsc_release_burst(q, (unsigned)k);
		if (rc < 0) {
			snprintf(r->what, sizeof(r->what), "consumer: release: %s",
				 shmbus_strerror(rc));
			break;
		}
		rc = 0;
	}
	r->msgs = n;
	r->ns = now_ns() - t0;
	shmbus_spsc_close(q);
	return r->rc = rc;
}

static int usage(FILE *to, int status)
{
	fprintf(to,
		"usage: shmbus-demo [--count N] [--capacity BYTES] [--max-size BYTES]\n"
		"                   [--name NAME] [--spin] [--keep]\n\n"
		"A producer process streams N messages (default 4000000) of 16..max-size bytes\n"
		"(default 256) through an SPSC ring (default 64K) to a consumer process that\n"
		"checks each one (sequence number, length, checksum).  Prints the throughput\n"
		"and the ring's state as JSON, then removes the ring (unless --keep).\n"
		"  --spin   poll with the _try calls instead of the blocking ones\n"
		"Exit status: 0 all checks passed, 1 a check or a call failed, 2 bad usage.\n");
	return status;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (errno || *end || v > (UINT64_MAX >> shift))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

static int parse(int argc, char **argv, struct opts *o, char *name, size_t namelen)
{
	static const struct option lopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-size", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'N' },
		{ "spin", no_argument, NULL, 'S' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	*o = (struct opts){ .count = 4000000, .capacity = 65536, .max_size = 256 };
	snprintf(name, namelen, "shmbus-demo-%d", (int)getpid());
	o->name = name;
	while ((c = getopt_long(argc, argv, "n:c:s:N:Skh", lopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_u64(optarg, &o->count) || o->count == 0)
				return usage(stderr, 2);
			break;
		case 'c':
			if (!parse_u64(optarg, &o->capacity))
				return usage(stderr, 2);
			break;
		case 's':
			if (!parse_u64(optarg, &o->max_size) || o->max_size < HDR ||
			    o->max_size > 1 << 20)
				return usage(stderr, 2);
			break;
		case 'N': o->name = optarg; break;
		case 'S': o->spin = true; break;
		case 'k': o->keep = true; break;
		case 'h': return usage(stdout, 0) - 1;
		default: return usage(stderr, 2);
		}
	}
	if (optind != argc)
		return usage(stderr, 2);
	return 0;
}

static int print_state(const char *name)
{
	struct shmbus_snapshot *snap;
	char *json;
	int rc = shmbus_snapshot_take(name, &snap);

	if (rc) {
		fprintf(stderr, "shmbus-demo: %s: cannot inspect: %s\n", name, shmbus_strerror(rc));
		return 1;
	}
	json = shmbus_snapshot_json(snap, 2);
	shmbus_snapshot_free(snap);
	if (!json)
		return 1;
	printf("ring state (as `shmbus inspect %s --json` shows it):\n%s\n", name, json);
	free(json);
	return 0;
}

static pid_t spawn(int (*fn)(const struct opts *, struct result *), const struct opts *o,
		   struct result *r)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(fn(o, r) ? 1 : 0);
	return pid;
}

static bool reap(pid_t pid, const char *who)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return false;
	}
	if (WIFSIGNALED(st))
		fprintf(stderr, "shmbus-demo: %s killed by signal %d\n", who, WTERMSIG(st));
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	char name[64];
	struct result *res;
	struct opts o;
	bool ok = true;
	double secs;
	pid_t pc, pp;
	int rc;

	rc = parse(argc, argv, &o, name, sizeof(name));
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = shmbus_spsc_create(o.name, (size_t)o.capacity, 0);
	if (rc) {
		fprintf(stderr, "shmbus-demo: %s: cannot create ring: %s\n", o.name,
			shmbus_strerror(rc));
		return rc == -EINVAL ? 2 : 1;
	}
	if (o.max_size > o.capacity - SHMBUS_SPSC_RECORD_HEADER)
		o.max_size = o.capacity - SHMBUS_SPSC_RECORD_HEADER;
	res = mmap(NULL, 2 * sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("shmbus-demo: mmap");
		ok = false;
		goto out;
	}
	memset(res, 0, 2 * sizeof(*res));
	printf("shmbus-demo: %" PRIu64 " messages of 16..%" PRIu64 " bytes, producer process -> "
	       "consumer process,\n  through SPSC ring \"%s\" (%" PRIu64 " bytes, zero-copy bursts, "
	       "%s)\n", o.count, o.max_size, o.name, o.capacity,
	       o.spin ? "spinning" : "blocking");
	pc = spawn(consumer, &o, &res[1]);
	pp = spawn(producer, &o, &res[0]);
	if (pc < 0 || pp < 0) {
		perror("shmbus-demo: fork");
		if (pc > 0)
			kill(pc, SIGKILL);
		if (pp > 0)
			kill(pp, SIGKILL);
	}
	ok &= pp > 0 && reap(pp, "producer");
	if (!ok && pc > 0)
		kill(pc, SIGTERM); /* it would wait WAIT_MS for nothing */
	ok &= pc > 0 && reap(pc, "consumer");
	ok &= res[1].bad == 0 && res[1].msgs == o.count && res[0].msgs == o.count;
	secs = (double)(res[1].ns > res[0].ns ? res[1].ns : res[0].ns) / 1e9;
	printf("  producer: %" PRIu64 " messages, %" PRIu64 " bytes\n", res[0].msgs, res[0].bytes);
	printf("  consumer: %" PRIu64 " messages checked, %" PRIu64 " bad\n", res[1].msgs,
	       res[1].bad);
	if (secs > 0)
		printf("  throughput: %.2f M messages/s, %.1f MB/s (%.3f s)\n",
		       (double)res[1].msgs / secs / 1e6, (double)res[1].bytes / secs / 1e6, secs);
	if (res[0].what[0])
		fprintf(stderr, "shmbus-demo: %s\n", res[0].what);
	if (res[1].what[0])
		fprintf(stderr, "shmbus-demo: %s\n", res[1].what);
	if (print_state(o.name))
		ok = false;
	munmap(res, 2 * sizeof(*res));
out:
	if (!o.keep) {
		rc = shmbus_block_unlink(o.name);
		if (rc)
			fprintf(stderr, "shmbus-demo: %s: cannot remove: %s\n", o.name,
				shmbus_strerror(rc));
	}
	printf("%s\n", ok ? "all checks passed" : "FAILED");
	return ok ? 0 : 1;
}
