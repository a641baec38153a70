/*
 * slot_json.h - slot values read from JSON, for `shmbus create slots` and
 * `shmbus set`: the inverse of shmbus_slot_value_json() (shmbus/slots.h),
 * which prints them for `shmbus get` and inspect.
 */
#ifndef SHMBUS_TOOL_SLOT_JSON_H
#define SHMBUS_TOOL_SLOT_JSON_H

#include <stdbool.h>

#include <jansson.h>

#include "shmbus/slots.h"

/*
 * slot_json_parse - the value @j stands for, in the form
 * shmbus_slot_value_json() writes (documented in `shmbus create slots
 * --help`); also {"float": NUMBER} to force a float, and, with
 * @with_capacity (create), {"value": V, "capacity": BYTES} to reserve room.
 * Fills @out: str data points into @j (valid while @j lives); bytes are
 * decoded into a malloc'd buffer returned in *@owned (free it; NULL if none).
 * Returns 0; -EINVAL with *@why set to a static explanation; or -ENOMEM.
 */
int slot_json_parse(const json_t *j, bool with_capacity, struct shmbus_slot_value *out,
		    void **owned, const char **why);

#endif
