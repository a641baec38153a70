/*
 * text.h - JSON documents laid out for people ("key: value", nested by
 * indentation), so text output shows exactly the data --json shows.
 */
#ifndef SHMBUS_TOOL_TEXT_H
#define SHMBUS_TOOL_TEXT_H

#include <stdio.h>

/* Render JSON @text to @to.  Returns 0 or -EINVAL if @text is not JSON. */
int text_print_json(FILE *to, const char *text);

#endif
