/*
 * readme_block.c - the README's "named blocks" snippet, as a whole program:
 * create a block, write to it, attach it read-only, read it back, unlink it.
 * The region between the README markers is what the README shows, checked
 * word for word by tests/readme_check.py.
 */
#include <stdio.h>
#include <string.h>

#include <shmbus/shmbus.h>

int main(void)
{
	/* README:begin block */
	struct shmbus_block *b;
	int rc = shmbus_block_create(&b, "readme_scratch", 1 << 20, 0);  /* 0: mode 0600 */
	if (rc) {
		fprintf(stderr, "readme_scratch: %s\n", shmbus_strerror(rc));
		return 1;
	}
	void *p;
	if (shmbus_block_data(b, &p) == 0)      /* -EROFS on a read-only handle */
		memcpy(p, "hello", 6);
	shmbus_block_close(b);                  /* detach; the block stays */

	rc = shmbus_block_attach(&b, "readme_scratch", SHMBUS_ATTACH_RDONLY);  /* any process */
	if (rc == 0) {
		puts(shmbus_block_cdata(b));    /* hello */
		shmbus_block_close(b);
	}
	if (shmbus_block_unlink("readme_scratch"))      /* destroy the name */
		rc = -1;
	/* README:end */
	return rc ? 1 : 0;
}
