/*
 * manager.c - shmbus._shmbus.Manager, the core of shmbus.Manager: a
 * lifecycle manager (shmbus/manager.h) whose guardian process unlinks the
 * blocks it lists at shutdown or when this process dies, SIGKILL included.
 *
 * The create_* methods make a block already listed (no window in which a
 * crash leaves it unlisted), detach, and return its name; the Python class
 * attaches it with the matching type.  In a forked child the library refuses
 * every call (-EPERM, raised as AccessError) and dealloc only frees the
 * child's copy.
 */
#include "pyshmbus.h"

#include <shmbus/block.h>
#include <shmbus/manager.h>
#include <shmbus/mpmc.h>

typedef struct {
	PyObject_HEAD
	struct shmbus_manager *m;
} ManagerObject;

static int manager_init(ManagerObject *o, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name", "capacity", NULL };
	PyObject *name = Py_None, *bytes = NULL;
	unsigned capacity = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OI", kwlist, &name, &capacity))
		return -1;
	if (o->m) {
		PyErr_SetString(PyExc_RuntimeError, "manager already started");
		return -1;
	}
	if (name != Py_None && !PyUnicode_FSConverter(name, &bytes))
		return -1;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = shmbus_manager_start(&o->m, bytes ? PyBytes_AS_STRING(bytes) : NULL, capacity);
	Py_END_ALLOW_THREADS
	Py_XDECREF(bytes);
	if (rc < 0) {
		o->m = NULL;
		pyshmbus_raise(rc, name == Py_None ? NULL : name);
		return -1;
	}
	return 0;
}

static void manager_dealloc(ManagerObject *o)
{
	shmbus_manager_free(o->m); /* shuts down in the starting process only */
	Py_TYPE(o)->tp_free((PyObject *)o);
}

static int started(ManagerObject *o)
{
	if (!o->m) {
		PyErr_SetString(PyExc_ValueError, "manager not started");
		return -1;
	}
	return 0;
}

/* A name argument: NULL (Python None) allowed where @allow_none. */
static int name_arg(PyObject *name, PyObject **bytes, int allow_none)
{
	*bytes = NULL;
	if (name == Py_None) {
		if (allow_none)
			return 0;
		PyErr_SetString(PyExc_ValueError, "a name is needed");
		return -1;
	}
	return PyUnicode_FSConverter(name, bytes) ? 0 : -1;
}

static PyObject *manager_create_block(ManagerObject *o, PyObject *args)
{
	PyObject *name, *bytes;
	Py_ssize_t size;
	if (!PyArg_ParseTuple(args, "On", &name, &size) || started(o) < 0 ||
	    name_arg(name, &bytes, 1) < 0)
		return NULL;
	if (size <= 0) {
		Py_XDECREF(bytes);
		PyErr_SetString(PyExc_ValueError, "size must be > 0");
		return NULL;
	}
	struct shmbus_block *b;
	int rc = shmbus_manager_create_block(o->m, bytes ? PyBytes_AS_STRING(bytes) : NULL,
					     (size_t)size, 0, &b);
	Py_XDECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, name == Py_None ? NULL : name);
	PyObject *r = PyUnicode_DecodeFSDefault(shmbus_block_name(b));
	shmbus_block_close(b);
	return r;
}

static PyObject *manager_create_spsc(ManagerObject *o, PyObject *args)
{
	PyObject *name, *bytes;
	unsigned long long capacity;
	if (!PyArg_ParseTuple(args, "OK", &name, &capacity) || started(o) < 0 ||
	    name_arg(name, &bytes, 0) < 0)
		return NULL;
	int rc = shmbus_manager_create_spsc(o->m, PyBytes_AS_STRING(bytes), capacity, 0);
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, name);
	return Py_NewRef(name);
}

static PyObject *manager_create_mpmc(ManagerObject *o, PyObject *args)
{
	PyObject *name, *bytes;
	struct shmbus_mpmc_params p = { 0 };
	if (!PyArg_ParseTuple(args, "OII", &name, &p.slots, &p.slot_size) || started(o) < 0 ||
	    name_arg(name, &bytes, 0) < 0)
		return NULL;
	int rc = shmbus_manager_create_mpmc(o->m, PyBytes_AS_STRING(bytes), &p);
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, name);
	return Py_NewRef(name);
}

/* track / untrack / unlink: one name, one library call. */
static PyObject *name_call(ManagerObject *o, PyObject *name,
			   int (*fn)(struct shmbus_manager *, const char *))
{
	PyObject *bytes;
	if (started(o) < 0 || name_arg(name, &bytes, 0) < 0)
		return NULL;
	int rc = fn(o->m, PyBytes_AS_STRING(bytes));
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, name);
	Py_RETURN_NONE;
}

static PyObject *manager_track(ManagerObject *o, PyObject *name)
{
	return name_call(o, name, shmbus_manager_track);
}

static PyObject *manager_untrack(ManagerObject *o, PyObject *name)
{
	return name_call(o, name, shmbus_manager_untrack);
}

static PyObject *manager_unlink(ManagerObject *o, PyObject *name)
{
	return name_call(o, name, shmbus_manager_unlink);
}

static PyObject *manager_shutdown(ManagerObject *o, PyObject *unused)
{
	(void)unused;
	if (started(o) < 0)
		return NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = shmbus_manager_shutdown(o->m);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return pyshmbus_raise(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *manager_get_count(ManagerObject *o, void *unused)
{
	(void)unused;
	if (started(o) < 0)
		return NULL;
	int n = shmbus_manager_count(o->m);
	if (n < 0)
		return pyshmbus_raise(n, NULL);
	return PyLong_FromLong(n);
}

static PyObject *manager_get_name(ManagerObject *o, void *unused)
{
	(void)unused;
	if (started(o) < 0)
		return NULL;
	return PyUnicode_DecodeFSDefault(shmbus_manager_name(o->m));
}

static PyMethodDef manager_methods[] = {
	{ "create_block", (PyCFunction)manager_create_block, METH_VARARGS,
	  "create_block(name, size)\n--\n\nA raw block, listed; returns its name (None: generated)." },
	{ "create_spsc", (PyCFunction)manager_create_spsc, METH_VARARGS,
	  "create_spsc(name, capacity)\n--\n\nAn spsc ring, listed; returns its name." },
	{ "create_mpmc", (PyCFunction)manager_create_mpmc, METH_VARARGS,
	  "create_mpmc(name, slots, slot_size)\n--\n\nAn mpmc ring, listed; returns its name." },
	{ "track", (PyCFunction)manager_track, METH_O,
	  "track(name)\n--\n\nPut an existing block under the manager's care." },
	{ "untrack", (PyCFunction)manager_untrack, METH_O,
	  "untrack(name)\n--\n\nTake a block off the list without unlinking it." },
	{ "unlink", (PyCFunction)manager_unlink, METH_O,
	  "unlink(name)\n--\n\nUnlink one listed block now." },
	{ "shutdown", (PyCFunction)manager_shutdown, METH_NOARGS,
	  "shutdown()\n--\n\nUnlink every listed block and the manager's own; idempotent." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef manager_getset[] = {
	{ "count", (getter)manager_get_count, NULL, "How many blocks are listed.", NULL },
	{ "name", (getter)manager_get_name, NULL, "The manager's own block.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject pyshmbus_manager_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "shmbus._shmbus.Manager",
	.tp_basicsize = sizeof(ManagerObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Manager(name=None, capacity=0): a lifecycle manager and its guardian.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)manager_init,
	.tp_dealloc = (destructor)manager_dealloc,
	.tp_methods = manager_methods,
	.tp_getset = manager_getset,
};
