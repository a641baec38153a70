/*
 * readme_spsc.c - the README's SPSC snippet, as a whole program: a producer
 * process reserves room in the ring, writes a message in place and commits
 * it; a consumer process reads it in place and releases it.  The regions
 * between the README markers are what the README shows (tests/readme_check.py).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmbus/shmbus.h>

static int produce(void)
{
	/* README:begin spsc */
	/* producer process */
	struct shmbus_spsc *tx;
	int rc = shmbus_spsc_open(&tx, "readme_events", SHMBUS_SPSC_PRODUCER);
	if (rc)                                  /* -EBUSY: a live producer exists */
		return rc;
	void *area;
	rc = shmbus_spsc_reserve(tx, 64, &area, 100);   /* contiguous, 8-byte aligned */
	if (rc == 0) {
		int n = snprintf(area, 64, "tick %d", 42);
		rc = shmbus_spsc_commit(tx, (size_t)n); /* committing less is allowed */
	}
	shmbus_spsc_close(tx);
	/* README:end */
	return rc;
}

static int consume(void)
{
	/* README:begin spsc */
	/* consumer process */
	struct shmbus_spsc *rx;
	const void *msg;
	size_t len;
	int rc = shmbus_spsc_open(&rx, "readme_events", SHMBUS_SPSC_CONSUMER);
	if (rc)
		return rc;
	rc = shmbus_spsc_peek(rx, &msg, &len, -1);     /* in place, no copy; waits */
	if (rc == 0) {
		printf("%.*s\n", (int)len, (const char *)msg);
		rc = shmbus_spsc_release(rx);
	}
	shmbus_spsc_close(rx);
	/* README:end */
	return rc;
}

int main(void)
{
	int rc, status;
	pid_t child;

	/* README:begin spsc-create */
	rc = shmbus_spsc_create("readme_events", 1 << 20, 0);  /* capacity: a power of two */
	/* README:end */
	if (rc) {
		fprintf(stderr, "readme_events: %s\n", shmbus_strerror(rc));
		return 1;
	}
	child = fork();
	if (child == 0) {
		rc = consume();
		fflush(stdout);         /* _exit() does not flush stdio */
		_exit(rc ? 1 : 0);
	}
	rc = child < 0 ? -1 : produce();
	if (rc > 0 || rc < -1)
		fprintf(stderr, "producer: %s\n", shmbus_strerror(rc));
	if (child > 0 && (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
			  WEXITSTATUS(status) != 0))
		rc = -1;
	if (shmbus_block_unlink("readme_events"))
		rc = -1;
	return rc ? 1 : 0;
}
