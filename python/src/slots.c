/*
 * slots.c - shmbus._shmbus.Slots, the core of shmbus.SlotTable:
 * ShareableList's items on the library's slot table (a list made by shmbus
 * is seqlocked: a read never returns a value torn by a C writer; a list
 * made by CPython is read and written in its own layout).
 *
 * Values: None, bool, int (int64), float, str (UTF-8), bytes; other types
 * raise TypeError, as ShareableList cannot store them either.  A bad index
 * raises IndexError, a str/bytes too long for its slot MessageSizeError (a
 * ValueError, as ShareableList raises).
 */
#include "pyshmbus.h"

#include <errno.h>
#include <string.h>

#include <shmbus/slots.h>

typedef struct {
	PyObject_HEAD
	struct shmbus_slots *sl;
	unsigned long fork_gen;
	PyObject *name;
} SlotsObject;

/* Python object -> slot value; str/bytes point into @o (keep it alive). */
static int to_value(PyObject *o, struct shmbus_slot_value *v)
{
	*v = shmbus_slot_none();
	if (o == Py_None)
		return 0;
	if (PyBool_Check(o)) {
		v->type = SHMBUS_SLOT_BOOL;
		v->u.b = o == Py_True;
	} else if (PyLong_Check(o)) {
		long long i = PyLong_AsLongLong(o);
		if (i == -1 && PyErr_Occurred())
			return -1;
		v->type = SHMBUS_SLOT_INT;
		v->u.i = i;
	} else if (PyFloat_Check(o)) {
		v->type = SHMBUS_SLOT_FLOAT;
		v->u.f = PyFloat_AS_DOUBLE(o);
	} else if (PyUnicode_Check(o)) {
		Py_ssize_t n;
		const char *s = PyUnicode_AsUTF8AndSize(o, &n);
		if (!s)
			return -1;
		v->type = SHMBUS_SLOT_STR;
		v->u.s.data = s;
		v->u.s.len = (size_t)n;
	} else if (PyBytes_Check(o)) {
		v->type = SHMBUS_SLOT_BYTES;
		v->u.s.data = PyBytes_AS_STRING(o);
		v->u.s.len = (size_t)PyBytes_GET_SIZE(o);
	} else {
		PyErr_Format(PyExc_TypeError, "a slot holds None, bool, int, float, str or bytes, "
			     "not %.100s", Py_TYPE(o)->tp_name);
		return -1;
	}
	return 0;
}

static PyObject *from_value(const struct shmbus_slot_value *v)
{
	switch (v->type) {
	case SHMBUS_SLOT_NONE: Py_RETURN_NONE;
	case SHMBUS_SLOT_INT: return PyLong_FromLongLong(v->u.i);
	case SHMBUS_SLOT_FLOAT: return PyFloat_FromDouble(v->u.f);
	case SHMBUS_SLOT_BOOL: return PyBool_FromLong(v->u.b);
	case SHMBUS_SLOT_STR:
		return PyUnicode_DecodeUTF8(v->u.s.data, (Py_ssize_t)v->u.s.len, "strict");
	case SHMBUS_SLOT_BYTES:
		return PyBytes_FromStringAndSize(v->u.s.data, (Py_ssize_t)v->u.s.len);
	}
	PyErr_SetString(PyExc_RuntimeError, "unknown slot type");
	return NULL;
}

static PyObject *raise_slots(SlotsObject *o, int rc)
{
	if (rc == -ERANGE) {
		PyErr_SetString(PyExc_IndexError, "index out of range");
		return NULL;
	}
	return pyshmbus_raise(rc, o->name);
}

static int check(SlotsObject *o)
{
	if (!o->sl) {
		PyErr_SetString(PyExc_ValueError, "operation on a closed slot table");
		return -1;
	}
	if (o->fork_gen != pyshmbus_fork_gen) {
		pyshmbus_raise_fork();
		return -1;
	}
	return 0;
}

/* Slots(name, values=None, mode=0): create from a sequence, or attach. */
static int slots_init(SlotsObject *o, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "name", "values", "mode", NULL };
	PyObject *name = Py_None, *values = Py_None, *bytes = NULL, *seq = NULL;
	unsigned mode = 0;
	struct shmbus_slot_value *vals = NULL;
	int rc = -1;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOI", kwlist, &name, &values, &mode))
		return -1;
	if (o->sl) {
		PyErr_SetString(PyExc_RuntimeError, "slot table already open");
		return -1;
	}
	if (name != Py_None && !PyUnicode_FSConverter(name, &bytes))
		return -1;
	const char *cname = bytes ? PyBytes_AS_STRING(bytes) : NULL;
	if (values == Py_None) {
		if (!cname) {
			PyErr_SetString(PyExc_ValueError, "a name is needed to attach");
			goto fail;
		}
		rc = shmbus_slots_attach(&o->sl, cname, 0);
	} else {
		seq = PySequence_Fast(values, "values must be a sequence");
		if (!seq)
			goto fail;
		Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
		vals = PyMem_Calloc(n ? (size_t)n : 1, sizeof *vals);
		if (!vals) {
			PyErr_NoMemory();
			goto fail;
		}
		for (Py_ssize_t i = 0; i < n; i++)
			if (to_value(PySequence_Fast_GET_ITEM(seq, i), &vals[i]) < 0)
				goto fail;
		rc = shmbus_slots_create(&o->sl, cname, vals, (size_t)n, mode);
	}
	if (rc < 0) {
		pyshmbus_raise(rc, name == Py_None ? NULL : name);
		rc = -1;
		goto fail;
	}
	o->fork_gen = pyshmbus_fork_gen;
	o->name = PyUnicode_DecodeFSDefault(shmbus_slots_name(o->sl));
	rc = o->name ? 0 : -1;
