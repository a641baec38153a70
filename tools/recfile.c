/*
 * recfile.c - the record file format (recfile.h): written as messages come,
 * read back with every field checked before it sizes anything.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recfile.h"

static const char rec_magic[8] = { 'S', 'H', 'M', 'B', 'R', 'E', 'C', '\0' };
#define REC_VERSION 1
#define REC_END_MARK UINT32_C(0xFFFFFFFF)

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit: the
 * files are written at message rate, not bulk, so a table buys little. */
static uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (UINT32_C(0xEDB88320) & (0u - (crc & 1)));
	}
	return ~crc;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t ns_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)((int64_t)(now.tv_sec - t0->tv_sec) * 1000000000 +
			  (now.tv_nsec - t0->tv_nsec));
}

int rec_write_header(struct rec_writer *w, FILE *f)
{
	unsigned char h[REC_HEADER_SIZE];
	struct timespec real;

	w->f = f;
	w->count = 0;
	clock_gettime(CLOCK_MONOTONIC, &w->t0);
	clock_gettime(CLOCK_REALTIME, &real);
	memcpy(h, rec_magic, 8);
	put_le(h + 8, REC_VERSION, 4);
	put_le(h + 12, REC_HEADER_SIZE, 4);
	put_le(h + 16, (uint64_t)real.tv_sec * 1000000000 + (uint64_t)real.tv_nsec, 8);
	put_le(h + 24, 0, 4);
	put_le(h + 28, crc32_update(0, h, 28), 4);
	return fwrite(h, 1, sizeof(h), f) == sizeof(h) ? 0 : -EIO;
}

int rec_write_msg(struct rec_writer *w, const void *data, size_t len)
{
	unsigned char h[16];

	if (len > REC_MAX_LEN)
		return -EMSGSIZE;
	put_le(h, ns_since(&w->t0), 8);
	put_le(h + 8, len, 4);
	put_le(h + 12, crc32_update(crc32_update(0, h, 12), data, len), 4);
	if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h) ||
	    (len && fwrite(data, 1, len, w->f) != len))
		return -EIO;
	w->count++;
	return 0;
}

int rec_write_end(struct rec_writer *w, bool ended)
{
	unsigned char e[32];

	put_le(e, ns_since(&w->t0), 8);
	put_le(e + 8, REC_END_MARK, 4);
	put_le(e + 16, w->count, 8);
	put_le(e + 24, ended ? 1 : 0, 8);
	/* the CRC covers t, the mark, count and flags */
	put_le(e + 12, crc32_update(crc32_update(0, e, 12), e + 16, 16), 4);
	if (fwrite(e, 1, sizeof(e), w->f) != sizeof(e) || fflush(w->f) != 0)
		return -EIO;
	return 0;
}

/* Read exactly @n bytes or say what is missing. */
static int read_exact(struct rec_reader *r, void *p, size_t n, const char *what)
{
	size_t got = fread(p, 1, n, r->f);

	if (got != n) {
		snprintf(r->why, sizeof(r->why), "%s at offset %llu: %s", ferror(r->f) ?
			 "read error" : "file cut short", (unsigned long long)(r->offset + got),
			 what);
		return ferror(r->f) ? -EIO : -EPROTO;
	}
	r->offset += n;
	return 0;
}

static int bad(struct rec_reader *r, uint64_t at, const char *what)
{
	snprintf(r->why, sizeof(r->why), "corrupt at offset %llu: %s", (unsigned long long)at,
		 what);
	return -EPROTO;
}

int rec_read_header(struct rec_reader *r, FILE *f)
{
	unsigned char h[REC_HEADER_SIZE];
	int rc;

	r->f = f;
	r->offset = r->count = r->last_t = 0;
	rc = read_exact(r, h, sizeof(h), "in the header");
	if (rc)
		return rc;
	if (memcmp(h, rec_magic, 8) != 0)
		return bad(r, 0, "not a shmbus record file (bad magic)");
	if (get_le(h + 8, 4) != REC_VERSION)
		return bad(r, 8, "unsupported version");
	if (get_le(h + 12, 4) != REC_HEADER_SIZE)
		return bad(r, 12, "bad header size");
	if (get_le(h + 28, 4) != crc32_update(0, h, 28))
		return bad(r, 28, "header checksum mismatch");
	if (get_le(h + 24, 4) != 0)
		return bad(r, 24, "unknown header flags");
	return 0;
}

/* Sleep until message time @t, scaled by r->speed, after the first one. */
static void pace(struct rec_reader *r, uint64_t t)
{
	double due_ns;
	struct timespec due;

	if (r->speed <= 0)
		return;
	if (r->count == 0) {
		clock_gettime(CLOCK_MONOTONIC, &r->t0);
		r->first_t = t;
	}
	due_ns = (double)(t - r->first_t) / r->speed;
	due.tv_sec = r->t0.tv_sec + (time_t)(due_ns / 1e9);
	due.tv_nsec = r->t0.tv_nsec + (long)(due_ns - (double)(due.tv_sec - r->t0.tv_sec) * 1e9);
	while (due.tv_nsec >= 1000000000) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
		;
}

static int read_end(struct rec_reader *r, const unsigned char *h, uint64_t at)
{
	unsigned char e[16], extra;
	int rc = read_exact(r, e, sizeof(e), "in the end record");

	if (rc)
		return rc;
	if (get_le(h + 12, 4) != crc32_update(crc32_update(0, h, 12), e, 16))
		return bad(r, at, "end record checksum mismatch");
	if (get_le(e, 8) != r->count)
		return bad(r, at, "end record's count differs from the messages read");
	if (fread(&extra, 1, 1, r->f) != 0)
		return bad(r, r->offset, "bytes after the end record");
	r->total = r->count;
	r->flags = get_le(e + 8, 8);
	return 0;
}

int rec_read_msg(struct rec_reader *r, char **buf, size_t *size, const void **data,
		 size_t *len)
{
	unsigned char h[16];
	uint64_t at = r->offset, t;
	uint32_t n;
	int rc = read_exact(r, h, sizeof(h), "no end record (recording cut short?)");

	if (rc)
		return rc;
	t = get_le(h, 8);
	n = (uint32_t)get_le(h + 8, 4);
	if (t < r->last_t)
		return bad(r, at, "time goes backwards");
	if (n == REC_END_MARK)
		return read_end(r, h, at) ? -EPROTO : 0;
	if (n > REC_MAX_LEN)
		return bad(r, at + 8, "message length above 1 GiB");
	if (n > *size) {
		char *p = realloc(*buf, n);

		if (!p) {
			snprintf(r->why, sizeof(r->why), "no memory for a %u-byte message", n);
			return -ENOMEM;
		}
		*buf = p;
		*size = n;
	}
	rc = read_exact(r, *buf, n, "inside a message");
	if (rc)
		return rc;
	if (get_le(h + 12, 4) != crc32_update(crc32_update(0, h, 12), *buf, n))
		return bad(r, at, "message checksum mismatch");
	pace(r, t);
	r->last_t = t;
	r->count++;
	*data = *buf;
	*len = n;
	return 1;
}
