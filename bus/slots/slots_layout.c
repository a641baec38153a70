/*
 * slots_layout.c - the slot table's layout arithmetic and the checks that
 * every value read from a list goes through before it sizes, indexes or
 * bounds anything.  Pure functions on private copies; no shared memory here.
 *
 * The rules are CPython's (Lib/multiprocessing/shared_memory.py, identical
 * from 3.9 to 3.13): formats are struct codes NUL-padded to 8 bytes, every
 * slot is a multiple of the 8-byte _alignment, a str/bytes slot's format is
 * "%ds" % (its size).  We accept exactly what Python writes, nothing looser,
 * so that a random block is not taken for a list.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "slots_internal.h"

/* Python's part is 16 + 17 N + D; the offset table alone is 8 (N + 2). */
#define PY_FIXED 16u
#define PY_PER_ITEM 17u

static uint64_t align8(uint64_t v)
{
	return (v + SHMBUS_SLOTS_ALIGN - 1) & ~(uint64_t)(SHMBUS_SLOTS_ALIGN - 1);
}

int slots_layout_make(uint64_t n, uint64_t d, struct slots_layout *lay)
{
	/* Bounds that keep every sum below 2^63 (offsets are int64 in the
	 * block, and sizes go through off_t). */
	if (n > (UINT64_C(1) << 56) || d > (UINT64_C(1) << 61))
		return -EOVERFLOW;
	lay->n = n;
	lay->d = d;
	lay->data_off = 8 * (n + 2);
	lay->fmt_off = lay->data_off + d;
	lay->code_off = lay->fmt_off + 8 * n;
	lay->python_size = lay->code_off + n;
	lay->trailer_off = align8(lay->python_size);
	lay->trailer_end = lay->trailer_off + sizeof(struct slots_trailer) +
			   n * sizeof(struct slot_guard);
	return 0;
}

int slots_check_count(int64_t n, uint64_t size)
{
	if (n < 0)
		return -SHMBUS_ECORRUPT;
	if (size < PY_FIXED || (uint64_t)n > (size - PY_FIXED) / PY_PER_ITEM)
		return -SHMBUS_ETRUNCATED;
	return 0;
}

int slots_check_offsets(const int64_t *off, uint64_t n, uint64_t size,
			       struct slots_layout *lay)
{
	uint64_t i, d;

	if (off[0] != 0)
		return -SHMBUS_ECORRUPT;
	for (i = 0; i < n; i++) {
		uint64_t step;

		/* 0 <= off[i] <= size holds by induction; compare before
		 * subtracting so that garbage cannot overflow. */
		if (off[i + 1] < off[i])
			return -SHMBUS_ECORRUPT;
		step = (uint64_t)off[i + 1] - (uint64_t)off[i];
		if (step < 8 || step % SHMBUS_SLOTS_ALIGN || step > SHMBUS_SLOTS_CAPACITY_MAX)
			return -SHMBUS_ECORRUPT;
		if ((uint64_t)off[i + 1] > size)
			return -SHMBUS_ETRUNCATED;
	}
	d = (uint64_t)off[n];
	if (slots_layout_make(n, d, lay))
		return -SHMBUS_ECORRUPT;
	if (lay->python_size > size)
		return -SHMBUS_ETRUNCATED;
	return 0;
}

int slots_check_trailer(const struct slots_trailer *t, size_t avail,
			       uint32_t ready, const struct slots_layout *lay,
			       uint64_t size)
{
	if (avail < sizeof(t->magic) || memcmp(t->magic, SHMBUS_SLOTS_MAGIC, sizeof(t->magic)))
		return 0;
	if (avail < sizeof(*t))
		return -SHMBUS_ETRUNCATED;
	if (t->byte_order != SHMBUS_BYTE_ORDER)
		return -SHMBUS_EBYTEORDER;
	if (t->version != SHMBUS_SLOTS_VERSION)
		return -SHMBUS_EVERSION;
	if (ready != SHMBUS_READY)
		return -SHMBUS_ENOTREADY;
	if (t->count != lay->n || t->python_size != lay->python_size ||
	    t->guard_size != sizeof(struct slot_guard))
		return -SHMBUS_ECORRUPT;
	if (lay->trailer_end > size)
		return -SHMBUS_ETRUNCATED;
	return 1;
}

