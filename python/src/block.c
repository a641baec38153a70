/*
 * block.c - shmbus._shmbus.Block, the core of shmbus.SharedBlock: a named
 * block with the attributes of multiprocessing.shared_memory.SharedMemory
 * (name, size, buf, close(), unlink()).
 *
 * Unlike SharedMemory it registers nothing with multiprocessing's resource
 * tracker: a block is unlinked when someone calls unlink(), never behind
 * the program's back when the creating process exits, and no "leaked
 * shared_memory" warning is printed for a block meant to outlive it.
 *
 * Memory safety: buf is a memoryview over the mapping; the mapping is
 * unmapped by close() only when no buffer over it is left (BufferError
 * otherwise, as SharedMemory does).  A forked child may read and write the
 * inherited buf (the mapping is shared), but its close() only drops the
 * view: the library's handle belongs to the parent.
 */
#include "pyshmbus.h"

#include <shmbus/block.h>

typedef struct {
	PyObject_HEAD
	struct shmbus_block *b;
	unsigned long fork_gen;
	Py_ssize_t exports;
	PyObject *name;
	PyObject *buf;      /* the memoryview, made once */
	Py_ssize_t size;
	PyObject *weakrefs;
} BlockObject;

static int block_init(BlockObject *o, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name", "create", "size", "mode", NULL };
	PyObject *name = Py_None, *bytes = NULL;
	int create = 0;
	Py_ssize_t size = 0;
	unsigned mode = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OpnI", kwlist, &name, &create, &size, &mode))
		return -1;
	if (o->b) {
		PyErr_SetString(PyExc_RuntimeError, "block already open");
		return -1;
	}
	if (size < 0) {
		PyErr_SetString(PyExc_ValueError, "'size' must be a positive integer");
		return -1;
	}
	if (create && size == 0) {
		PyErr_SetString(PyExc_ValueError,
				"'size' must be a positive number different from zero");
		return -1;
	}
	if (!create && name == Py_None) {
		PyErr_SetString(PyExc_ValueError, "'name' can only be None if create=True");
		return -1;
	}
	if (name != Py_None && !PyUnicode_FSConverter(name, &bytes))
		return -1;
	const char *cname = bytes ? PyBytes_AS_STRING(bytes) : NULL;
	int rc = create ? shmbus_block_create(&o->b, cname, (size_t)size, mode)
			: shmbus_block_attach(&o->b, cname, 0);
	Py_XDECREF(bytes);
	if (rc < 0) {
		pyshmbus_raise(rc, name == Py_None ? NULL : name);
		return -1;
	}
	o->fork_gen = pyshmbus_fork_gen;
	o->size = (Py_ssize_t)shmbus_block_size(o->b);
	o->name = PyUnicode_DecodeFSDefault(shmbus_block_name(o->b));
	if (!o->name)
		return -1;
	return 0;
}

static int block_getbuffer(BlockObject *o, Py_buffer *view, int flags)
{
	if (!o->b) {
		PyErr_SetString(PyExc_BufferError, "the block is closed");
		return -1;
	}
	void *data;
	if (shmbus_block_data(o->b, &data) < 0) {
		PyErr_SetString(PyExc_BufferError, "the block is mapped read-only");
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)o, data, o->size, 0, flags) < 0)
		return -1;
	o->exports++;
	return 0;
}

static void block_releasebuffer(BlockObject *o, Py_buffer *view)
{
	(void)view;
	o->exports--;
}

static PyBufferProcs block_as_buffer = {
	.bf_getbuffer = (getbufferproc)block_getbuffer,
	.bf_releasebuffer = (releasebufferproc)block_releasebuffer,
};

static PyObject *block_close(BlockObject *o, PyObject *unused)
{
	(void)unused;
	if (o->buf) {
		PyObject *res = PyObject_CallMethod(o->buf, "release", NULL);
		if (!res)
			return NULL; /* BufferError: exports of buf remain */
		Py_DECREF(res);
		Py_CLEAR(o->buf);
	}
	if (o->exports > 0) {
		PyErr_SetString(PyExc_BufferError,
				"cannot close exported pointers exist");
		return NULL;
	}
	if (o->b && o->fork_gen == pyshmbus_fork_gen)
		shmbus_block_close(o->b);
	o->b = NULL;
	Py_RETURN_NONE;
}

static PyObject *block_unlink(BlockObject *o, PyObject *unused)
{
	(void)unused;
	PyObject *bytes;
	if (!o->name) {
		PyErr_SetString(PyExc_ValueError, "block never opened");
		return NULL;
	}
	if (!PyUnicode_FSConverter(o->name, &bytes))
		return NULL;
	int rc = shmbus_block_unlink(PyBytes_AS_STRING(bytes));
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, o->name);
	Py_RETURN_NONE;
}

static PyObject *block_get_buf(BlockObject *o, void *unused)
{
	(void)unused;
	if (!o->b)
		Py_RETURN_NONE; /* as SharedMemory.buf after close() */
	if (!o->buf)
		o->buf = PyMemoryView_FromObject((PyObject *)o);
	return Py_XNewRef(o->buf);
}

static PyObject *block_get_name(BlockObject *o, void *unused)
{
	(void)unused;
	return Py_NewRef(o->name ? o->name : Py_None);
}

static PyObject *block_get_size(BlockObject *o, void *unused)
{
	(void)unused;
	return PyLong_FromSsize_t(o->size);
}

/* buf and the block hold each other (a memoryview holds its exporter):
 * the cycle is the garbage collector's. */
static int block_traverse(BlockObject *o, visitproc visit, void *arg)
{
	Py_VISIT(o->buf);
	return 0;
}

static int block_clear(BlockObject *o)
{
	Py_CLEAR(o->buf);
	return 0;
}

static void block_dealloc(BlockObject *o)
{
	PyObject_GC_UnTrack(o);
	if (o->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)o);
	/* o->buf holds us while it lives, so no buffer is left here. */
	Py_XDECREF(o->buf);
	if (o->b && o->fork_gen == pyshmbus_fork_gen)
		shmbus_block_close(o->b);
	Py_XDECREF(o->name);
	Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyMethodDef block_methods[] = {
	{ "close", (PyCFunction)block_close, METH_NOARGS,
	  "close()\n--\n\nDetach (the block stays; see unlink()).  BufferError while a "
	  "buffer made from buf is alive." },
	{ "unlink", (PyCFunction)block_unlink, METH_NOARGS,
	  "unlink()\n--\n\nRemove the block's name; it goes when the last user detaches." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef block_getset[] = {
	{ "buf", (getter)block_get_buf, NULL, "A memoryview of the block's bytes.", NULL },
	{ "name", (getter)block_get_name, NULL, "The block's name (no leading '/').", NULL },
	{ "size", (getter)block_get_size, NULL, "Size in bytes.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject pyshmbus_block_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "shmbus._shmbus.Block",
	.tp_basicsize = sizeof(BlockObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	.tp_traverse = (traverseproc)block_traverse,
	.tp_clear = (inquiry)block_clear,
	.tp_doc = "Block(name=None, create=False, size=0, mode=0): a named shared memory block.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)block_init,
	.tp_dealloc = (destructor)block_dealloc,
	.tp_as_buffer = &block_as_buffer,
	.tp_methods = block_methods,
	.tp_getset = block_getset,
	.tp_weaklistoffset = offsetof(BlockObject, weakrefs),
};
