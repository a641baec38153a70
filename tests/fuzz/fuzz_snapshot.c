/*
 * fuzz_snapshot.c - libFuzzer target: random bytes as a block, through the
 * snapshot code (every kind's probe/take hooks) and the JSON renderer.
 *
 * The input becomes the whole object (a memfd), so every header field, ring
 * position, record length, slot offset and participant entry is attacker
 * controlled.  Nothing may crash, hang, read out of bounds or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inspect/inspect_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shmbus_snapshot *snap;
	size_t off = 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	if (snapshot_fd(fd, "fuzz", &snap) == 0) {
		char *text = shmbus_snapshot_json(snap, 0);

		if (!text)
			abort(); /* rendering a snapshot that was taken must work */
		free(text);
		shmbus_snapshot_free(snap);
	}
	close(fd);
	return 0;
}
