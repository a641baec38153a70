/*
 * shmbus/slots.h - a slot table: a fixed-length list of typed values in a
 * named block, byte-compatible with CPython's
 * multiprocessing.shared_memory.ShareableList (3.9 - 3.13).
 *
 * A C process publishes values (counters, gauges, states, names) that other
 * processes read, including Python ones with nothing but the standard library:
 *
 *     from multiprocessing import resource_tracker
 *     from multiprocessing.shared_memory import ShareableList
 *     sl = ShareableList(name="telemetry")
 *     # Python 3.9 - 3.13 registers every block it merely *attaches* with its
 *     # resource tracker and unlinks it when this Python process exits
 *     # (CPython gh-82300; ShareableList cannot pass 3.13's track=False).
 *     # Unregister right after attaching, or the list is destroyed:
 *     resource_tracker.unregister(sl.shm._name, "shared_memory")
 *     print(sl[0], sl[-1])
 *
 * and C attaches lists that Python created the same way (shmbus_slots_attach).
 *
 * Layout (native byte order, every offset from the start of the block; this
 * is CPython's, see Lib/multiprocessing/shared_memory.py):
 *     int64 N                          item count
 *     int64 off[N + 1]                 cumulative slot offsets into the data
 *                                      area; off[0] = 0, D = off[N]
 *     data[D]                          slot i = [off[i], off[i+1]), 8-aligned
 *     char  fmt[N][8]                  struct format per item, NUL-padded:
 *                                      "q" int, "d" float, "xxxxxxx?" bool,
 *                                      "xxxxxx?x" None, "<cap>s" str/bytes
 *     int8  code[N]                    back-transform: 0 int/float/bool,
 *                                      1 str, 2 bytes, 3 None
 * Python's part is 16 + 17 N + D bytes.  A list created by shmbus adds a
 * trailer after it (8-aligned; Python never looks there): magic, version,
 * creator, and a sequence lock per slot (see "Torn values" below).
 *
 * Types and their Python equivalents: int (int64), float (double), bool,
 * str (UTF-8), bytes, None.  Semantics follow Python's ShareableList:
 *  - a slot's capacity is fixed at creation: 8 bytes for int, float, bool and
 *    None; for str and bytes 8 * (len / 8 + 1) bytes (always room for at least
 *    one trailing NUL), or more on request (shmbus_slot_value.capacity).
 *    Unlike CPython, str capacity counts UTF-8 *bytes*: CPython counts code
 *    points and silently truncates multi-byte text.  For ASCII both agree,
 *    and the bytes are identical to the ones Python writes.
 *  - any slot may change type on set (an int slot may later hold a str of at
 *    most its capacity, and back); a str or bytes longer than the slot's
 *    capacity is refused (-EMSGSIZE) and nothing changes.
 *  - str and bytes values are stored NUL-padded to the slot's capacity, and
 *    readers (Python's and ours) strip *all* trailing NUL bytes: a value that
 *    ends in "\0" reads back shorter ("ab\0" reads as "ab", b"\0" as b"").
 *    Interior NULs are kept.
 *  - indices may be negative, as in Python (-1 is the last item); an index
 *    outside [-N, N-1] is refused with -ERANGE.  (CPython's sl[-N-1] reads
 *    the format area instead; ours never does.)
 *  - count and index compare as Python's == does: int, float and bool compare
 *    by numeric value (1 == 1.0 == True), NaN equals nothing, str equals only
 *    str, bytes only bytes, None only None.
 *  - the largest capacity is 9999992 bytes: the format "<cap>s" must fit in
 *    8 characters.
 *
 * Everything read from the block is validated: at attach, the count, the
 * offsets (inside the block, 8-aligned, increasing) and every format and
 * code; on each get, the format and code of that slot again (another process
 * may have written garbage since).  A block that is not a well-formed list
 * gives -SHMBUS_ECORRUPT; a shmbus ring or other shmbus layout gives
 * -SHMBUS_EKIND.
 *
 * Torn values.  In a list that shmbus created (shmbus_slots_guarded() is
 * true), C writers take a per-slot writer claim and bump a per-slot sequence
 * word around each write (a seqlock), and C readers retry until they copied a
 * value no C writer was changing: a C reader never returns a torn value
 * written by C.  Python readers and writers know nothing of this, exactly as
 * between two Python processes: a Python reader can see a half-written value,
 * and a value Python writes can be read torn by C.  In a list that Python
 * created there is no trailer, and C reads and writes it as Python does,
 * without that guarantee.
 *
 * Synchronisation:
 *   call                          may run concurrently with          progress
 *   create, attach                anything                           blocking (syscalls);
 *                                                                    never waits on a writer
 *   close                         nothing on the same handle         wait-free
 *   len, guarded, capacity, name, anything                           wait-free
 *     set_timeout, writer
 *   get, format, format_at,       get/set/... on any handle, in      lock-free against
 *     count, index                any process                        readers; retries while a
 *                                                                    live C writer is writing,
 *                                                                    at most the timeout
 *   set                           get/set/... on any handle, in      blocking: waits while
 *                                 any process (one writer per slot   another live C writer
 *                                 at a time; others wait)            writes the same slot, at
 *                                                                    most the timeout
 * A handle stays usable in a child made by fork(3) (writers are named by
 * process; the library notices the fork through pthread_atfork).
 *
 * Bounded waits.  No call waits for ever on another process.  Every wait on
 * a slot's writer (get, count, index, format, format_at and set) gives up
 * after the handle's timeout, SHMBUS_SLOTS_TIMEOUT_MS unless changed with
 * shmbus_slots_set_timeout(), with -ETIMEDOUT: a C writer that is stopped
 * (SIGSTOP, a debugger) or a peer that marks a slot "being written" under
 * its own live identity cannot freeze the others.  shmbus_slots_writer()
 * then names the writer (pid, alive).  Attach does not wait at all: it
 * validates the slots that are stable and leaves one being written to get,
 * which checks format and code on every read.
 *
 * A C writer that dies in the middle of a write leaves its slot claimed (the
 * dead process is recognised by pid and start time).  The slot is repaired
 * by the next C set of that slot (a complete write of the new value), or by
 * any read-write attach of the list: if the writer died before it began to
 * change the slot, the claim is dropped and the value is intact; otherwise
 * the slot is reset to None, since the interrupted write can be neither
 * completed nor rolled back (the old value is partly overwritten).  Until
 * then C readers of that slot get -SHMBUS_EPEERDEAD instead of a torn value.
 */