fail:
	PyMem_Free(vals);
	Py_XDECREF(seq);
	Py_XDECREF(bytes);
	return rc;
}

static void slots_dealloc(SlotsObject *o)
{
	if (o->sl && o->fork_gen == pyshmbus_fork_gen)
		shmbus_slots_close(o->sl);
	Py_XDECREF(o->name);
	Py_TYPE(o)->tp_free((PyObject *)o);
}

static Py_ssize_t slots_len(SlotsObject *o)
{
	if (check(o) < 0)
		return -1;
	return (Py_ssize_t)shmbus_slots_len(o->sl);
}

static PyObject *slots_item(SlotsObject *o, Py_ssize_t i)
{
	if (check(o) < 0)
		return NULL;
	int64_t cap = shmbus_slots_capacity(o->sl, i);
	if (cap < 0)
		return raise_slots(o, (int)cap);
	char *buf = PyMem_Malloc((size_t)cap + 1);
	if (!buf)
		return PyErr_NoMemory();
	struct shmbus_slot_value v;
	int rc = shmbus_slots_get(o->sl, i, &v, buf, (size_t)cap + 1);
	PyObject *r = rc < 0 ? raise_slots(o, rc) : from_value(&v);
	PyMem_Free(buf);
	return r;
}

/* sq_item gets i + len for a negative i from CPython; the library takes
 * negative indexes too, so pass what CPython gives. */
static int slots_ass_item(SlotsObject *o, Py_ssize_t i, PyObject *value)
{
	if (check(o) < 0)
		return -1;
	if (!value) {
		PyErr_SetString(PyExc_TypeError, "slot table items cannot be deleted");
		return -1;
	}
	struct shmbus_slot_value v;
	if (to_value(value, &v) < 0)
		return -1;
	int rc = shmbus_slots_set(o->sl, i, &v);
	if (rc < 0) {
		raise_slots(o, rc);
		return -1;
	}
	return 0;
}

/* count(value) / index(value): @index picks which. */
static PyObject *search(SlotsObject *o, PyObject *value, int index)
{
	struct shmbus_slot_value v;
	if (check(o) < 0 || to_value(value, &v) < 0)
		return NULL;
	int64_t r = index ? shmbus_slots_index(o->sl, &v) : shmbus_slots_count(o->sl, &v);
	if (index && r == -ENOENT) {
		PyErr_SetString(PyExc_ValueError, "value not in the slot table");
		return NULL;
	}
	if (r < 0)
		return raise_slots(o, (int)r);
	return PyLong_FromLongLong(r);
}

static PyObject *slots_count(SlotsObject *o, PyObject *value)
{
	return search(o, value, 0);
}

static PyObject *slots_index(SlotsObject *o, PyObject *value)
{
	return search(o, value, 1);
}

static PyObject *slots_get_format(SlotsObject *o, void *unused)
{
	(void)unused;
	if (check(o) < 0)
		return NULL;
	int64_t n = shmbus_slots_format(o->sl, NULL, 0);
	if (n < 0)
		return raise_slots(o, (int)n);
	char *buf = PyMem_Malloc((size_t)n + 1);
	if (!buf)
		return PyErr_NoMemory();
	int64_t m = shmbus_slots_format(o->sl, buf, (size_t)n + 1);
	PyObject *r = m < 0 ? raise_slots(o, (int)m) : PyUnicode_FromStringAndSize(buf, (Py_ssize_t)m);
	PyMem_Free(buf);
	return r;
}

static PyObject *slots_get_name(SlotsObject *o, void *unused)
{
	(void)unused;
	return Py_NewRef(o->name ? o->name : Py_None);
}

static PyObject *slots_get_guarded(SlotsObject *o, void *unused)
{
	(void)unused;
	if (check(o) < 0)
		return NULL;
	return PyBool_FromLong(shmbus_slots_guarded(o->sl));
}

static PyObject *slots_close(SlotsObject *o, PyObject *unused)
{
	(void)unused;
	if (o->sl && o->fork_gen == pyshmbus_fork_gen)
		shmbus_slots_close(o->sl);
	o->sl = NULL;
	Py_RETURN_NONE;
}

static PyMethodDef slots_methods[] = {
	{ "count", (PyCFunction)slots_count, METH_O,
	  "count(value)\n--\n\nHow many items equal value." },
	{ "index", (PyCFunction)slots_index, METH_O,
	  "index(value)\n--\n\nThe first index of value (ValueError if none)." },
	{ "close", (PyCFunction)slots_close, METH_NOARGS,
	  "close()\n--\n\nDetach (the block stays; see unlink())." },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef slots_getset[] = {
	{ "format", (getter)slots_get_format, NULL,
	  "ShareableList.format: the struct format of every item.", NULL },
	{ "name", (getter)slots_get_name, NULL, "The block's name.", NULL },
	{ "guarded", (getter)slots_get_guarded, NULL,
	  "True for a list shmbus made (seqlocked reads), False for CPython's.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PySequenceMethods slots_as_sequence = {
	.sq_length = (lenfunc)slots_len,
	.sq_item = (ssizeargfunc)slots_item,
	.sq_ass_item = (ssizeobjargproc)slots_ass_item,
};

PyTypeObject pyshmbus_slots_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "shmbus._shmbus.Slots",
	.tp_basicsize = sizeof(SlotsObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Slots(name=None, values=None, mode=0): a slot table (ShareableList).",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)slots_init,
	.tp_dealloc = (destructor)slots_dealloc,
	.tp_as_sequence = &slots_as_sequence,
	.tp_methods = slots_methods,
	.tp_getset = slots_getset,
};
