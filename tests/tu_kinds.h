/*
 * tu_kinds.h - one block of every kind, in a known state, for the tests
 * that check the tool's JSON output (schema validation, golden files).
 */
#ifndef SHMBUS_TU_KINDS_H
#define SHMBUS_TU_KINDS_H

/* Block names made by tu_kinds_make(), by kind. */
struct kinds {
	const char *raw, *spsc, *mpmc, *bcast, *slots, *pylist;
};

/*
 * tu_kinds_make - create, under names unique to this test (tu_name()):
 *  raw:    4096 bytes, "not ours" written at offset 0
 *  spsc:   4096-byte ring holding "a" and "bb", one message of 1 byte consumed
 *  mpmc:   8 slots of 64 bytes holding "hi"
 *  bcast:  4096-byte reliable broadcast ring holding "a" and "bb", its stream
 *          closed, with no subscriber left
 *  slots:  [7, 2.5, true, "hé", b"\x00\xff", None] made by C
 *  pylist: ShareableList([1, "x", None]) made by python3 (needs tu_python())
 * Every process that touched them has closed its handles.
 */
void tu_kinds_make(struct kinds *k);

/* Run the tool; returns its stdout (malloc'd) and asserts exit status 0. */
char *tu_kinds_tool_json(const char *a1, const char *a2, const char *a3);

#endif
