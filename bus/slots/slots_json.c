/*
 * slots_json.c - slot values as JSON: the one mapping the snapshot (inspect)
 * uses and shmbus_slot_value_json() gives to programs (the tool's get), so
 * they never disagree.  Reading values back from JSON is the tool's business
 * (tools/slot_json.c), against this same form.
 *
 * JSON has no bytes and no non-finite numbers, so those two take a tagged
 * object: {"bytes_hex": "00ff"} and {"float": "nan"|"inf"|"-inf"}.  Hex (not
 * base64) because it is readable in a terminal and trivial to produce from
 * any shell or language (Python: bytes.hex()).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "slots_internal.h"

static json_t *hex_json(const unsigned char *p, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	json_t *obj, *str;
	char *hex;
	size_t i;

	hex = malloc(2 * len + 1);
	if (!hex)
		return NULL;
	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[p[i] >> 4];
		hex[2 * i + 1] = digits[p[i] & 15];
	}
	str = json_stringn_nocheck(hex, 2 * len);
	free(hex);
	if (!str)
		return NULL;
	obj = json_object();
	if (!obj || json_object_set_new(obj, "bytes_hex", str)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *slot_value_json(const struct shmbus_slot_value *v)
{
	switch (v->type) {
	case SHMBUS_SLOT_INT:
		return json_integer((json_int_t)v->u.i);
	case SHMBUS_SLOT_FLOAT:
		if (isnan(v->u.f))
			return json_pack("{s:s}", "float", "nan");
		if (isinf(v->u.f))
			return json_pack("{s:s}", "float", v->u.f > 0 ? "inf" : "-inf");
		return json_real(v->u.f);
	case SHMBUS_SLOT_BOOL:
		return json_boolean(v->u.b);
	case SHMBUS_SLOT_STR:
		/* Validated UTF-8 (get refuses anything else); may hold NULs. */
		return json_stringn(v->u.s.data, v->u.s.len);
	case SHMBUS_SLOT_BYTES:
		return hex_json(v->u.s.data, v->u.s.len);
	case SHMBUS_SLOT_NONE:
		return json_null();
	default:
		return NULL;
	}
}

int shmbus_slot_value_json(const struct shmbus_slot_value *value, char **out)
{
	json_t *j;
	char *text;
	int rc;

	if (!value || !out)
		return -EINVAL;
	/* No length limit here: only the type, the data pointer and UTF-8. */
	rc = slot_value_check(value, UINT64_MAX);
	if (rc)
		return rc;
	j = slot_value_json(value);
	text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!text)
		return -ENOMEM;
	*out = text;
	return 0;
}
