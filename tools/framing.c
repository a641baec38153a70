/*
 * framing.c - message framing of byte streams for pub and sub (framing.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "framing.h"

int framing_parse(const char *s)
{
	if (strcmp(s, "lines") == 0)
		return FRAMING_LINES;
	if (strcmp(s, "len32") == 0)
		return FRAMING_LEN32;
	return -1;
}

static int read_len32(FILE *in, char **buf, size_t *size, const void **data, size_t *len,
		      const char **why)
{
	unsigned char h[4];
	size_t got = fread(h, 1, sizeof(h), in);
	uint32_t n;

	if (got == 0 && !ferror(in))
		return 0;
	if (got < sizeof(h)) {
		*why = ferror(in) ? "cannot read" : "input ends inside a length prefix";
		return ferror(in) ? -EIO : -EPROTO;
	}
	n = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
	if (n > FRAME_LEN32_MAX) {
		*why = "length prefix above 1 GiB (not a len32 stream?)";
		return -EPROTO;
	}
	if (n > *size) {
		char *p = realloc(*buf, n);

		if (!p) {
			*why = "no memory for the message";
			return -ENOMEM;
		}
		*buf = p;
		*size = n;
	}
	if (n && fread(*buf, 1, n, in) != n) {
		*why = ferror(in) ? "cannot read" : "input ends inside a message";
		return ferror(in) ? -EIO : -EPROTO;
	}
	*data = *buf;
	*len = n;
	return 1;
}

int frame_read(FILE *in, enum framing framing, char **buf, size_t *size, const void **data,
	       size_t *len, const char **why)
{
	ssize_t n;

	if (framing == FRAMING_LEN32)
		return read_len32(in, buf, size, data, len, why);
	n = getline(buf, size, in);
	if (n < 0) {
		*why = "cannot read";
		return ferror(in) ? -EIO : 0;
	}
	if (n > 0 && (*buf)[n - 1] == '\n')
		n--;
	*data = *buf;
	*len = (size_t)n;
	return 1;
}

int frame_write(FILE *out, enum framing framing, const void *data, size_t len)
{
	if (framing == FRAMING_LEN32) {
		unsigned char h[4] = { (unsigned char)len, (unsigned char)(len >> 8),
				       (unsigned char)(len >> 16), (unsigned char)(len >> 24) };

		if (fwrite(h, 1, 4, out) != 4)
			return -EIO;
		return len && fwrite(data, 1, len, out) != len ? -EIO : 0;
	}
	if (len && fwrite(data, 1, len, out) != len)
		return -EIO;
	return putc('\n', out) == EOF ? -EIO : 0;
}
