/*
 * slots_internal.h - the slot table's shared layout, the checks every byte
 * read from it goes through, and the helpers the library and its snapshot
 * hooks share.
 *
 * Python's part (offset 0, exactly CPython's ShareableList, native order):
 *     0                      int64 N
 *     8                      int64 off[N + 1]          off[0] = 0, D = off[N]
 *     data_off = 8 (N + 2)   data[D]                   slot i: [off[i], off[i+1])
 *     fmt_off = data_off + D char fmt[N][8]            NUL-padded struct formats
 *     code_off = fmt_off+8N  int8 code[N]              back-transform codes
 *     python_size = code_off + N = 16 + 17 N + D
 * Every slot is 8-aligned and a multiple of 8 long (Python rounds every
 * size to its _alignment of 8), so data, formats and the trailer can be
 * accessed as aligned 64-bit words.
 *
 * shmbus's trailer (lists created by shmbus only), at align8(python_size):
 *     struct slots_trailer, then struct slot_guard guard[N].
 *
 * Publication: the creator writes everything, stores trailer.ready (R0a,
 * release), and stores N at offset 0 last (R0b, release).  An attacher loads
 * N with acquire (A0b): N > 0 means the whole list, trailer included, is
 * visible.  N == 0 is either an empty list (Python's is exactly 16 bytes; ours
 * has its trailer at offset 16, found by its ready word, A0a) or a list still
 * being built: the attacher waits briefly for it.
 *
 * Seqlock per slot (Boehm, "Can Seqlocks Get Along with Programming Language
 * Memory Models?", MSPC 2012, the fence-based variant), with a writer claim
 * so that several C writers of one slot take turns and a dead one can be
 * replaced (see slots_access.c for the protocol and its pairings).
 */
#ifndef SHMBUS_SLOTS_INTERNAL_H
#define SHMBUS_SLOTS_INTERNAL_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "header_internal.h"
#include "shmbus/slots.h"

#define SHMBUS_SLOTS_MAGIC "SHMBSLOT" /* 8 bytes, no NUL */
#define SHMBUS_SLOTS_VERSION 1u
#define SHMBUS_SLOTS_ALIGN 8u

/* Back-transform codes, Python's _back_transforms_mapping. */
enum {
	SHMBUS_SLOT_CODE_PLAIN = 0, /* int, float, bool: the value as unpacked */
	SHMBUS_SLOT_CODE_STR = 1,   /* rstrip(b"\0").decode("utf8") */
	SHMBUS_SLOT_CODE_BYTES = 2, /* rstrip(b"\0") */
	SHMBUS_SLOT_CODE_NONE = 3,  /* None */
};

struct slots_trailer {
	char magic[8];           /* SHMBUS_SLOTS_MAGIC */
	uint32_t version;        /* SHMBUS_SLOTS_VERSION */
	uint32_t byte_order;     /* SHMBUS_BYTE_ORDER, native */
	uint64_t count;          /* N again: must equal offset 0 */
	uint64_t python_size;    /* 16 + 17 N + D: Python's part */
	uint64_t creator;        /* shmbus_ident_t of the creating process */
	uint64_t created_ns;     /* CLOCK_REALTIME at creation */
	uint32_t guard_size;     /* sizeof(struct slot_guard) */
	_Atomic uint32_t ready;  /* SHMBUS_READY, stored by the creator (R0a) */
	uint64_t reserved;
};

struct slot_guard {
	_Atomic uint64_t seq;    /* even: stable; odd: a C writer is writing */
	_Atomic uint64_t writer; /* ident of the C writer holding the slot, or 0 */
};

