/*
 * readme_mpmc.c - the README's MPMC snippet, as a whole program: producers
 * and consumers are separate handles (a handle has one role), here two
 * processes.  The regions between the README markers are what the README
 * shows (tests/readme_check.py).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmbus/shmbus.h>

static int produce(void)
{
	/* README:begin mpmc */
	struct shmbus_mpmc *tx;                 /* in any number of producer processes */
	int rc = shmbus_mpmc_open(&tx, "readme_jobs", SHMBUS_MPMC_PRODUCER);
	if (rc == 0) {
		rc = shmbus_mpmc_push(tx, "job 1", 5, 1000);    /* waits up to 1 s for a slot */
		shmbus_mpmc_close(tx);
	}
	/* README:end */
	return rc;
}

static int consume(void)
{
	/* README:begin mpmc */
	struct shmbus_mpmc *rx;                 /* in any number of consumer processes */
	char buf[256];
	int n = shmbus_mpmc_open(&rx, "readme_jobs", SHMBUS_MPMC_CONSUMER);
	if (n == 0) {
		n = shmbus_mpmc_pop(rx, buf, sizeof(buf), 1000); /* length, or a negative code */
		if (n >= 0)
			printf("%.*s\n", n, buf);
		shmbus_mpmc_close(rx);
	}
	/* README:end */
	return n < 0 ? n : 0;
}

int main(void)
{
	int rc, status;
	pid_t child;

	/* README:begin mpmc-create */
	struct shmbus_mpmc_params params = { .slots = 1024, .slot_size = 256, .liveness_ms = 200 };
	rc = shmbus_mpmc_create("readme_jobs", &params);
	/* README:end */
	if (rc) {
		fprintf(stderr, "readme_jobs: %s\n", shmbus_strerror(rc));
		return 1;
	}
	child = fork();
	if (child == 0) {
		rc = consume();
		fflush(stdout);         /* _exit() does not flush stdio */
		_exit(rc ? 1 : 0);
	}
	rc = child < 0 ? -1 : produce();
	if (rc < -1)
		fprintf(stderr, "producer: %s\n", shmbus_strerror(rc));
	if (child > 0 && (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
			  WEXITSTATUS(status) != 0))
		rc = -1;
	if (shmbus_block_unlink("readme_jobs"))
		rc = -1;
	return rc ? 1 : 0;
}
