/*
 * slot_json.c - JSON to slot values, the inverse of the library's
 * shmbus_slot_value_json(): plain JSON for int, float, bool, str and None,
 * and the two tagged objects it writes, {"bytes_hex": HEX} and
 * {"float": "nan"|"inf"|"-inf"}.  Every error names what is wrong, for the
 * usage message.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "slot_json.h"

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int bytes_from_hex(const json_t *j, struct shmbus_slot_value *out, void **owned,
			  const char **why)
{
	const char *s = json_string_value(j);
	size_t len = json_string_length(j), i;
	unsigned char *p;

	if (!s || len % 2) {
		*why = "bytes_hex must be a string of an even number of hex digits";
		return -EINVAL;
	}
	p = malloc(len / 2 + 1);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < len / 2; i++) {
		int hi = hex_val(s[2 * i]), lo = hex_val(s[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(p);
			*why = "bytes_hex holds a character that is not a hex digit";
			return -EINVAL;
		}
		p[i] = (unsigned char)(hi << 4 | lo);
	}
	*out = shmbus_slot_bytes(p, len / 2);
	*owned = p;
	return 0;
}

static int float_from_json(const json_t *j, struct shmbus_slot_value *out, const char **why)
{
	const char *s = json_string_value(j);

	if (json_is_number(j)) {
		*out = shmbus_slot_float(json_number_value(j));
		return 0;
	}
	if (s && strcmp(s, "nan") == 0)
		*out = shmbus_slot_float(NAN);
	else if (s && strcmp(s, "inf") == 0)
		*out = shmbus_slot_float(INFINITY);
	else if (s && strcmp(s, "-inf") == 0)
		*out = shmbus_slot_float(-INFINITY);
	else {
		*why = "float must be a number, \"nan\", \"inf\" or \"-inf\"";
		return -EINVAL;
	}
	return 0;
}

/* A tagged object: {"bytes_hex": ...}, {"float": ...}, or (create only)
 * {"value": V, "capacity": N}. */
static int object_from_json(const json_t *j, bool with_capacity,
			    struct shmbus_slot_value *out, void **owned, const char **why)
{
	const json_t *v;
	json_int_t cap;
	int rc;

	if (json_object_size(j) == 1 && (v = json_object_get(j, "bytes_hex")))
		return bytes_from_hex(v, out, owned, why);
	if (json_object_size(j) == 1 && (v = json_object_get(j, "float")))
		return float_from_json(v, out, why);
	if (with_capacity && json_object_size(j) == 2 && json_object_get(j, "value") &&
	    json_is_integer(json_object_get(j, "capacity"))) {
		v = json_object_get(j, "value");
		if (json_is_object(v) && json_object_get(v, "value")) {
			*why = "{\"value\", \"capacity\"} objects do not nest";
			return -EINVAL;
		}
		cap = json_integer_value(json_object_get(j, "capacity"));
		if (cap < 0 || cap > (json_int_t)SHMBUS_SLOTS_CAPACITY_MAX) {
			*why = "capacity must be between 0 and 9999992";
			return -EINVAL;
		}
		rc = slot_json_parse(v, false, out, owned, why);
		if (rc == 0)
			out->capacity = (size_t)cap;
		return rc;
	}
	*why = with_capacity ? "objects must be {\"bytes_hex\": HEX}, {\"float\": X} or "
			       "{\"value\": V, \"capacity\": BYTES}"
			     : "objects must be {\"bytes_hex\": HEX} or {\"float\": X}";
	return -EINVAL;
}

int slot_json_parse(const json_t *j, bool with_capacity, struct shmbus_slot_value *out,
		    void **owned, const char **why)
{
	*owned = NULL;
	*why = NULL;
	switch (json_typeof(j)) {
	case JSON_INTEGER:
		*out = shmbus_slot_int((int64_t)json_integer_value(j));
		return 0;
	case JSON_REAL:
		*out = shmbus_slot_float(json_real_value(j));
		return 0;
	case JSON_TRUE:
	case JSON_FALSE:
		*out = shmbus_slot_bool(json_is_true(j));
		return 0;
	case JSON_NULL:
		*out = shmbus_slot_none();
		return 0;
	case JSON_STRING:
		*out = shmbus_slot_none();
		out->type = SHMBUS_SLOT_STR;
		out->u.s.data = json_string_value(j);
		out->u.s.len = json_string_length(j);
		return 0;
	case JSON_OBJECT:
		return object_from_json(j, with_capacity, out, owned, why);
	default:
		*why = "arrays are not slot values";
		return -EINVAL;
	}
}
