/*
 * framing.h - how `shmbus pub` reads messages from a byte stream and `shmbus
 * sub` writes them (--framing):
 *   lines  each message is a line, without its newline (text only: a
 *          message cannot hold a newline);
 *   len32  each message is a 4-byte little-endian length, then that many
 *          bytes: binary-safe (NUL bytes, newlines, empty messages).
 * A len32 stream ends cleanly only between messages: a stream that ends in
 * a length or in a payload, or a length above FRAME_LEN32_MAX, is an error.
 */
#ifndef SHMBUS_TOOL_FRAMING_H
#define SHMBUS_TOOL_FRAMING_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum framing { FRAMING_LINES = 0, FRAMING_LEN32 = 1 };

/* Longest len32 message accepted: the largest ring (1 GiB). */
#define FRAME_LEN32_MAX (UINT32_C(1) << 30)

/* "lines" or "len32" as an enum framing; -1 if it is neither. */
int framing_parse(const char *s);

/*
 * frame_read - the next message of @in: 1 and *@data, *@len (valid until the
 * next call; *@buf / *@size: a malloc'd buffer the caller frees), 0 at a
 * clean end of input, or -EIO (read error), -ENOMEM, -EPROTO (malformed
 * len32 stream) with a static explanation in *@why.
 */
int frame_read(FILE *in, enum framing framing, char **buf, size_t *size, const void **data,
	       size_t *len, const char **why);

/* frame_write - @data, @len to @out as @framing says: 0 or -EIO. */
int frame_write(FILE *out, enum framing framing, const void *data, size_t len);

#endif