static_assert(sizeof(struct slots_trailer) == 64, "trailer size");
static_assert(offsetof(struct slots_trailer, count) == 16, "trailer layout");
static_assert(offsetof(struct slots_trailer, python_size) == 24, "trailer layout");
static_assert(offsetof(struct slots_trailer, creator) == 32, "trailer layout");
static_assert(offsetof(struct slots_trailer, ready) == 52, "trailer layout");
static_assert(sizeof(struct slot_guard) == 16, "guard size");
static_assert(offsetof(struct slot_guard, writer) == 8, "guard layout");
static_assert(sizeof(_Atomic uint64_t) == 8 && ATOMIC_LLONG_LOCK_FREE == 2,
	      "slot words are accessed as lock-free 64-bit atomics in place");
static_assert(sizeof(_Atomic int8_t) == 1 && ATOMIC_CHAR_LOCK_FREE == 2,
	      "codes are accessed as lock-free byte atomics in place");

/* Where everything is, from N and D (all byte offsets from the block start). */
struct slots_layout {
	uint64_t n;
	uint64_t d;
	uint64_t data_off;
	uint64_t fmt_off;
	uint64_t code_off;
	uint64_t python_size;
	uint64_t trailer_off;    /* align8(python_size) */
	uint64_t trailer_end;    /* trailer_off + 64 + 16 N */
};

/* A process-private handle: everything that bounds an access is a checked
 * private copy; only formats, codes, data and guards are read live. */
struct shmbus_slots {
	struct shmbus_block *block;
	unsigned char *base;              /* the mapping; written only if !rdonly */
	struct slots_layout lay;
	uint64_t *off;                    /* checked copy of off[0..N] */
	uint64_t *sfmt;                   /* slot i's "<cap>s" format as a word */
	struct slot_guard *guards; /* in the trailer; NULL: Python's list */
	bool rdonly;
	int timeout_ms;           /* bound of every wait on a guard (slots.h) */
};

/* A consistent private copy of one slot (see slots_read()). */
struct slot_copy {
	char fmt[8];
	int8_t code;
	uint64_t word;              /* the first 8 data bytes */
	int decode_rc;              /* slot_decode() of fmt and code */
	enum shmbus_slot_type type; /* valid if decode_rc == 0 */
	size_t len;                 /* str/bytes, if @data: length without trailing NULs */
	bool ascii;                 /* the bytes copied are all ASCII */
};

/* An 8-byte NUL-padded format as the word it is stored as. */
static inline uint64_t slot_fmt_word(const char fmt[8])
{
	uint64_t w;

	memcpy(&w, fmt, sizeof(w));
	return w;
}

/*
 * slots_fill_sfmt - compute sl->sfmt from sl->off (allocating it):
 * get and set compare and store whole format words instead of formatting
 * "%ds" each time.  Returns 0 or -ENOMEM.
 */
int slots_fill_sfmt(struct shmbus_slots *sl);

/* Slot i's capacity (private offsets). */
static inline uint64_t slots_cap(const struct shmbus_slots *sl, uint64_t i)
{
	return sl->off[i + 1] - sl->off[i];
}

/* Python's index rule without its out-of-range hole: @index in [-N, N-1]
 * becomes @i in [0, N-1]; anything else is -ERANGE. */
int slots_norm_index(const struct shmbus_slots *sl, int64_t index, uint64_t *i);

/*
 * slots_read - copy slot @i's format, code and first word, and if
 * @data the stripped length of a str/bytes value and its first
 * min(len, @bufsize) bytes into @buf, consistently (seqlock) in a guarded
 * list, waiting at most sl->timeout_ms for a C writer.  Returns 0 (then
 * check c->decode_rc), -SHMBUS_EPEERDEAD, -ETIMEDOUT, -SHMBUS_ECORRUPT (a
 * guard in an impossible state).
 */
int slots_read(const struct shmbus_slots *sl, uint64_t i, struct slot_copy *c,
		      void *buf, size_t bufsize, bool data);

