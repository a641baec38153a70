/*
 * test_spsc_util.h - what the SPSC tests share: messages whose length and
 * every byte follow from their sequence number, so a consumer can tell a
 * lost, duplicated, reordered, torn or corrupted message from a good one.
 *
 * Layout of message n (length msg_len(n, max)):
 *   len >= 16: [u64 n][pattern bytes...][u64 FNV-1a of all bytes before it]
 *   len <  16: pattern bytes only (the length and bytes still depend on n)
 */
#ifndef SHMBUS_TEST_SPSC_UTIL_H
#define SHMBUS_TEST_SPSC_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t tsp_mix(uint64_t x)
{
	/* splitmix64 finaliser */
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* Length of message @n: 0..@max, skewed towards small ones. */
static inline size_t tsp_len(uint64_t n, size_t max)
{
	uint64_t h = tsp_mix(n ^ UINT64_C(0x5bd1e995));

	if ((h & 7) == 0)
		return (size_t)((h >> 8) % (max + 1));
	return (size_t)((h >> 8) % ((max < 64 ? max : 64) + 1));
}

static inline uint64_t tsp_fnv(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT64_C(0x100000001b3);
	return h;
}

/* Write message @n of @len bytes into @buf. */
static inline void tsp_fill(unsigned char *buf, uint64_t n, size_t len)
{
	uint64_t h = tsp_mix(n), sum;
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((h >> (i % 8 * 8)) ^ i);
	if (len >= 16) {
		memcpy(buf, &n, 8);
		sum = tsp_fnv(buf, len - 8);
		memcpy(buf + len - 8, &sum, 8);
	}
}

/* Whether @buf (@len bytes) is exactly message @n of a stream whose lengths
 * come from tsp_len(., @max) (pass @max = 0 to skip the length check). */
static inline bool tsp_check(const unsigned char *buf, size_t len, uint64_t n, size_t max)
{
	uint64_t h = tsp_mix(n), v;
	size_t i;

	if (max && len != tsp_len(n, max))
		return false;
	if (len >= 16) {
		memcpy(&v, buf, 8);
		if (v != n)
			return false;
		memcpy(&v, buf + len - 8, 8);
		if (v != tsp_fnv(buf, len - 8))
			return false;
		for (i = 8; i < len - 8; i++)
			if (buf[i] != (unsigned char)((h >> (i % 8 * 8)) ^ i))
				return false;
		return true;
	}
	for (i = 0; i < len; i++)
		if (buf[i] != (unsigned char)((h >> (i % 8 * 8)) ^ i))
			return false;
	return true;
}

#endif
