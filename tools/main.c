/*
 * main.c - the shmbus command-line tool: dispatch to subcommands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <getopt.h>

#include "human.h"
#include "tool.h"

static const struct tool_cmd *const commands[] = {
	&cmd_ls, &cmd_inspect, &cmd_watch, &cmd_create, &cmd_rm, &cmd_gc,
	&cmd_get, &cmd_set,
	&cmd_pub, &cmd_sub,
	&cmd_metrics, &cmd_serve, &cmd_record, &cmd_replay, &cmd_bridge,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int tool_fail(const char *name, const char *what, int code)
{
	/* ETIMEDOUT's own text is "Connection timed out": no connection here. */
	const char *text = code == -ETIMEDOUT ? "timed out" : shmbus_strerror(code);

	fputs("shmbus: ", stderr);
	if (name) {
		human_print_name(stderr, name);
		fputs(": ", stderr);
	}
	if (what)
		fprintf(stderr, "%s: ", what);
	fprintf(stderr, "%s\n", text);
	return TOOL_ERR;
}

int tool_fail_msg(const char *name, const char *msg)
{
	fputs("shmbus: ", stderr);
	human_print_name(stderr, name);
	fprintf(stderr, ": %s\n", msg);
	return TOOL_ERR;
}

int tool_check_name(const struct tool_cmd *cmd, const char *name)
{
	int rc = shmbus_name_check(name);

	if (rc == 0)
		return TOOL_OK;
	fprintf(stderr, "shmbus %s: bad block name '", cmd->name);
	human_print_name(stderr, name);
	fprintf(stderr, "': %s\n",
		rc == -ENAMETOOLONG ? "longer than 255 bytes"
				    : "a name is 1 to 255 bytes, with no '/' but a leading one");
	fprintf(stderr, "see 'shmbus %s --help'\n", cmd->name);
	return TOOL_USAGE;
}

int tool_usage_error(const struct tool_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmbus %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'shmbus %s --help'\n", cmd->name);
	return TOOL_USAGE;
}

int tool_bad_option(const struct tool_cmd *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return tool_usage_error(cmd, "option '%s' needs a value", arg);
	if (optopt > 0 && optopt < 0x7f && strncmp(arg, "--", 2) != 0)
		return tool_usage_error(cmd, "unknown option '-%c'", optopt);
	return tool_usage_error(cmd, "unknown option '%s'", arg);
}

int tool_help(const struct tool_cmd *cmd)
{
	fputs(cmd->usage, stdout);
	return TOOL_OK;
}

bool tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool tool_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (!tool_parse_u64(s, min, max, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

bool tool_parse_size(const char *s, uint64_t *out)
{
	char buf[32];
	size_t len = s ? strlen(s) : 0;
	unsigned shift = 0;
	uint64_t v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len + 1);
	switch (buf[len - 1]) {
	case 'K': case 'k': shift = 10; break;
	case 'M': case 'm': shift = 20; break;
	case 'G': case 'g': shift = 30; break;
	default: break;
	}
	if (shift)
		buf[len - 1] = '\0';
	if (!tool_parse_u64(buf, 0, UINT64_MAX >> shift, &v))
		return false;
	*out = v << shift;
	return true;
}

static void usage(FILE *to)
{
	size_t i;

	fprintf(to, "usage: shmbus [--version] [--help] COMMAND [ARGS]\n\n"
		    "Named shared memory blocks and lock-free rings.\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(to, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(to, "\n'shmbus COMMAND --help' describes a command.\n"
		    "Exit status: 0 success, 1 error, 2 bad usage.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	opterr = 0; /* one message per bad option: the command's own */
	if (argc < 2) {
		usage(stderr);
		return TOOL_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return TOOL_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("shmbus %s (json schema %d)\n", SHMBUS_VERSION_STRING,
		       SHMBUS_SCHEMA_VERSION);
		return TOOL_OK;
	}
	/* A block truncated under a command gives an error, not SIGBUS. */
	if (shmbus_sigbus_guard_enable() != 0)
		fprintf(stderr, "shmbus: warning: no SIGBUS guard\n");
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	}
	fprintf(stderr, "shmbus: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return TOOL_USAGE;
}