#ifndef SHMBUS_SLOTS_H
#define SHMBUS_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "shmbus/block.h"
#include "shmbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The default bound of every wait on a slot's writer, in milliseconds
 * (see "Bounded waits" above and shmbus_slots_set_timeout()). */
#define SHMBUS_SLOTS_TIMEOUT_MS 1000

/* Largest slot capacity: "9999992s" is the longest format that fits 8 chars. */
#define SHMBUS_SLOTS_CAPACITY_MAX 9999992u
/* Longest per-item format ("xxxxxxx?"), without the NUL. */
#define SHMBUS_SLOT_FORMAT_MAX 8

struct shmbus_slots;

/* The type of a value; names as Python's (shmbus_slot_type_name()). */
enum shmbus_slot_type {
	SHMBUS_SLOT_NONE = 0,
	SHMBUS_SLOT_INT,   /* int64, format "q" */
	SHMBUS_SLOT_FLOAT, /* double, format "d" */
	SHMBUS_SLOT_BOOL,  /* format "xxxxxxx?" */
	SHMBUS_SLOT_STR,   /* UTF-8 text, format "<cap>s", code 1 */
	SHMBUS_SLOT_BYTES, /* bytes, format "<cap>s", code 2 */
};

/*
 * A value.  For str and bytes, u.s points at the bytes (not NUL-terminated
 * unless said so) and u.s.len counts them.
 * @capacity: on create, the least capacity to reserve for this slot (so that
 * a name can later grow, or an int slot can later hold a str); 0 means
 * Python's rule.  Rounded up to a multiple of 8.  On get, the slot's
 * capacity.  Ignored by set, count and index.
 */
