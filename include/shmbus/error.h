/*
 * shmbus/error.h - the one error convention of libshmbus.
 *
 * Every call returns 0 (or a count) on success and a negative code on failure:
 * either -errno (-EINVAL, -ENOENT, -EEXIST, ...) or one of the -SHMBUS_E* codes
 * below, which name failures errno has no word for.  The library never relies
 * on the global errno.  shmbus_strerror() turns either kind into text.
 */
#ifndef SHMBUS_ERROR_H
#define SHMBUS_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SHMBUS_API __attribute__((visibility("default")))
#define SHMBUS_MUST_CHECK __attribute__((warn_unused_result))
#else
#define SHMBUS_API
#define SHMBUS_MUST_CHECK
#endif

/*
 * shmbus-specific codes.  They start well above every errno value so the two
 * spaces never overlap.  Returned negated, like errno codes.
 */
enum shmbus_errcode {
	SHMBUS_E_FIRST = 4096,
	SHMBUS_EMAGIC = SHMBUS_E_FIRST, /* not a shmbus block (wrong magic) */
	SHMBUS_EVERSION,                /* layout version this build does not know */
	SHMBUS_EKIND,                   /* block is of another kind than asked for */
	SHMBUS_ENOTREADY,               /* block is still being built by its creator */
	SHMBUS_ETRUNCATED,              /* object is smaller than its header says */
	SHMBUS_ECORRUPT,                /* state inside the block is inconsistent */
	SHMBUS_EBYTEORDER,              /* block was laid out with another byte order */
	SHMBUS_EPEERDEAD,               /* the peer this call waits for is dead */
	SHMBUS_EEMPTY,                  /* object has zero length: nothing to map */
	SHMBUS_EEOS,                    /* end of stream: the producer closed it and every
					 * message before the close has been consumed */
	SHMBUS_ELAPPED,                 /* lossy ring: the message was overwritten by the
					 * producer while it was being read; discard it */
	SHMBUS_ENOTREG,                 /* the name is not a regular file: a FIFO,
					 * directory, socket or device */
	SHMBUS_ESYMLINK,                /* the name is a symbolic link (never followed) */
	SHMBUS_ESHRUNK,                 /* the object was truncated while this process had it
					 * mapped (SIGBUS guard, shmbus/guard.h): close the
					 * handle; attach again once the block is rebuilt */
	SHMBUS_EPEERUNKNOWN,            /* the peer holding the role lives in another pid
					 * namespace (or /proc does not match ours): whether
					 * it is alive cannot be told, so it is not replaced */
	SHMBUS_E_LAST
};

/*
 * shmbus_strerror - text for a code returned by any shmbus call.
 * @code: a negative (or positive) errno or SHMBUS_E* value.
 * Returns a static string; never NULL.  Thread-safe.
 */
SHMBUS_API const char *shmbus_strerror(int code);

#ifdef __cplusplus
}
#endif
#endif /* SHMBUS_ERROR_H */
