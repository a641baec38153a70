/*
 * text.h - JSON documents laid out for people ("key: value", nested by
 * indentation), so text output shows exactly the data --json shows; and
 * names as JSON, however they are spelled.
 */
#ifndef SHMBUS_TOOL_TEXT_H
#define SHMBUS_TOOL_TEXT_H

#include <stdio.h>

#include <jansson.h>

/* Render the JSON value @v to @to, indented by @depth levels. */
void text_print_value(FILE *to, json_t *v, int depth);

/* Render JSON @text to @to.  Returns 0 or -EINVAL if @text is not JSON. */
int text_print_json(FILE *to, const char *text);

/* A JSON string of the block name @name, whatever its bytes, shown as
 * snapshots show names (shmbus_name_utf8()).  NULL on out-of-memory. */
json_t *text_name_json(const char *name);

#endif