struct shmbus_slot_value {
	enum shmbus_slot_type type;
	union {
		int64_t i;
		double f;
		bool b;
		struct {
			const void *data;
			size_t len;
		} s;
	} u;
	size_t capacity;
};

/* Constructors for the common cases (the str one takes a NUL-terminated
 * string; build the struct yourself for text with NULs). */
static inline struct shmbus_slot_value shmbus_slot_none(void)
{
	struct shmbus_slot_value v;

	memset(&v, 0, sizeof(v));
	v.type = SHMBUS_SLOT_NONE;
	return v;
}

static inline struct shmbus_slot_value shmbus_slot_int(int64_t i)
{
	struct shmbus_slot_value v = shmbus_slot_none();

	v.type = SHMBUS_SLOT_INT;
	v.u.i = i;
	return v;
}

static inline struct shmbus_slot_value shmbus_slot_float(double f)
{
	struct shmbus_slot_value v = shmbus_slot_none();

	v.type = SHMBUS_SLOT_FLOAT;
	v.u.f = f;
	return v;
}

static inline struct shmbus_slot_value shmbus_slot_bool(bool b)
{
	struct shmbus_slot_value v = shmbus_slot_none();

	v.type = SHMBUS_SLOT_BOOL;
	v.u.b = b;
	return v;
}

static inline struct shmbus_slot_value shmbus_slot_str(const char *s)
{
	struct shmbus_slot_value v = shmbus_slot_none();

	v.type = SHMBUS_SLOT_STR;
	v.u.s.data = s;
	v.u.s.len = strlen(s);
	return v;
}

static inline struct shmbus_slot_value shmbus_slot_bytes(const void *p, size_t len)
{
	struct shmbus_slot_value v = shmbus_slot_none();

	v.type = SHMBUS_SLOT_BYTES;
	v.u.s.data = p;
	v.u.s.len = len;
	return v;
}

/* "int", "float", "bool", "str", "bytes", "None"; "?" for anything else. */
SHMBUS_API const char *shmbus_slot_type_name(enum shmbus_slot_type type);

