/*
 * errors.c - library codes to Python exceptions, in one table.
 *
 * Every failure of a library call raises a subclass of shmbus.Error (itself
 * an OSError: .errno is the positive code, .strerror the library's text from
 * shmbus_strerror(), .filename the block's name, .code the negative value
 * the C call returned).  Codes errno has a Python word for raise a class
 * that is both (shmbus.NotFoundError is a FileNotFoundError, ...), so either
 * `except FileNotFoundError` or `except shmbus.Error` catches it.  The end of
 * a stream is not an error: it is the builtin EOFError.
 */
#include "pyshmbus.h"

#include <errno.h>

#include <shmbus/error.h>

struct exc_def {
	const char *name;      /* attribute of the module */
	const char *builtin;   /* a builtin second base, or NULL */
	const char *doc;
	PyObject *type;
};

/* Index 0 is shmbus.Error itself. */
static struct exc_def excs[] = {
	{ "Error", "OSError", "Base of every shmbus failure (an OSError: errno, strerror, "
	  "filename, and code, the negative value the C call returned).", NULL },
	{ "NotFoundError", "FileNotFoundError", "No block of that name (ENOENT).", NULL },
	{ "ExistsError", "FileExistsError", "A block of that name exists (EEXIST).", NULL },
	{ "AccessError", "PermissionError", "Permission denied (EACCES, EPERM).", NULL },
	{ "TimeoutError", "TimeoutError", "The wait ran out (ETIMEDOUT).", NULL },
	{ "InvalidError", "ValueError", "An argument the library refused (EINVAL).", NULL },
	{ "MessageSizeError", "ValueError", "A message longer than the ring takes, or than "
	  "the buffer given (EMSGSIZE).", NULL },
	{ "StreamClosedError", "BrokenPipeError", "Sending on a stream that was closed "
	  "(EPIPE): see reopen_stream().", NULL },
	{ "BusyError", NULL, "The role is held by a live process, or the participant "
	  "table is full (EBUSY, EUSERS, ENOSPC).", NULL },
	{ "FormatError", NULL, "Not a shmbus block of a layout this build reads (magic, "
	  "version, byte order, truncated).", NULL },
	{ "KindError", NULL, "The block holds another kind than asked for.", NULL },
	{ "NotReadyError", NULL, "The block is still being built by its creator.", NULL },
	{ "CorruptError", NULL, "State inside the block is inconsistent: the ring "
	  "cannot be used any more (recreate it).", NULL },
	{ "LappedError", NULL, "Lossy broadcast: the message read in place was "
	  "overwritten meanwhile; what was read is garbage.", NULL },
	{ "ForkError", NULL, "A handle opened before fork() used in the child: open "
	  "the ring again in the child.", NULL },
};

enum { EXC_ERROR, EXC_NOTFOUND, EXC_EXISTS, EXC_ACCESS, EXC_TIMEOUT, EXC_INVALID,
       EXC_MSGSIZE, EXC_PIPE, EXC_BUSY, EXC_FORMAT, EXC_KIND, EXC_NOTREADY,
       EXC_CORRUPT, EXC_LAPPED, EXC_FORK, EXC_N };

static int exc_index(int code)
{
	switch (-code) {
	case ENOENT: return EXC_NOTFOUND;
	case EEXIST: return EXC_EXISTS;
	case EACCES: case EPERM: case EROFS: return EXC_ACCESS;
	case ETIMEDOUT: case EAGAIN: return EXC_TIMEOUT;
	case EINVAL: case ENAMETOOLONG: case ERANGE: return EXC_INVALID;
	case EMSGSIZE: return EXC_MSGSIZE;
	case EPIPE: return EXC_PIPE;
	case EBUSY: case EUSERS: case ENOSPC: case ENOBUFS: return EXC_BUSY;
	case SHMBUS_EMAGIC: case SHMBUS_EVERSION: case SHMBUS_EBYTEORDER:
	case SHMBUS_ETRUNCATED: case SHMBUS_EEMPTY: return EXC_FORMAT;
	case SHMBUS_EKIND: return EXC_KIND;
	case SHMBUS_ENOTREADY: return EXC_NOTREADY;
	case SHMBUS_ECORRUPT: return EXC_CORRUPT;
	case SHMBUS_ELAPPED: return EXC_LAPPED;
	default: return EXC_ERROR;
	}
}

int pyshmbus_errors_init(PyObject *module)
{
	PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
	for (int i = 0; i < EXC_N; i++) {
		PyObject *bases;
		PyObject *b = excs[i].builtin ? PyDict_GetItemString(builtins, excs[i].builtin)
					      : NULL;
		if (excs[i].builtin && !b) {
			PyErr_Format(PyExc_RuntimeError, "no builtin %s", excs[i].builtin);
			return -1;
		}
		if (i == EXC_ERROR)
			bases = PyTuple_Pack(1, b);
		else if (b)
			bases = PyTuple_Pack(2, excs[EXC_ERROR].type, b);
		else
			bases = PyTuple_Pack(1, excs[EXC_ERROR].type);
		if (!bases)
			return -1;
		char qual[64];
		PyOS_snprintf(qual, sizeof qual, "shmbus.%s", excs[i].name);
		excs[i].type = PyErr_NewExceptionWithDoc(qual, excs[i].doc, bases, NULL);
		Py_DECREF(bases);
		if (!excs[i].type)
			return -1;
		Py_INCREF(excs[i].type);
		if (PyModule_AddObject(module, excs[i].name, excs[i].type) < 0) {
			Py_DECREF(excs[i].type);
			return -1;
		}
	}
	return 0;
}

PyObject *pyshmbus_raise(int code, PyObject *name)
{
	if (code == PYSHMBUS_EPY)
		return NULL;
	if (code == -SHMBUS_EEOS) {
		PyErr_SetString(PyExc_EOFError, "end of stream");
		return NULL;
	}
	PyObject *type = excs[exc_index(code)].type;
	PyObject *exc = name ? PyObject_CallFunction(type, "isO", -code, shmbus_strerror(code), name)
			     : PyObject_CallFunction(type, "is", -code, shmbus_strerror(code));
	if (!exc)
		return NULL;
	PyObject *c = PyLong_FromLong(code);
	if (!c || PyObject_SetAttrString(exc, "code", c) < 0) {
		Py_XDECREF(c);
		Py_DECREF(exc);
		return NULL;
	}
	Py_DECREF(c);
	PyErr_SetObject(type, exc);
	Py_DECREF(exc);
	return NULL;
}

PyObject *pyshmbus_raise_fork(void)
{
	PyErr_SetString(excs[EXC_FORK].type,
			"this handle was opened before fork(): the child must open its own");
	return NULL;
}
