/*
 * guard_internal.h - the process's table of mapped blocks that the SIGBUS
 * guard (core/guard.c, public side in shmbus/guard.h) consults.
 *
 * Every mapping the library makes is entered here, whether or not the guard
 * is enabled, so that enabling it later covers what is already attached.
 * The table is a fixed array read from a signal handler: no lock, no
 * allocation; each entry is a sequence lock that only its registering thread
 * writes, so the handler never uses a half-written (start, len).
 */
#ifndef SHMBUS_GUARD_INTERNAL_H
#define SHMBUS_GUARD_INTERNAL_H

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Entries in the table; mappings beyond it stay unguarded. */
#define GUARD_ENTRIES 1024
#define GUARD_NONE (-1)

/*
 * guard_register - enter the mapping [@addr, @addr + @len) (PROT_READ only
 * if @rdonly).  Returns its entry index, or GUARD_NONE when the table is
 * full.  Lock-free.
 */
int guard_register(void *addr, size_t len, bool rdonly);

/* guard_unregister - remove entry @idx (GUARD_NONE: nothing); call it
 * before the range is unmapped. */
void guard_unregister(int idx);

/*
 * guard_check - 0, or -SHMBUS_ESHRUNK if the guard has replaced pages of
 * entry @idx (the object was truncated under the mapping).  With the guard
 * enabled it first reads the mapping's last byte, so a truncation that no
 * access has hit yet is found now (the read faults, the guard marks the
 * entry).  Wait-free apart from that fault.
 */
int guard_check(int idx);

/* The word the handler sets for entry @idx (a zero word for GUARD_NONE):
 * ring handles keep it to test it with one relaxed load per call. */
const _Atomic uint32_t *guard_lost_word(int idx);

#endif /* SHMBUS_GUARD_INTERNAL_H */
