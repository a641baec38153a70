/*
 * tool.h - what the shmbus subcommands share: the command table, exit codes,
 * error printing, number parsing.
 *
 * Exit status: 0 success, 1 error (printed to stderr with the name involved),
 * 2 bad usage.
 */
#ifndef SHMBUS_TOOL_H
#define SHMBUS_TOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "shmbus/shmbus.h"

enum { TOOL_OK = 0, TOOL_ERR = 1, TOOL_USAGE = 2 };

struct tool_cmd {
	const char *name;
	const char *summary;   /* one line for `shmbus --help` */
	const char *usage;     /* full text for `shmbus CMD --help` */
	int (*run)(int argc, char **argv);
};

/* Every command, in the order `shmbus --help` lists them. */
extern const struct tool_cmd cmd_ls, cmd_inspect, cmd_watch, cmd_create, cmd_rm, cmd_gc;
extern const struct tool_cmd cmd_get, cmd_set; /* cmd_slots.c */
/* `shmbus create slots ...` (cmd_slots.c), dispatched from cmd_create.c. */
int tool_create_slots(int argc, char **argv);

/* `shmbus pub`, `shmbus sub` (cmd_pubsub.c); `shmbus create spsc` (cmd_spsc.c). */
extern const struct tool_cmd cmd_pub, cmd_sub;
int tool_create_spsc(int argc, char **argv);
/* `shmbus create mpmc` (cmd_mpmc.c). */
int tool_create_mpmc(int argc, char **argv);
/* `shmbus create broadcast` (cmd_bcast.c). */
int tool_create_bcast(int argc, char **argv);
/* `shmbus metrics` (cmd_metrics.c), `shmbus serve` (cmd_serve.c),
 * `shmbus record`, `shmbus replay` (cmd_record.c). */
extern const struct tool_cmd cmd_metrics, cmd_serve, cmd_record, cmd_replay;

/* `shmbus bridge` (cmd_bridge.c, tools/bridge/). */
extern const struct tool_cmd cmd_bridge;

/* "shmbus: NAME: what: text of code" on stderr (NAME escaped, "timed out"
 * for -ETIMEDOUT; @name and @what may be NULL); returns TOOL_ERR. */
int tool_fail(const char *name, const char *what, int code);
/* "shmbus: NAME: msg" on stderr (NAME escaped); returns TOOL_ERR. */
int tool_fail_msg(const char *name, const char *msg);
/* TOOL_OK if @name is a valid block name, else a usage error naming it
 * (a bad name is bad usage: exit status 2). */
int tool_check_name(const struct tool_cmd *cmd, const char *name);
/* "shmbus CMD: message" + "see shmbus CMD --help" on stderr; returns TOOL_USAGE. */
int tool_usage_error(const struct tool_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* For getopt_long()'s '?' or ':' (@c): "unknown option '--x'" or "option
 * '--x' needs a value", as tool_usage_error(); returns TOOL_USAGE. */
int tool_bad_option(const struct tool_cmd *cmd, int c, char **argv);
/* Print the command's usage to stdout; returns TOOL_OK. */
int tool_help(const struct tool_cmd *cmd);

/* Parse a whole decimal (or 0x hex) number in [min, max]; false if not. */
bool tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* The same for a uint32_t. */
bool tool_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
/* Parse a size with optional K/M/G suffix (powers of 1024). */
bool tool_parse_size(const char *s, uint64_t *out);

#endif
