/*
 * readme_manager.c - the README's lifecycle-manager snippet, as a whole
 * program: every block made through the manager is unlinked at shutdown, or
 * by the manager's guardian process if this one dies first.  The region
 * between the README markers is what the README shows (tests/readme_check.py).
 */
#include <stdio.h>

#include <shmbus/shmbus.h>

int main(void)
{
	/* README:begin manager */
	struct shmbus_manager *m;
	struct shmbus_slots *state = NULL;
	struct shmbus_mpmc_params jobs = { .slots = 1024, .slot_size = 256 };
	struct shmbus_slot_value init[] = { shmbus_slot_int(0), shmbus_slot_str("idle") };

	int rc = shmbus_manager_start(&m, "readme_mgr", 0);     /* forks a small guardian */
	if (rc)
		return 1;
	rc = shmbus_manager_create_spsc(m, "readme_app_events", 1 << 16, 0);
	if (rc == 0)
		rc = shmbus_manager_create_mpmc(m, "readme_app_jobs", &jobs);
	if (rc == 0)
		rc = shmbus_manager_create_slots(m, &state, "readme_app_state", init, 2, 0);
	/* Other processes use them by name as usual: shmbus_spsc_open(),
	 * shmbus_mpmc_open(), shmbus_slots_attach(), Python's
	 * ShareableList(name="readme_app_state"). */
	shmbus_slots_close(state);
	if (shmbus_manager_shutdown(m))                         /* unlinks them all */
		rc = -1;
	shmbus_manager_free(m);
	/* README:end */
	if (rc)
		fprintf(stderr, "readme_mgr: %s\n", shmbus_strerror(rc));
	return rc ? 1 : 0;
}
