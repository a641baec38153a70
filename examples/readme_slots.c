/*
 * readme_slots.c - the README's slot-table snippet, as a whole program: C
 * publishes a ShareableList, reads a value back, and leaves the list for
 * Python until it is unlinked.  The region between the README markers is
 * what the README shows (tests/readme_check.py).
 */
#include <inttypes.h>
#include <stdio.h>

#include <shmbus/shmbus.h>

int main(void)
{
	/* README:begin slots */
	struct shmbus_slot_value v[] = {
		shmbus_slot_int(0), shmbus_slot_float(0.0), shmbus_slot_str("starting"),
	};
	struct shmbus_slots *sl;
	int rc = shmbus_slots_create(&sl, "readme_telemetry", v, 3, 0);
	if (rc == 0) {
		struct shmbus_slot_value x = shmbus_slot_int(17), y;
		rc = shmbus_slots_set(sl, 0, &x);       /* Python's sl[0] = 17 */
		if (rc == 0)
			rc = shmbus_slots_get(sl, 0, &y, NULL, 0);  /* ints need no buffer */
		if (rc == 0)
			printf("%" PRId64 "\n", y.u.i);     /* 17 */
		shmbus_slots_close(sl);
	}
	/* README:end */
	if (rc)
		fprintf(stderr, "readme_telemetry: %s\n", shmbus_strerror(rc));
	if (shmbus_block_unlink("readme_telemetry"))
		rc = -1;
	return rc ? 1 : 0;
}