/*
 * shmbus_slot_value_json - @value as JSON text, in the one form snapshots
 * (shmbus_snapshot_json(), the "value" of each item) and `shmbus get` show
 * values, so that a program can print a value exactly as they do:
 *     int      42                      str    "text" (NULs as \u0000)
 *     float    1.5, 2.0 (always with   bytes  {"bytes_hex": "00ff"}
 *              '.' or an exponent)     None   null
 *     nan/inf  {"float": "nan"}, {"float": "inf"}, {"float": "-inf"}
 *     bool     true, false
 * JSON has no bytes and no non-finite numbers, hence the two tagged objects.
 * The text is compact (no spaces), on one line, without a trailing newline.
 * @value->capacity is ignored.
 * Returns 0 and a malloc'd string in *@out (free(3) it), -EINVAL (NULL
 * argument, unknown type, NULL data with a length), -EILSEQ (a str that is
 * not valid UTF-8; shmbus_slots_get() never returns one), or -ENOMEM.
 * Thread-safe; wait-free apart from malloc(3).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slot_value_json(const struct shmbus_slot_value *value,
							 char **out);

/*
 * shmbus_slots_create - create block @name holding the list @values[0..@n).
 * @name:  as shmbus_block_create() (NULL: a generated name).
 * @mode:  permission bits, 0 for 0600.
 * Python's part of the block is exactly what ShareableList(@values) makes
 * (for ASCII text, byte for byte), followed by shmbus's trailer.  Other
 * processes that attach before this returns see either no list yet
 * (shmbus_slots_attach() waits briefly) or the complete list.
 * Returns 0 and fills @out, or -EINVAL (bad name, NULL @values with @n > 0,
 * unknown type), -EILSEQ (a str that is not valid UTF-8), -EMSGSIZE (a slot
 * larger than SHMBUS_SLOTS_CAPACITY_MAX), -EOVERFLOW (the list would not fit
 * in memory), or an error of shmbus_block_create() (-EEXIST, -ENOSPC, ...).
 * On failure nothing is left behind.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_create(struct shmbus_slots **out,
						      const char *name,
						      const struct shmbus_slot_value *values,
						      size_t n, mode_t mode);

/*
 * shmbus_slots_attach - attach the list in block @name, created by shmbus or
 * by Python.  @flags: 0 or SHMBUS_ATTACH_RDONLY (then set fails with -EROFS).
 * Validates the whole structure (see above).  Waits up to about 250 ms for a
 * list that shmbus is still creating, and never for a slot's writer (see
 * "Bounded waits"); a read-write attach repairs the slots of dead writers.
 * Returns 0 and fills @out, or an error of shmbus_block_attach() (-ENOENT,
 * -EACCES, -SHMBUS_ENOTREG, ...), -SHMBUS_EKIND (another shmbus layout, or
 * no list at all: a count of 0 in a block that is not an empty list, e.g.
 * zero-filled raw bytes), -SHMBUS_ECORRUPT (not a well-formed list),
 * -SHMBUS_ETRUNCATED, -ENOMEM.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_attach(struct shmbus_slots **out,
						      const char *name, unsigned flags);

/* Detach (the list stays; see shmbus_block_unlink()).  NULL is fine.
 * Cannot fail. */
SHMBUS_API void shmbus_slots_close(struct shmbus_slots *sl);

/* Number of items N, as read and validated at attach (it never changes). */
SHMBUS_API size_t shmbus_slots_len(const struct shmbus_slots *sl);

/* True for a list that shmbus created (C readers never see values torn by C
 * writers); false for one Python created. */
SHMBUS_API bool shmbus_slots_guarded(const struct shmbus_slots *sl);

/* The block's name, without the leading '/'. */
SHMBUS_API const char *shmbus_slots_name(const struct shmbus_slots *sl);

/*
 * shmbus_slots_capacity - bytes slot @index can hold (its str/bytes limit).
 * Returns the capacity (>= 8), or -ERANGE.
 */
SHMBUS_API SHMBUS_MUST_CHECK int64_t shmbus_slots_capacity(const struct shmbus_slots *sl,
							    int64_t index);