void slot_encode(enum shmbus_slot_type type, uint64_t cap, char fmt[8], int8_t *code)
{
	char buf[8];
	unsigned n, i;

	memset(fmt, 0, 8);
	switch (type) {
	case SHMBUS_SLOT_INT:
		memcpy(fmt, "q", 1);
		*code = SHMBUS_SLOT_CODE_PLAIN;
		break;
	case SHMBUS_SLOT_FLOAT:
		memcpy(fmt, "d", 1);
		*code = SHMBUS_SLOT_CODE_PLAIN;
		break;
	case SHMBUS_SLOT_BOOL:
		memcpy(fmt, "xxxxxxx?", 8);
		*code = SHMBUS_SLOT_CODE_PLAIN;
		break;
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		/* "%ds" % cap, by hand: this runs on every get and set, where
		 * snprintf would cost more than the rest of the call.  cap <=
		 * SHMBUS_SLOTS_CAPACITY_MAX: at most 7 digits + 's'. */
		n = 0;
		do {
			buf[n++] = (char)('0' + cap % 10);
			cap /= 10;
		} while (cap && n < 7);
		for (i = 0; i < n; i++)
			fmt[i] = buf[n - 1 - i];
		fmt[n] = 's';
		*code = type == SHMBUS_SLOT_STR ? SHMBUS_SLOT_CODE_STR : SHMBUS_SLOT_CODE_BYTES;
		break;
	case SHMBUS_SLOT_NONE:
	default:
		memcpy(fmt, "xxxxxx?x", 8);
		*code = SHMBUS_SLOT_CODE_NONE;
		break;
	}
}

static bool fmt_is(const char fmt[8], enum shmbus_slot_type type, uint64_t cap)
{
	char want[8];
	int8_t code;

	slot_encode(type, cap, want, &code);
	return memcmp(fmt, want, 8) == 0;
}

bool slot_format_known(const char fmt[8], uint64_t cap)
{
	return fmt_is(fmt, SHMBUS_SLOT_INT, cap) || fmt_is(fmt, SHMBUS_SLOT_FLOAT, cap) ||
	       fmt_is(fmt, SHMBUS_SLOT_BOOL, cap) || fmt_is(fmt, SHMBUS_SLOT_NONE, cap) ||
	       fmt_is(fmt, SHMBUS_SLOT_STR, cap);
}

int slot_decode(const char fmt[8], int8_t code, uint64_t cap,
		       enum shmbus_slot_type *type)
{
	switch (code) {
	case SHMBUS_SLOT_CODE_PLAIN:
		if (fmt_is(fmt, SHMBUS_SLOT_INT, cap))
			*type = SHMBUS_SLOT_INT;
		else if (fmt_is(fmt, SHMBUS_SLOT_FLOAT, cap))
			*type = SHMBUS_SLOT_FLOAT;
		else if (fmt_is(fmt, SHMBUS_SLOT_BOOL, cap))
			*type = SHMBUS_SLOT_BOOL;
		else
			return -SHMBUS_ECORRUPT;
		return 0;
	case SHMBUS_SLOT_CODE_STR:
	case SHMBUS_SLOT_CODE_BYTES:
		if (!fmt_is(fmt, SHMBUS_SLOT_STR, cap))
			return -SHMBUS_ECORRUPT;
		*type = code == SHMBUS_SLOT_CODE_STR ? SHMBUS_SLOT_STR : SHMBUS_SLOT_BYTES;
		return 0;
	case SHMBUS_SLOT_CODE_NONE:
		if (!fmt_is(fmt, SHMBUS_SLOT_NONE, cap))
			return -SHMBUS_ECORRUPT;
		*type = SHMBUS_SLOT_NONE;
		return 0;
	default:
		return -SHMBUS_ECORRUPT;
	}
}

void slot_decode_word(enum shmbus_slot_type type, uint64_t word,
			     struct shmbus_slot_value *out)
{
	unsigned char b[8];

	memcpy(b, &word, sizeof(b));
	out->type = type;
	switch (type) {
	case SHMBUS_SLOT_INT:
		memcpy(&out->u.i, b, 8);
		break;
	case SHMBUS_SLOT_FLOAT:
		memcpy(&out->u.f, b, 8);
		break;
	case SHMBUS_SLOT_BOOL:
		/* "xxxxxxx?": the bool is the 8th byte; any non-zero byte is
		 * True, as struct's '?' unpacks it. */
		out->u.b = b[7] != 0;
		break;
	default:
		break;
	}
}

