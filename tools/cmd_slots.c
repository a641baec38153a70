/*
 * cmd_slots.c - slot tables from the shell: `shmbus create slots`,
 * `shmbus get` and `shmbus set`.  Values are JSON in the one form the
 * library's snapshot uses too (shmbus_slot_value_json(); read back by
 * slot_json.c), documented in `shmbus create slots --help`.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "human.h"
#include "slot_json.h"
#include "tool.h"

#define VALUES_HELP \
	"Values are JSON:\n" \
	"  42, -7                 int (64-bit)\n" \
	"  1.5, 1e300, 2.0        float (a number with '.' or an exponent)\n" \
	"  {\"float\": \"nan\"}       float nan, \"inf\", \"-inf\" (or any number)\n" \
	"  true, false            bool\n" \
	"  \"text\"                 str (UTF-8)\n" \
	"  {\"bytes_hex\": \"00ff\"}  bytes, as hex digits (Python: b.hex())\n" \
	"  null                   None\n" \
	"A NUL in a str is written \\u0000, as get prints it.  Python strips trailing\n" \
	"NUL bytes from str and bytes when it reads them, and so do shmbus get and\n" \
	"inspect: \"ab\\u0000\" reads back as \"ab\", \"a\\u0000b\" as itself.\n"

static const struct tool_cmd cmd_create_slots = {
	.name = "create slots",
	.summary = "create a slot table",
	.usage = "usage: shmbus create slots NAME --values JSON [--mode 0600]\n"
		 "       shmbus create slots NAME --values-file PATH|- [--mode 0600]\n\n"
		 "Create a slot table: a list of typed values that Python reads with\n"
		 "  ShareableList(name=NAME)   (then call resource_tracker.unregister(\n"
		 "  sl.shm._name, \"shared_memory\"), or Python unlinks it at exit)\n"
		 "and C with shmbus_slots_attach().  The list's length is fixed; each slot\n"
		 "holds 8 bytes, or for str/bytes 8 * (len / 8 + 1) bytes (len in UTF-8\n"
		 "bytes); a later set may change a slot's type but not exceed that.\n\n"
		 "  --values JSON        a JSON array of values (below)\n"
		 "  --values-file PATH   the array from a file ('-': standard input)\n"
		 "  --mode MODE          permission bits, octal (default 0600)\n\n"
		 VALUES_HELP
		 "In --values only, {\"value\": V, \"capacity\": BYTES} reserves room for a\n"
		 "longer str/bytes later.\n\n"
		 "example: shmbus create slots telemetry --values '[0, 0.0, \"idle\", null]'\n",
};

/* Parse @text or the file @path into an array of values; *@doc keeps the
 * strings alive, *@owned the decoded bytes. */
static int load_values(const char *text, const char *path, json_t **doc,
		       struct shmbus_slot_value **values, void ***owned, size_t *n)
{
	json_error_t err;
	const char *why;
	size_t i;
	int rc;

	/* JSON_ALLOW_NUL: "\u0000" is how get prints a NUL in a str, so
	 * what get prints, create and set take back. */
	if (text)
		*doc = json_loads(text, JSON_ALLOW_NUL, &err);
	else if (strcmp(path, "-") == 0)
		*doc = json_loadf(stdin, JSON_ALLOW_NUL, &err);
	else
		*doc = json_load_file(path, JSON_ALLOW_NUL, &err);
	if (!*doc)
		return tool_usage_error(&cmd_create_slots, "values: %s (line %d)", err.text,
					err.line);
	if (!json_is_array(*doc))
		return tool_usage_error(&cmd_create_slots, "values must be a JSON array");
	*n = json_array_size(*doc);
	*values = calloc(*n ? *n : 1, sizeof(**values));
	*owned = calloc(*n ? *n : 1, sizeof(**owned));
	if (!*values || !*owned)
		return tool_fail(NULL, "cannot read values", -ENOMEM);
	for (i = 0; i < *n; i++) {
		rc = slot_json_parse(json_array_get(*doc, i), true, &(*values)[i], &(*owned)[i],
				     &why);
		if (rc == -ENOMEM)
			return tool_fail(NULL, "cannot read values", rc);
		if (rc)
			return tool_usage_error(&cmd_create_slots, "value %zu: %s", i, why);
	}
	return TOOL_OK;
}