/*
 * slots_repair - slot @i of a guarded list, read-write handle: if its
 * writer is dead, take the claim over and leave the slot stable: as it was
 * if that writer died before it began to write (sequence even), else reset
 * to None (the interrupted write cannot be rolled back: the old value is
 * partly overwritten, the new one partly written).  Returns 1 (repaired),
 * 0 (nothing to repair: no writer, a live one, or another process repaired
 * it first), or -ENOSYS (no /proc to name ourselves).
 */
int slots_repair(struct shmbus_slots *sl, uint64_t i);

/* Store a checked value's format, code and bytes into slot @i (no guard:
 * the caller holds it, or the list is Python's, or is not published yet). */
void slots_write_body(struct shmbus_slots *sl, uint64_t i,
			     const struct shmbus_slot_value *v);

/*
 * Creation in two steps, so that a list can be laid out inside a block made
 * by someone else (shmbus_manager_create_slots() in manager_kinds.c):
 * slots_plan - check @values[0..@n) and make a handle with no block
 *   yet: sl->lay.trailer_end is the size the block must have.  Returns 0
 *   and fills @out, or the errors of shmbus_slots_create() that come before
 *   the block is made (-EINVAL, -EILSEQ, -EMSGSIZE, -EOVERFLOW, -ENOMEM).
 *   Release the handle with shmbus_slots_close().
 * slots_build - write the same @values into @b (zeroed, writable,
 *   exactly sl->lay.trailer_end bytes, made for this list) and publish the
 *   list; on success the handle owns @b (close closes it).  Returns 0, or
 *   -EINVAL / -EROFS (wrong size or a read-only handle: nothing written,
 *   @b still the caller's).
 */
int slots_plan(struct shmbus_slots **out, const struct shmbus_slot_value *values,
		      size_t n);
int slots_build(struct shmbus_slots *sl, struct shmbus_block *b,
		       const struct shmbus_slot_value *values);

/*
 * slots_layout_make - the layout for @n items and @d data bytes.
 * Returns 0 or -EOVERFLOW.
 */
int slots_layout_make(uint64_t n, uint64_t d, struct slots_layout *lay);

/*
 * slots_check_count - is @n (read from offset 0) possible in an
 * object of @size bytes?  Returns 0, -SHMBUS_ECORRUPT (negative),
 * -SHMBUS_ETRUNCATED (the offset table would not fit).
 */
int slots_check_count(int64_t n, uint64_t size);

/*
 * slots_check_offsets - validate a private copy @off[0..@n] of the
 * offset table: off[0] = 0, every slot a multiple of 8 in [8,
 * SHMBUS_SLOTS_CAPACITY_MAX], Python's part inside @size.  Fills @lay.
 * Returns 0, -SHMBUS_ECORRUPT or -SHMBUS_ETRUNCATED.
 */
int slots_check_offsets(const int64_t *off, uint64_t n, uint64_t size,
			       struct slots_layout *lay);

/*
 * slots_check_trailer - a copy @t of the bytes at lay->trailer_off
 * (@avail of them could be read, 0 if none).  @ready: the ready word as
 * loaded (with acquire, by the caller).
 * Returns 1 (a valid, ready trailer), 0 (no trailer: not our magic, a list
 * Python made), -SHMBUS_EVERSION, -SHMBUS_EBYTEORDER, -SHMBUS_ETRUNCATED,
 * -SHMBUS_ENOTREADY (magic but not ready), -SHMBUS_ECORRUPT.
 */
int slots_check_trailer(const struct slots_trailer *t, size_t avail,
			       uint32_t ready, const struct slots_layout *lay,
			       uint64_t size);

/*
 * slot_decode - type of a slot from a private copy of its format and
 * code, for a slot of @cap bytes.  Exactly Python's pairs are valid: "q",
 * "d", "xxxxxxx?" with code 0; "xxxxxx?x" with 3; "<cap>s" (cap equal to the
 * slot's size, as Python always writes) with 1 or 2.
 * Returns 0, or -SHMBUS_ECORRUPT.
 */
