/*
 * error.c - text for shmbus error codes.
 *
 * strerror() is not thread-safe and strerror_r() comes in two incompatible
 * flavours, so errno text is taken from strerrordesc_np() (glibc >= 2.32),
 * which returns a static string.
 */
#include <string.h>

#include "shmbus/error.h"

static const char *const error_messages[SHMBUS_E_LAST - SHMBUS_E_FIRST] = {
	[SHMBUS_EMAGIC - SHMBUS_E_FIRST] = "not a shmbus block (bad magic)",
	[SHMBUS_EVERSION - SHMBUS_E_FIRST] = "unsupported shmbus layout version",
	[SHMBUS_EKIND - SHMBUS_E_FIRST] = "block is of another kind",
	[SHMBUS_ENOTREADY - SHMBUS_E_FIRST] = "block is still being created",
	[SHMBUS_ETRUNCATED - SHMBUS_E_FIRST] = "block is smaller than its header says (truncated)",
	[SHMBUS_ECORRUPT - SHMBUS_E_FIRST] = "block state is corrupt",
	[SHMBUS_EBYTEORDER - SHMBUS_E_FIRST] = "block was made with another byte order",
	[SHMBUS_EPEERDEAD - SHMBUS_E_FIRST] = "peer process is dead",
	[SHMBUS_EEMPTY - SHMBUS_E_FIRST] = "block is empty (zero length)",
	[SHMBUS_EEOS - SHMBUS_E_FIRST] = "end of stream",
	[SHMBUS_ELAPPED - SHMBUS_E_FIRST] = "message was overwritten while it was read",
	[SHMBUS_ENOTREG - SHMBUS_E_FIRST] =
		"not a regular file (a FIFO, directory, socket or device is never opened)",
	[SHMBUS_ESYMLINK - SHMBUS_E_FIRST] = "is a symbolic link (never followed)",
	[SHMBUS_ESHRUNK - SHMBUS_E_FIRST] =
		"block was truncated while in use (caught SIGBUS); close it and attach again",
	[SHMBUS_EPEERUNKNOWN - SHMBUS_E_FIRST] =
		"role held by a process in another pid namespace: cannot tell if it is alive",
};

const char *shmbus_strerror(int code)
{
	const char *text;

	if (code < 0)
		code = -code;
	if (code == 0)
		return "success";
	if (code >= SHMBUS_E_FIRST && code < SHMBUS_E_LAST)
		return error_messages[code - SHMBUS_E_FIRST];
	text = strerrordesc_np(code);
	return text ? text : "unknown error";
}
