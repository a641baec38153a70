/*
 * recfile.h - the file `shmbus record` writes and `shmbus replay` reads.
 *
 * Format, version 1, every integer little-endian:
 *   header (32 bytes): magic "SHMBREC\0" (8 bytes), u32 version (1),
 *                      u32 header size (32), u64 start time (CLOCK_REALTIME,
 *                      ns since the epoch, when recording began), u32 flags
 *                      (0), u32 CRC-32 (IEEE) of the 28 bytes before it
 *   each message:      u64 t (ns since the start, CLOCK_MONOTONIC),
 *                      u32 length (at most 1 GiB), u32 CRC-32 (IEEE) of the
 *                      t and length fields and the payload, then the payload
 *   end (24 bytes):    u64 t, u32 0xFFFFFFFF, u32 CRC-32 of the t, marker,
 *                      count and flags fields, u64 count of messages,
 *                      u64 flags (bit 0: the stream ended; else recording
 *                      was interrupted by SIGINT/SIGTERM)
 * A file ends right after its end record: a file without one (cut short),
 * with trailing bytes, a bad magic, version, length or CRC, or times that go
 * backwards, is rejected with the offset and what is wrong.
 *
 * The reader and writer keep their state in the structs below; one process
 * records or replays one file.
 */
#ifndef SHMBUS_TOOL_RECFILE_H
#define SHMBUS_TOOL_RECFILE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define REC_HEADER_SIZE 32
#define REC_MAX_LEN (UINT32_C(1) << 30)

struct rec_writer {
	FILE *f;
	struct timespec t0; /* CLOCK_MONOTONIC at the start */
	uint64_t count;
};

struct rec_reader {
	FILE *f;
	uint64_t offset;    /* bytes read so far */
	uint64_t count;     /* messages read so far */
	uint64_t last_t;
	uint64_t first_t;   /* t of the first message */
	uint64_t total;     /* messages, from the end record (after validation) */
	uint64_t flags;     /* flags of the end record */
	double speed;       /* replay pace: 0 as fast as possible */
	struct timespec t0; /* CLOCK_MONOTONIC at the first message replayed */
	char why[160];      /* what is wrong, after an error */
};

/* Write the header: 0 or -EIO. */
int rec_write_header(struct rec_writer *w, FILE *f);
/* Write one message stamped now: 0 or -EIO. */
int rec_write_msg(struct rec_writer *w, const void *data, size_t len);
/* Write the end record (@ended: the stream ended) and flush: 0 or -EIO. */
int rec_write_end(struct rec_writer *w, bool ended);

/* Read and check the header: 0, or -EPROTO / -EIO with r->why set. */
int rec_read_header(struct rec_reader *r, FILE *f);
/*
 * rec_read_msg - the next message: 1 with *@data, *@len (in *@buf, of
 * *@size bytes, malloc'd, the caller frees), 0 after the end record, or
 * -EPROTO / -EIO / -ENOMEM with r->why set.  With r->speed > 0, first
 * sleeps until the message's time (scaled) since the first one.
 */
int rec_read_msg(struct rec_reader *r, char **buf, size_t *size, const void **data,
		 size_t *len);

#endif