/*
 * shmbus_slots_get - read item @index (negative counts from the end).
 * @out:  receives the type and value, and the slot's capacity.
 * @buf, @bufsize: where str and bytes values are copied (may be NULL/0 when
 *        only numbers are expected); out->u.s.data then points into @buf and
 *        out->u.s.len gives the length with trailing NULs stripped, as Python
 *        reads it.  A str gets a terminating NUL if @bufsize > its length.
 *        @bufsize >= shmbus_slots_capacity() always suffices.
 * Returns 0; -ERANGE (bad index); -ENOBUFS (a str/bytes longer than
 * @bufsize: out->type and out->u.s.len tell the length needed, nothing else
 * is filled); -EILSEQ (a str slot whose bytes are not valid UTF-8, which
 * Python cannot decode either: e.g. text CPython truncated); -SHMBUS_ECORRUPT
 * (a format or code that is not valid for this slot);
 * -SHMBUS_EPEERDEAD (guarded list: a C writer died while writing this slot);
 * -ETIMEDOUT (guarded list: a live C writer kept writing this slot for
 * longer than the handle's timeout; shmbus_slots_writer() names it).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_get(const struct shmbus_slots *sl,
						   int64_t index, struct shmbus_slot_value *out,
						   void *buf, size_t bufsize);

/*
 * shmbus_slots_set - store @value in item @index (negative counts from the
 * end).  The type may change, as in Python; a str or bytes longer than the
 * slot's capacity fails and changes nothing.  @value->capacity is ignored.
 * The slot's current contents are never read: set writes a complete, valid
 * format, code and value (so it also repairs a slot that held garbage).
 * Returns 0, -ERANGE (bad index), -EMSGSIZE (too long for the slot), -EILSEQ
 * (str not valid UTF-8), -EINVAL (unknown type), -EROFS (read-only handle),
 * -ENOSYS (a list shmbus made, and no /proc to name this process as writer),
 * -ETIMEDOUT (another live C writer held this slot for longer than the
 * handle's timeout: nothing was written; shmbus_slots_writer() names it).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_set(struct shmbus_slots *sl, int64_t index,
						   const struct shmbus_slot_value *value);

/*
 * shmbus_slots_set_timeout - bound every later wait of this handle on a
 * slot's writer to @timeout_ms milliseconds (0: never wait: a slot being
 * written gives -ETIMEDOUT at once).  The default is SHMBUS_SLOTS_TIMEOUT_MS.
 * Not to be called while another thread uses the handle.
 * Returns 0, or -EINVAL (NULL, negative).
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_set_timeout(struct shmbus_slots *sl,
							   int timeout_ms);

/* Who holds a slot, as shmbus_slots_writer() found it. */
struct shmbus_slot_writer {
	pid_t pid;    /* the C writer holding the slot, or 0 if none */
	bool alive;   /* that process still runs (false if pid is 0) */
	bool writing; /* the slot's sequence says a write is in progress */
};

/*
 * shmbus_slots_writer - the C writer of slot @index at this moment, to
 * explain a -ETIMEDOUT or -SHMBUS_EPEERDEAD.  In a list Python made (no
 * guards) everything is 0.  Returns 0, -EINVAL, or -ERANGE.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_writer(const struct shmbus_slots *sl,
						      int64_t index,
						      struct shmbus_slot_writer *out);

/*
 * shmbus_slots_count - how many items equal @value (Python's ==, see above).
 * Returns the count, or a negative code from shmbus_slots_get() (an item
 * that cannot be read stops the count), or -ENOMEM.
 */
SHMBUS_API SHMBUS_MUST_CHECK int64_t shmbus_slots_count(const struct shmbus_slots *sl,
							 const struct shmbus_slot_value *value);

/*
 * shmbus_slots_index - the first index whose item equals @value.
 * Returns it, -ENOENT if none does (Python's ValueError), or a negative code
 * as shmbus_slots_count().
 */
SHMBUS_API SHMBUS_MUST_CHECK int64_t shmbus_slots_index(const struct shmbus_slots *sl,
							 const struct shmbus_slot_value *value);

/*
 * shmbus_slots_format_at - the struct format of item @index ("q", "d",
 * "xxxxxxx?", "xxxxxx?x", "<cap>s"), NUL-terminated in @fmt.
 * Returns 0, -ERANGE, -SHMBUS_ECORRUPT, -SHMBUS_EPEERDEAD.
 */
SHMBUS_API SHMBUS_MUST_CHECK int shmbus_slots_format_at(const struct shmbus_slots *sl,
							 int64_t index,
							 char fmt[SHMBUS_SLOT_FORMAT_MAX + 1]);

/*
 * shmbus_slots_format - Python's ShareableList.format: every item's format,
 * concatenated ("q8sd...").  Writes at most @size bytes including a NUL (like
 * snprintf; @buf may be NULL when @size is 0).
 * Returns the full length (excluding the NUL), or a negative code as
 * shmbus_slots_format_at().
 */
SHMBUS_API SHMBUS_MUST_CHECK int64_t shmbus_slots_format(const struct shmbus_slots *sl,
							  char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_SLOTS_H */
