/*
 * inspect_text.h - the human form of `shmbus inspect`.
 */
#ifndef SHMBUS_TOOL_INSPECT_TEXT_H
#define SHMBUS_TOOL_INSPECT_TEXT_H

#include <stdio.h>

/* Render the snapshot document @text (shmbus_snapshot_json()) as a summary
 * for people.  Returns 0, or -EINVAL if @text is not a JSON object. */
int inspect_print_text(FILE *to, const char *text);

#endif
