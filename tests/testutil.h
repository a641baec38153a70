/*
 * testutil.h - what tests share: unique block names, child processes,
 * running commands (the tool, python3) and capturing their output.
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h> as cmocka wants; this
 * header does that itself.
 */
#ifndef SHMBUS_TESTUTIL_H
#define SHMBUS_TESTUTIL_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include <cmocka.h>

#include "shmbus/shmbus.h"

#define TU_SKIP 77

/*
 * tu_name - a block name unique to this test run and process:
 * "sbt_<tag>_<pid>_<what>".  Returns a static buffer that the next 8 calls do
 * not overwrite.
 */
const char *tu_name(const char *what);

/* Unlink every block whose name starts with this run's prefix. */
void tu_cleanup(void);

/* A cmocka setup/teardown that calls tu_cleanup(). */
int tu_teardown(void **state);

/*
 * tu_spawn - fork; the child runs @fn(@arg) and exits with its return value
 * (0 = success).  Returns the child's pid (asserts on failure).
 */
pid_t tu_spawn(int (*fn)(void *), void *arg);

/*
 * tu_wait - reap @pid.  Returns its exit status (0..255), or 1000 + signal
 * number if it was killed by a signal.
 */
int tu_wait(pid_t pid);

/*
 * tu_run - run @argv (argv[0] looked up in PATH) with @input on stdin (may be
 * NULL), capture stdout and stderr (NUL-terminated, malloc'd; pass NULL to
 * discard).  Returns as tu_wait().
 */
int tu_run(const char *const argv[], const char *input, char **out, char **err);

/*
 * tu_cli - run the tool under test with the arguments that follow @err, up
 * to a NULL (at most 14), no input; as tu_run().
 */
int tu_cli(char **out, char **err, ...);
/* Path of the shmbus tool under test, and of python3 (NULL if none). */
const char *tu_tool(void);
const char *tu_python(void);

/*
 * tu_python_with - a python3 that can import @module: tu_python() if it
 * can, else /usr/bin/python3 (where Debian's python3-* packages live), else
 * NULL.
 */
const char *tu_python_with(const char *module);

/*
 * tu_schema_check - validate the JSON document(s) @doc (one, or one per
 * line) against tools/schema/@schema with tests/py/validate_schema.py.
 * Returns 0 if valid, non-zero (and prints why) if not.  Fails the test if
 * no python3 with jsonschema is found: scripts/deps.sh installs one, so a
 * missing validator is a broken setup, not a reason to skip.
 */
int tu_schema_check(const char *schema, const char *doc);

/* The whole file @path, malloc'd (with a NUL after it), its size in
 * *@len (unless @len is NULL); asserts that it can be read. */
char *tu_read_file(const char *path, size_t *len);

/* Whether this build runs under a sanitizer (tests then use smaller loads). */
int tu_sanitized(void);

/*
 * The kill tortures (mp_spsc_kill, mp_mpmc_torture, mp_broadcast) run their
 * short CI mode, or for SHMBUS_TORTURE_SECONDS seconds (scripts/torture.sh)
 * and then print one summary line in a common format:
 *   torture KIND: rounds R kills K messages M lost L duplicates D longest_stall_ms S
 * lost is what the ring counted (each test asserts it matches what went
 * missing), duplicates what was delivered twice (asserted 0); the stall is
 * only printed, never asserted.
 */
struct tu_torture {
	uint64_t rounds, kills, messages, lost, duplicates, stall_ms;
};

/* SHMBUS_TORTURE_SECONDS, or 0 (unset or empty): the short CI mode. */
unsigned tu_torture_seconds(void);
/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t tu_now_ms(void);
/* Raise t->stall_ms to @ms if longer. */
void tu_torture_stall(struct tu_torture *t, uint64_t ms);
/* Print @t's summary line for @kind on stdout. */
void tu_torture_print(const char *kind, const struct tu_torture *t);

#endif
