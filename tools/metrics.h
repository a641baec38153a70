/*
 * metrics.h - blocks' counters and gauges in the Prometheus text exposition
 * format (version 0.0.4, with OpenMetrics-compatible names), for `shmbus
 * metrics` (cmd_metrics.c) and `shmbus serve` (cmd_serve.c).
 *
 * A rendering is one set of snapshots (shmbus_snapshot_take(): read-only,
 * never joining a ring), taken when it is called; the families, their names
 * and labels are documented in `shmbus metrics --help` and the README.
 */
#ifndef SHMBUS_TOOL_METRICS_H
#define SHMBUS_TOOL_METRICS_H

#include <stddef.h>
#include <stdio.h>

/* The Content-Type of what metrics_render() writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * metrics_render - write the metrics of blocks to @out.
 * @names, @count: the blocks to show; with @count 0, every block in
 *                 /dev/shm whose name starts with @prefix (NULL: all).
 * A named block that cannot be read is shown with shmbus_block_up 0 and
 * counted in *@failed (and reported on @warn if not NULL); a listed block
 * that vanished before its snapshot is left out.
 * Returns 0, or -ENOMEM / an error of listing /dev/shm (then nothing is
 * written).
 */
int metrics_render(FILE *out, char *const *names, size_t count, const char *prefix,
		   FILE *warn, size_t *failed);

#endif
