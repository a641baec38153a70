/*
 * snap_util.c - what every kind's snapshot hooks build on: reading a range of
 * the object into a private copy, and the JSON values of the documents
 * (text from arbitrary bytes, unsigned counters, times, process identities).
 *
 * The bottom of the inspect component: it calls nothing above it, so the
 * kinds' hooks (spsc_inspect.c, mpmc_inspect.c, slots_snap.c,
 * manager_inspect.c) and the dispatch that calls them (inspect.c,
 * inspect_json.c) form no loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inspect_internal.h"

int snap_read(const struct snap_src *src, uint64_t off, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(src->fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -SHMBUS_ETRUNCATED;
		got += (size_t)n;
	}
	return 0;
}

int ijson_set(json_t *obj, const char *key, json_t *value)
{
	/* json_object_set_new() steals @value even when it fails. */
	if (!value)
		return -ENOMEM;
	return json_object_set_new(obj, key, value) ? -ENOMEM : 0;
}

/* Length of the valid UTF-8 sequence at @s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int shmbus_name_utf8(const char *name, char **out)
{
	const unsigned char *p = (const unsigned char *)name;
	char *buf, *o;

	if (!name || !out)
		return -EINVAL;
	/* Each byte becomes at most the 3 bytes of U+FFFD. */
	buf = malloc(strlen(name) * 3 + 1);
	if (!buf)
		return -ENOMEM;
	for (o = buf; *p;) {
		size_t n = utf8_len(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	*out = buf;
	return 0;
}

json_t *ijson_text(const char *s)
{
	json_t *j;
	char *fixed;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/* Names come from file names and blocks: any bytes (or out of memory,
	 * which the repaired copy meets again). */
	if (shmbus_name_utf8(s, &fixed))
		return NULL;
	j = json_string(fixed);
	free(fixed);
	return j;
}

json_t *ijson_u64(uint64_t v)
{
	/* jansson integers are signed 64-bit: larger values (garbage, or a
	 * position after 2^63 bytes) are given as a (rounded) real. */
	return v <= INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *ijson_time(uint64_t ns)
{
	char buf[64];
	struct tm tm;
	time_t secs = (time_t)(ns / 1000000000u);

	if (!gmtime_r(&secs, &tm))
		return json_null();
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ns % 1000000000u / 1000000u));
	return json_string(buf);
}

json_t *ijson_process(shmbus_ident_t id, bool alive)
{
	if (id == SHMBUS_IDENT_NONE)
		return json_null();
	return json_pack("{s:I, s:I, s:b}", "pid", (json_int_t)shmbus_ident_pid(id),
			 "start_ticks", (json_int_t)shmbus_ident_start(id), "alive", alive);
}
