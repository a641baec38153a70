/*
 * human.c - sizes, ages, durations and names for people, and the message a
 * command gives when a block is of another kind than it works on.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "human.h"
#include "tool.h"

const char *human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 "B", bytes);
		return buf;
	}
	while (v >= 1024 && u < (int)sizeof(units) - 2) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
	return buf;
}

const char *human_age(int64_t ns, char *buf, size_t len)
{
	int64_t s = ns / 1000000000;

	if (ns < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
	return buf;
}

bool human_parse_duration(const char *s, int64_t *ns)
{
	static const struct { const char *unit; int64_t ns; } units[] = {
		{ "", 1000000000 }, { "ms", 1000000 }, { "s", 1000000000 },
		{ "m", INT64_C(60000000000) }, { "h", INT64_C(3600000000000) },
		{ "d", INT64_C(86400000000000) },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (v > (unsigned long long)(INT64_MAX / units[i].ns))
				return false;
			*ns = (int64_t)v * units[i].ns;
			return true;
		}
	}
	return false;
}

int human_print_name(FILE *to, const char *name)
{
	const unsigned char *p;
	int cols = 0;

	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '\\')
			cols += fprintf(to, "\\\\");
		else if (*p < 0x20 || *p >= 0x7f)
			cols += fprintf(to, "\\x%02x", *p);
		else
			cols += fputc(*p, to) == EOF ? 0 : 1;
	}
	return cols;
}

const char *human_kind_phrase(const struct shmbus_snapshot *snap)
{
	switch (snap->kind) {
	case SHMBUS_KIND_SPSC: return "an spsc ring";
	case SHMBUS_KIND_MPMC: return "an mpmc ring";
	case SHMBUS_KIND_BROADCAST: return "a broadcast ring";
	case SHMBUS_KIND_SLOTS: return "a slot table";
	case SHMBUS_KIND_PYLIST: return "a Python ShareableList";
	case SHMBUS_KIND_MANAGER: return "a manager's list";
	default: break;
	}
	if (snap->header_error == -SHMBUS_ENOTREADY)
		return "a shmbus block still being built";
	if (snap->header_error && snap->header_error != -SHMBUS_EMAGIC)
		return "a shmbus block with a damaged header";
	return "a raw block (not one shmbus laid out)";
}

static int wrong_kind(const char *name, const char *what, const char *want)
{
	fputs("shmbus: ", stderr);
	human_print_name(stderr, name);
	fprintf(stderr, " is %s, not %s\n", what, want);
	return TOOL_ERR;
}

int human_wrong_kind(const char *name, const char *want)
{
	return human_fail_kind(name, NULL, -SHMBUS_EKIND, 0, want);
}

int human_fail_kind(const char *name, const char *what, int code, unsigned ok_kinds,
		    const char *want)
{
	struct shmbus_snapshot *snap = NULL;
	int rc;

	/* Only errors that can mean "another kind"; the rest are what they say. */
	if (code != -SHMBUS_EKIND && code != -SHMBUS_EMAGIC && code != -SHMBUS_ECORRUPT &&
	    code != -SHMBUS_EVERSION)
		return tool_fail(name, what, code);
	rc = shmbus_snapshot_take(name, &snap);
	if (rc == -SHMBUS_EEMPTY)
		return wrong_kind(name, "an empty block (0 bytes)", want);
	if (rc)
		return code == -SHMBUS_EKIND ? wrong_kind(name, "another kind of block", want)
					     : tool_fail(name, what, code);
	if ((unsigned)snap->kind < 32 && (ok_kinds & HUMAN_KIND(snap->kind)) &&
	    code != -SHMBUS_EKIND) {
		/* It is of a kind we take: the error is about its state. */
		shmbus_snapshot_free(snap);
		return tool_fail(name, what, code);
	}
	rc = wrong_kind(name, human_kind_phrase(snap), want);
	shmbus_snapshot_free(snap);
	return rc;
}