size_t slot_bytes_stripped_len(const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len > 0 && c[len - 1] == 0)
		len--;
	return len;
}

bool utf8_valid(const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i = 0;

	/* Unicode 15, table 3-7: well-formed byte sequences.  This rejects
	 * overlong forms, surrogates and code points above U+10FFFF, as
	 * Python's strict UTF-8 decoder does. */
	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t k, need;
		uint64_t w;

		/* ASCII fast path, 8 bytes at a time. */
		if (len - i >= 8) {
			memcpy(&w, s + i, sizeof(w));
			if (!(w & UINT64_C(0x8080808080808080))) {
				i += 8;
				continue;
			}
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (len - i - 1 < need)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= need; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return false;
		i += need + 1;
	}
	return true;
}

int slot_value_check(const struct shmbus_slot_value *v, uint64_t cap)
{
	switch (v->type) {
	case SHMBUS_SLOT_NONE:
	case SHMBUS_SLOT_INT:
	case SHMBUS_SLOT_FLOAT:
	case SHMBUS_SLOT_BOOL:
		return 0;
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		if (!v->u.s.data && v->u.s.len)
			return -EINVAL;
		if (v->u.s.len > cap)
			return -EMSGSIZE;
		if (v->type == SHMBUS_SLOT_STR && !utf8_valid(v->u.s.data, v->u.s.len))
			return -EILSEQ;
		return 0;
	default:
		return -EINVAL;
	}
}

int slot_size_for(const struct shmbus_slot_value *v, uint64_t *cap)
{
	uint64_t need = 8;
	int rc;

	if (v->type == SHMBUS_SLOT_STR || v->type == SHMBUS_SLOT_BYTES) {
		if (v->u.s.len >= SHMBUS_SLOTS_CAPACITY_MAX)
			return -EMSGSIZE;
		/* Python: _alignment * (len(item) // _alignment + 1), where we
		 * count UTF-8 bytes (CPython counts code points and truncates
		 * multi-byte text; for ASCII the two agree). */
		need = SHMBUS_SLOTS_ALIGN * (v->u.s.len / SHMBUS_SLOTS_ALIGN + 1);
	}
	if (v->capacity > SHMBUS_SLOTS_CAPACITY_MAX)
		return -EMSGSIZE;
	if (align8(v->capacity) > need)
		need = align8(v->capacity);
	if (need > SHMBUS_SLOTS_CAPACITY_MAX)
		return -EMSGSIZE;
	rc = slot_value_check(v, need);
	if (rc)
		return rc;
	*cap = need;
	return 0;
}

/* int or bool as a number (Python's bool is an int). */
static bool int_like(const struct shmbus_slot_value *v, int64_t *i)
{
	if (v->type == SHMBUS_SLOT_INT)
		*i = v->u.i;
	else if (v->type == SHMBUS_SLOT_BOOL)
		*i = v->u.b;
	else
		return false;
	return true;
}

/* Python compares int and float exactly, not by converting the int. */
static bool int_eq_float(int64_t i, double f)
{
	int64_t k;

	/* In [-2^63, 2^63) the conversion is defined; it truncates, so a
	 * fraction shows as (double)k != f. */
	if (isnan(f) || f < -9223372036854775808.0 || f >= 9223372036854775808.0)
		return false;
	k = (int64_t)f;
	return (double)k == f && k == i;
}

bool slot_value_equal(const struct shmbus_slot_value *a,
			     const struct shmbus_slot_value *b)
{
	int64_t ia, ib;
	bool a_int = int_like(a, &ia), b_int = int_like(b, &ib);

	if (a_int && b_int)
		return ia == ib;
	if (a_int && b->type == SHMBUS_SLOT_FLOAT)
		return int_eq_float(ia, b->u.f);
	if (b_int && a->type == SHMBUS_SLOT_FLOAT)
		return int_eq_float(ib, a->u.f);
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SHMBUS_SLOT_FLOAT:
		return a->u.f == b->u.f;
	case SHMBUS_SLOT_STR:
	case SHMBUS_SLOT_BYTES:
		return a->u.s.len == b->u.s.len &&
		       (a->u.s.len == 0 || memcmp(a->u.s.data, b->u.s.data, a->u.s.len) == 0);
	case SHMBUS_SLOT_NONE:
		return true;
	default:
		return false;
	}
}
