/*
 * harness_stats.c - time, page pre-faulting, percentiles and medians.
 *
 * Percentiles are nearest-rank (the smallest sample such that at least q·n
 * samples are <= it), so every reported value is a latency that was really
 * observed, never an interpolation between two.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	/* CLOCK_MONOTONIC is served by the vDSO (no syscall) with the tsc
	 * clocksource; it cannot fail with a valid clock id. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_prefault(void *p, size_t n, bool write)
{
	volatile unsigned char *c = p; /* volatile: the reads must happen */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t i;

	for (i = 0; i < n; i += page) {
		if (write)
			c[i] = c[i];
		else
			(void)c[i];
	}
	if (n) {
		if (write)
			c[n - 1] = c[n - 1];
		else
			(void)c[n - 1];
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank of quantile q (0 < q <= 1) in n sorted samples. */
static size_t rank_of(double q, size_t n)
{
	size_t r = (size_t)ceil(q * (double)n);

	return r == 0 ? 0 : r - 1;
}

void bench_lat_compute(uint64_t *samples, size_t n, struct bench_lat *out)
{
	long double sum = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return;
	qsort(samples, n, sizeof(*samples), cmp_u64);
	for (i = 0; i < n; i++)
		sum += samples[i];
	out->min_ns = samples[0];
	out->p50_ns = samples[rank_of(0.50, n)];
	out->p99_ns = samples[rank_of(0.99, n)];
	out->p999_ns = samples[rank_of(0.999, n)];
	out->max_ns = samples[n - 1];
	out->mean_ns = (double)(sum / n);
}

double bench_median(const double *v, size_t n)
{
	double c[BENCH_MAX_REPEAT];

	if (n == 0)
		return 0;
	if (n > BENCH_MAX_REPEAT)
		n = BENCH_MAX_REPEAT;
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}
