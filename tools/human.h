/*
 * human.h - what the tool shows people: sizes and ages in human units, names
 * with their control characters escaped, durations parsed from the command
 * line, and the one message for "NAME is a KIND, not a ...".
 */
#ifndef SHMBUS_TOOL_HUMAN_H
#define SHMBUS_TOOL_HUMAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "shmbus/shmbus.h"

/* "512B", "64.0K", "1.5M", ... (powers of 1024) into @buf. */
const char *human_size(uint64_t bytes, char *buf, size_t len);

/* "42s", "5m03s", "3h12m", "4d07h" into @buf; "-" for a negative age. */
const char *human_age(int64_t ns, char *buf, size_t len);

/*
 * Parse a duration: a whole number with a unit, ms, s, m, h or d ("90s",
 * "15m", "2h"; a bare number is seconds), into nanoseconds.  False if it is
 * not one, or too long to hold.
 */
bool human_parse_duration(const char *s, int64_t *ns);

/*
 * Print @name to @to with every byte that is not printable ASCII (control
 * characters, DEL, newlines, escape sequences, non-ASCII bytes) as \xHH and
 * a backslash as "\\", so a name can neither fake table rows nor drive the
 * terminal.  Returns the number of columns printed.
 */
int human_print_name(FILE *to, const char *name);

/*
 * "shmbus: NAME is an mpmc ring, not a slot table" on stderr (the name
 * escaped), for a command that found the block @name of another kind than
 * it works on; @want says what it works on ("a slot table", "an spsc or
 * mpmc ring").  Looks at the block to name what it is.  Returns TOOL_ERR.
 */
int human_wrong_kind(const char *name, const char *want);

/*
 * For a command that could not open @name as one of the kinds in @ok_kinds
 * (a mask of 1u << enum shmbus_kind): if the block turns out to be of
 * another kind (or raw), say so with human_wrong_kind(); otherwise print
 * the error as tool_fail(@name, @what, @code).  Returns TOOL_ERR.
 */
int human_fail_kind(const char *name, const char *what, int code, unsigned ok_kinds,
		    const char *want);

/* Mask bits for human_fail_kind(). */
#define HUMAN_KIND(k) (1u << (k))
#define HUMAN_RINGS (HUMAN_KIND(SHMBUS_KIND_SPSC) | HUMAN_KIND(SHMBUS_KIND_MPMC) | \
		     HUMAN_KIND(SHMBUS_KIND_BROADCAST))
#define HUMAN_LISTS (HUMAN_KIND(SHMBUS_KIND_SLOTS) | HUMAN_KIND(SHMBUS_KIND_PYLIST))

/* "an spsc ring", "a slot table", "a raw block (not shmbus's)", ... for @snap. */
const char *human_kind_phrase(const struct shmbus_snapshot *snap);

#endif
