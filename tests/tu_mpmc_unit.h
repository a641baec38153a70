/*
 * tu_mpmc_unit.h - what the one-process mpmc unit tests share: make a
 * ring, open a handle, read the stats, each failing the test on error.
 * Include after <cmocka.h> and testutil.h.
 */
#ifndef SHMBUS_TU_MPMC_UNIT_H
#define SHMBUS_TU_MPMC_UNIT_H

#include "shmbus/mpmc.h"

static inline const char *tu_mpmc_make(const char *what, uint32_t slots, uint32_t slot_size,
				    uint32_t liveness_ms, uint32_t participants)
{
	struct shmbus_mpmc_params p = {
		.slots = slots,
		.slot_size = slot_size,
		.liveness_ms = liveness_ms,
		.participants = participants,
	};
	const char *name = tu_name(what);

	assert_int_equal(shmbus_mpmc_create(name, &p), 0);
	return name;
}

static inline struct shmbus_mpmc *tu_mpmc_open_as(const char *name, enum shmbus_mpmc_role role)
{
	struct shmbus_mpmc *h = NULL;

	assert_int_equal(shmbus_mpmc_open(&h, name, role), 0);
	assert_non_null(h);
	return h;
}

static inline struct shmbus_mpmc_stats tu_mpmc_stats_of(struct shmbus_mpmc *h)
{
	struct shmbus_mpmc_stats st;

	shmbus_mpmc_stats(h, &st);
	return st;
}

#endif