int slot_decode(const char fmt[8], int8_t code, uint64_t cap,
		       enum shmbus_slot_type *type);

/* Whether @fmt alone is one Python writes for a slot of @cap bytes. */
bool slot_format_known(const char fmt[8], uint64_t cap);

/*
 * slot_encode - the format and code Python writes for @type in a slot
 * of @cap bytes.  @type must be valid.
 */
void slot_encode(enum shmbus_slot_type type, uint64_t cap, char fmt[8], int8_t *code);

/* Bytes the format writes: 8, or @cap for str/bytes. */
static inline uint64_t slot_write_len(enum shmbus_slot_type type, uint64_t cap)
{
	return type == SHMBUS_SLOT_STR || type == SHMBUS_SLOT_BYTES ? cap : 8;
}

/*
 * slot_size_for - the capacity a slot needs for initial value @v
 * (Python's rule on UTF-8 bytes, raised to v->capacity).  Returns 0 and
 * fills @cap, -EINVAL (bad type), -EILSEQ (str not UTF-8), -EMSGSIZE.
 */
int slot_size_for(const struct shmbus_slot_value *v, uint64_t *cap);

/*
 * slot_value_check - is @v storable in a slot of @cap bytes?
 * Returns 0, -EINVAL (bad type or NULL data with a length), -EILSEQ,
 * -EMSGSIZE.
 */
int slot_value_check(const struct shmbus_slot_value *v, uint64_t cap);

/* Whether @p[0..@len) is well-formed UTF-8 (as Python's strict decoder). */
bool utf8_valid(const void *p, size_t len);

/* Python's == between two values (see slots.h). */
bool slot_value_equal(const struct shmbus_slot_value *a,
			     const struct shmbus_slot_value *b);

/*
 * slot_decode_word - a value from a private copy of a slot's first
 * 8 bytes @word (int, float, bool, None); str and bytes are filled by the
 * caller.
 */
void slot_decode_word(enum shmbus_slot_type type, uint64_t word,
			     struct shmbus_slot_value *out);

/* Length of @p[0..@len) without trailing NUL bytes (Python's rstrip). */
size_t slot_bytes_stripped_len(const void *p, size_t len);

/*
 * slot_value_json - @v as JSON, for the snapshot and for
 * shmbus_slot_value_json() (the form is documented there):
 *   int -> integer, float -> real (non-finite: {"float": "nan"|"inf"|"-inf"}),
 *   bool -> true/false, str -> string, bytes -> {"bytes_hex": "00ff"},
 *   None -> null.
 * NULL on out-of-memory or for a value slot_value_check() refuses.
 */
json_t *slot_value_json(const struct shmbus_slot_value *v);

/*
 * Test hooks, compiled into the test flavour of the library only
 * (SHMBUS_TEST_HOOKS, as mpmc_hook()): called inside shmbus_slots_set() of
 * a guarded list, so that a test can stop or kill a real writer right where
 * it holds the slot.  Empty in release objects.
 */
enum slots_hook_point {
	SLOTS_HOOK_LOCKED,  /* claim taken, sequence odd, nothing written */
	SLOTS_HOOK_WRITTEN, /* value written, sequence still odd */
};
typedef void (*slots_hook_fn)(enum slots_hook_point point, struct shmbus_slots *sl,
			      uint64_t i);
extern _Atomic(slots_hook_fn) slots_test_hook;

static inline void slots_hook(enum slots_hook_point point, struct shmbus_slots *sl, uint64_t i)
{
#ifdef SHMBUS_TEST_HOOKS
	/* Relaxed: set once by a test before it writes. */
	slots_hook_fn fn = atomic_load_explicit(&slots_test_hook, memory_order_relaxed);

	if (__builtin_expect(fn != NULL, 0))
		fn(point, sl, i);
#else
	(void)point;
	(void)sl;
	(void)i;
#endif
}

#endif /* SHMBUS_SLOTS_INTERNAL_H */