int tool_create_slots(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "values", required_argument, NULL, 'v' },
		{ "values-file", required_argument, NULL, 'f' },
		{ "mode", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *text = NULL, *path = NULL;
	struct shmbus_slot_value *values = NULL;
	struct shmbus_slots *sl;
	void **owned = NULL;
	json_t *doc = NULL;
	uint64_t mode = 0;
	size_t n = 0, i;
	int c, rc;

	while ((c = getopt_long(argc, argv, ":v:f:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'v': text = optarg; break;
		case 'f': path = optarg; break;
		case 'm':
			if (!tool_parse_u64(optarg, 1, 07777, &mode) || optarg[0] != '0')
				return tool_usage_error(&cmd_create_slots,
							"bad --mode '%s' (octal, e.g. 0600)", optarg);
			break;
		case 'h': return tool_help(&cmd_create_slots);
		default: return tool_bad_option(&cmd_create_slots, c, argv);
		}
	}
	if (optind != argc - 1)
		return tool_usage_error(&cmd_create_slots, "expected one block name");
	if (tool_check_name(&cmd_create_slots, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	if (!text == !path)
		return tool_usage_error(&cmd_create_slots,
					"give exactly one of --values and --values-file");
	rc = load_values(text, path, &doc, &values, &owned, &n);
	if (rc == TOOL_OK) {
		int err = shmbus_slots_create(&sl, argv[optind], values, n, (mode_t)mode);

		if (err == -EMSGSIZE)
			fprintf(stderr, "shmbus: %s: cannot create: a slot would exceed %u bytes\n",
				argv[optind], SHMBUS_SLOTS_CAPACITY_MAX);
		rc = err == -EMSGSIZE ? TOOL_ERR
		     : err	      ? tool_fail(argv[optind], "cannot create", err)
				      : TOOL_OK;
		if (!err)
			shmbus_slots_close(sl);
	}
	for (i = 0; owned && i < n; i++)
		free(owned[i]);
	free(owned);
	free(values);
	json_decref(doc);
	return rc;
}

static bool parse_index(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/*
 * Options, then @want operands.  "+" stops at the first non-option, so "-1"
 * after NAME is an index, not an option.  Returns TOOL_OK with *@done set
 * if --help was printed.
 */
static int parse_args(const struct tool_cmd *cmd, int argc, char **argv, int want, bool *done)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		if (c == 'h') {
			*done = true;
			return tool_help(cmd);
		}
		return tool_bad_option(cmd, c, argv);
	}
	if (argc - optind != want)
		return tool_usage_error(cmd, "expected %s", want == 2 ? "NAME INDEX"
									: "NAME INDEX VALUE");
	if (tool_check_name(cmd, argv[optind]) != TOOL_OK)
		return TOOL_USAGE;
	return TOOL_OK;
}

/* Why @name is no slot table we can use, said as such. */
static int attach_error(const char *name, int rc)
{
	return human_fail_kind(name, "cannot attach slot table", rc, HUMAN_LISTS, "a slot table");
}

/* A slot held by a C writer: name it, and say what to do. */
static int writer_error(const struct shmbus_slots *sl, int64_t index, const char *name,
			const char *what, int rc)
{
	struct shmbus_slot_writer w;

	if (shmbus_slots_writer(sl, index, &w) || w.pid == 0)
		return tool_fail(name, what, rc);
	if (rc == -ETIMEDOUT)
		fprintf(stderr, "shmbus: %s: %s %" PRId64 ": timed out after %d ms: C writer pid %d"
				" (%s) is still writing it\n",
			name, what, index, SHMBUS_SLOTS_TIMEOUT_MS, (int)w.pid,
			w.alive ? "alive" : "dead");
	else
		fprintf(stderr, "shmbus: %s: %s %" PRId64 ": C writer pid %d died while writing"
				" it; `shmbus set` (or any read-write attach) repairs it\n",
			name, what, index, (int)w.pid);
	return TOOL_ERR;
}

static int index_error(const struct shmbus_slots *sl, int64_t index, const char *name,
		       const char *what, int rc)
{
	if (rc == -ERANGE) {
		fprintf(stderr, "shmbus: %s: index %" PRId64 " out of range (%zu items)\n", name,
			index, shmbus_slots_len(sl));
		return TOOL_ERR;
	}
	if (rc == -ETIMEDOUT || rc == -SHMBUS_EPEERDEAD)
		return writer_error(sl, index, name, what, rc);
	return tool_fail(name, what, rc);
}

static int run_get(int argc, char **argv)
{
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	const char *name;
	bool done = false;
	int64_t index, cap;
	char *buf = NULL, *text;
	int rc;

	rc = parse_args(&cmd_get, argc, argv, 2, &done);
	if (rc != TOOL_OK || done)
		return rc;
	name = argv[optind];
	if (!parse_index(argv[optind + 1], &index))
		return tool_usage_error(&cmd_get, "bad index '%s'", argv[optind + 1]);
	rc = shmbus_slots_attach(&sl, name, SHMBUS_ATTACH_RDONLY);
	if (rc)
		return attach_error(name, rc);
	cap = shmbus_slots_capacity(sl, index);
	if (cap < 0) {
		rc = index_error(sl, index, name, "cannot read item", (int)cap);
		goto out;
	}
	buf = malloc((size_t)cap + 1);
	if (!buf) {
		rc = tool_fail(name, "cannot read item", -ENOMEM);
		goto out;
	}
	rc = shmbus_slots_get(sl, index, &v, buf, (size_t)cap + 1);
	if (rc) {
		rc = index_error(sl, index, name, "cannot read item", rc);
		goto out;
	}
	rc = shmbus_slot_value_json(&v, &text);
	if (rc) {
		rc = tool_fail(name, "cannot print item", rc);
		goto out;
	}
	puts(text);
	free(text);
	rc = TOOL_OK;
out:
	free(buf);
	shmbus_slots_close(sl);
	return rc;
}

static int run_set(int argc, char **argv)
{
	struct shmbus_slot_value v;
	struct shmbus_slots *sl;
	const char *name, *why;
	bool done = false;
	void *owned = NULL;
	json_error_t err;
	int64_t index;
	json_t *j;
	int rc;

	rc = parse_args(&cmd_set, argc, argv, 3, &done);
	if (rc != TOOL_OK || done)
		return rc;
	name = argv[optind];
	if (!parse_index(argv[optind + 1], &index))
		return tool_usage_error(&cmd_set, "bad index '%s'", argv[optind + 1]);
	j = json_loads(argv[optind + 2], JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (!j)
		return tool_usage_error(&cmd_set, "value: %s", err.text);
	rc = slot_json_parse(j, false, &v, &owned, &why);
	if (rc) {
		json_decref(j);
		return rc == -ENOMEM ? tool_fail(name, "cannot set", rc)
				     : tool_usage_error(&cmd_set, "value: %s", why);
	}
	rc = shmbus_slots_attach(&sl, name, 0);
	if (rc) {
		rc = attach_error(name, rc);
		goto out_json;
	}
	rc = shmbus_slots_set(sl, index, &v);
	if (rc == -EMSGSIZE) {
		fprintf(stderr, "shmbus: %s: value is %zu bytes, slot %" PRId64
				" holds at most %" PRId64 "\n",
			name, v.u.s.len, index, shmbus_slots_capacity(sl, index));
		rc = TOOL_ERR;
	} else if (rc) {
		rc = index_error(sl, index, name, "cannot set item", rc);
	}
	shmbus_slots_close(sl);
out_json:
	free(owned);
	json_decref(j);
	return rc;
}

const struct tool_cmd cmd_get = {
	.name = "get",
	.summary = "print one item of a slot table as JSON",
	.usage = "usage: shmbus get NAME INDEX\n\n"
		 "Print item INDEX of slot table NAME (made by shmbus or by Python's\n"
		 "ShareableList) as one line of JSON.  Negative indices count from the end,\n"
		 "as in Python.  Reads without writing (read-only attach).\n\n" VALUES_HELP,
	.run = run_get,
};

const struct tool_cmd cmd_set = {
	.name = "set",
	.summary = "store one item of a slot table",
	.usage = "usage: shmbus set NAME INDEX VALUE\n\n"
		 "Store JSON VALUE in item INDEX of slot table NAME.  The type may change\n"
		 "(as in Python); a str or bytes longer than the slot's capacity is refused\n"
		 "and nothing changes.  Quote VALUE for the shell: shmbus set t 2 '\"busy\"'\n\n"
		 VALUES_HELP,
	.run = run_set,
};
