/*
 * module.c - shmbus._shmbus: module init, the few helpers every type uses
 * (timeouts), the fork generation, and the module functions (unlink,
 * inspect_json).  The Python package shmbus (python/shmbus/) wraps it.
 */
#include "pyshmbus.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include <shmbus/block.h>
#include <shmbus/inspect.h>
#include <shmbus/version.h>

volatile unsigned long pyshmbus_fork_gen;

/* pthread_atfork child handler: async-signal-safe, one store. */
static void after_fork_child(void)
{
	pyshmbus_fork_gen++;
}

int pyshmbus_timeout_ms(PyObject *timeout, int *ms)
{
	if (timeout == Py_None) {
		*ms = -1;
		return 0;
	}
	double s = PyFloat_AsDouble(timeout);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(s) || s < 0) {
		PyErr_SetString(PyExc_ValueError, "timeout must be None or >= 0 seconds");
		return -1;
	}
	double m = ceil(s * 1000.0);
	*ms = m >= (double)INT_MAX ? -1 : (int)m;
	return 0;
}

static PyObject *mod_unlink(PyObject *self, PyObject *arg)
{
	(void)self;
	PyObject *bytes;
	if (!PyUnicode_FSConverter(arg, &bytes))
		return NULL;
	int rc = shmbus_block_unlink(PyBytes_AS_STRING(bytes));
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, arg);
	Py_RETURN_NONE;
}

static PyObject *mod_inspect_json(PyObject *self, PyObject *arg)
{
	(void)self;
	PyObject *bytes;
	struct shmbus_snapshot *snap;
	if (!PyUnicode_FSConverter(arg, &bytes))
		return NULL;
	int rc;
	Py_BEGIN_ALLOW_THREADS
	rc = shmbus_snapshot_take(PyBytes_AS_STRING(bytes), &snap);
	Py_END_ALLOW_THREADS
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, arg);
	char *json = shmbus_snapshot_json(snap, 0);
	shmbus_snapshot_free(snap);
	if (!json)
		return PyErr_NoMemory();
	PyObject *s = PyUnicode_FromString(json);
	free(json);
	return s;
}

static PyMethodDef mod_methods[] = {
	{ "unlink", mod_unlink, METH_O,
	  "unlink(name)\n--\n\nRemove the block NAME (FileNotFoundError if there is none)." },
	{ "inspect_json", mod_inspect_json, METH_O,
	  "inspect_json(name)\n--\n\nThe document of `shmbus inspect NAME --json`, as a str." },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef mod_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "shmbus._shmbus",
	.m_doc = "The C core of the shmbus package (use `import shmbus`).",
	.m_size = -1,
	.m_methods = mod_methods,
};

static int add_type(PyObject *m, PyTypeObject *t, const char *name)
{
	if (PyType_Ready(t) < 0)
		return -1;
	Py_INCREF(t);
	if (PyModule_AddObject(m, name, (PyObject *)t) < 0) {
		Py_DECREF(t);
		return -1;
	}
	return 0;
}

PyMODINIT_FUNC PyInit__shmbus(void);
PyMODINIT_FUNC PyInit__shmbus(void)
{
	static int atfork_done;
	if (!atfork_done) {
		if (pthread_atfork(NULL, NULL, after_fork_child) != 0)
			return PyErr_NoMemory();
		atfork_done = 1;
	}
	PyObject *m = PyModule_Create(&mod_def);
	if (!m)
		return NULL;
	if (add_type(m, &pyshmbus_ring_type, "Ring") < 0 ||
	    add_type(m, &pyshmbus_zone_type, "Zone") < 0 ||
	    add_type(m, &pyshmbus_block_type, "Block") < 0 ||
	    add_type(m, &pyshmbus_slots_type, "Slots") < 0 ||
	    add_type(m, &pyshmbus_manager_type, "Manager") < 0 ||
	    pyshmbus_errors_init(m) < 0 ||
	    PyModule_AddStringConstant(m, "LIB_VERSION", SHMBUS_VERSION_STRING) < 0 ||
	    PyModule_AddIntConstant(m, "MODE_EPHEMERAL", (long)SHMBUS_MODE_EPHEMERAL) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
