/*
 * zone.c - the zero-copy blocks: `with tx.reserve(n) as mv:` and
 * `with rx.peek() as mv:`.
 *
 * A Zone exports the ring's bytes through the buffer protocol, only between
 * __enter__ and __exit__.  __enter__ reserves (peeks) and returns a
 * memoryview over the zone; __exit__ releases that memoryview (after which
 * any use of it raises ValueError), then commits (releases) the message.
 * Invariant that keeps this memory-safe: the mapping cannot go while a
 * buffer over it lives - every exported buffer holds the zone, the zone
 * holds the ring, and Ring.close() refuses (BufferError) while the ring
 * counts exports.  A buffer the user made from the view and kept past the
 * block (numpy.frombuffer(mv)) makes __exit__ raise BufferError after it
 * finished the message: its bytes may be reused by the ring from then on
 * (unless the zone is `tolerant`, as peek_array() makes it: the array bound
 * by `with ... as a` outlives the block by the language's rules).
 */
#include "pyshmbus.h"

#include <errno.h>

#include <shmbus/error.h>

enum zone_state { ZONE_NEW, ZONE_OPEN, ZONE_DONE };

typedef struct {
	PyObject_HEAD
	RingObject *ring;
	int role;
	int timeout_ms;
	enum zone_state state;
	void *data;
	size_t len;        /* bytes of the view */
	size_t commit_len; /* producer: bytes committed at exit */
	Py_ssize_t exports;
	bool tolerant;     /* buffers may outlive the block (peek_array) */
	PyObject *view;
} ZoneObject;

PyObject *pyshmbus_zone_new(RingObject *r, int role, size_t len, int timeout_ms)
{
	ZoneObject *z = PyObject_New(ZoneObject, &pyshmbus_zone_type);
	if (!z)
		return NULL;
	z->ring = (RingObject *)Py_NewRef(r);
	z->role = role;
	z->timeout_ms = timeout_ms;
	z->state = ZONE_NEW;
	z->data = NULL;
	z->len = len;
	z->commit_len = len;
	z->exports = 0;
	z->tolerant = false;
	z->view = NULL;
	return (PyObject *)z;
}

struct reserve_ctx {
	size_t len;
	void *data;
};

static int attempt_reserve(RingObject *r, void *ctx, int tmo)
{
	struct reserve_ctx *c = ctx;
	return r->ops->reserve(r->h, c->len, &c->data, tmo);
}

struct zpeek_ctx {
	struct pymsg msg;
	unsigned long long seq, dropped;
};

static int attempt_zpeek(RingObject *r, void *ctx, int tmo)
{
	struct zpeek_ctx *c = ctx;
	return r->ops->peek(r->h, &c->msg, &c->seq, &c->dropped, tmo);
}

static PyObject *zone_enter(ZoneObject *z, PyObject *unused)
{
	(void)unused;
	RingObject *r = z->ring;
	if (z->state != ZONE_NEW) {
		PyErr_SetString(PyExc_RuntimeError, "a reserve()/peek() block is entered once");
		return NULL;
	}
	if (pyshmbus_ring_check(r, z->role) < 0)
		return NULL;
	int rc;
	if (z->role == ROLE_PRODUCER) {
		struct reserve_ctx c = { z->len, NULL };
		rc = pyshmbus_ring_wait(r, attempt_reserve, &c, z->timeout_ms);
		z->data = c.data;
	} else {
		struct zpeek_ctx c;
		rc = pyshmbus_ring_wait(r, attempt_zpeek, &c, z->timeout_ms);
		if (rc >= 0) {
			z->data = (void *)c.msg.data;
			z->len = c.msg.len;
			r->last_seq = c.seq;
			r->dropped += c.dropped;
		}
	}
	if (rc < 0)
		return pyshmbus_raise(rc, r->name);
	z->state = ZONE_OPEN;
	r->zone = true;
	z->view = PyMemoryView_FromObject((PyObject *)z);
	if (!z->view) {
		/* give the message back as if the block had failed */
		if (z->role == ROLE_PRODUCER)
			r->ops->cancel(r->h);
		else
			(void)r->ops->release(r->h);
		r->zone = false;
		z->state = ZONE_DONE;
		return NULL;
	}
	return Py_NewRef(z->view);
}

static PyObject *zone_exit(ZoneObject *z, PyObject *args)
{
	PyObject *et = Py_None, *ev = Py_None, *tb = Py_None;
	if (!PyArg_UnpackTuple(args, "__exit__", 0, 3, &et, &ev, &tb))
		return NULL;
	if (z->state != ZONE_OPEN)
		Py_RETURN_FALSE;
	RingObject *r = z->ring;
	/* Release our own view first; one the user derived from it may stay. */
	PyObject *res = PyObject_CallMethod(z->view, "release", NULL);
	if (res)
		Py_DECREF(res);
	else
		PyErr_Clear(); /* counted below through z->exports */
	Py_CLEAR(z->view);
	z->state = ZONE_DONE;
	r->zone = false;
	int rc = 0;
	if (z->role == ROLE_PRODUCER) {
		if (et == Py_None)
			rc = r->ops->commit(r->h, z->commit_len);
		else
			r->ops->cancel(r->h);
	} else {
		rc = r->ops->release(r->h);
	}
	if (rc < 0 && et == Py_None)
		return pyshmbus_raise(rc, r->name);
	if (z->exports > 0 && et == Py_None && !z->tolerant) {
		PyErr_SetString(PyExc_BufferError,
				"a buffer made from the zero-copy view outlived its block: "
				"release it inside the block (the ring may reuse its bytes)");
		return NULL;
	}
	Py_RETURN_FALSE;
}

static int zone_getbuffer(ZoneObject *z, Py_buffer *view, int flags)
{
	if (z->state != ZONE_OPEN) {
		PyErr_SetString(PyExc_BufferError, "the zero-copy block has ended");
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)z, z->data, (Py_ssize_t)z->len,
			      z->role == ROLE_CONSUMER, flags) < 0)
		return -1;
	z->exports++;
	z->ring->exports++;
	return 0;
}

static void zone_releasebuffer(ZoneObject *z, Py_buffer *view)
{
	(void)view;
	z->exports--;
	z->ring->exports--;
}

static PyBufferProcs zone_as_buffer = {
	.bf_getbuffer = (getbufferproc)zone_getbuffer,
	.bf_releasebuffer = (releasebufferproc)zone_releasebuffer,
};

static void zone_dealloc(ZoneObject *z)
{
	/* A zone entered and never exited (no `with`): finish it like an
	 * exception would, so the ring is usable again. */
	if (z->state == ZONE_OPEN && z->ring->h && z->ring->fork_gen == pyshmbus_fork_gen) {
		if (z->role == ROLE_PRODUCER)
			z->ring->ops->cancel(z->ring->h);
		else
			(void)z->ring->ops->release(z->ring->h);
		z->ring->zone = false;
	}
	Py_XDECREF(z->view);
	Py_DECREF(z->ring);
	PyObject_Free(z);
}

static PyObject *zone_get_length(ZoneObject *z, void *unused)
{
	(void)unused;
	return PyLong_FromSize_t(z->role == ROLE_PRODUCER ? z->commit_len : z->len);
}

static int zone_set_length(ZoneObject *z, PyObject *v, void *unused)
{
	(void)unused;
	if (z->role != ROLE_PRODUCER || !v) {
		PyErr_SetString(PyExc_AttributeError, "length is set on a reserve() only");
		return -1;
	}
	Py_ssize_t n = PyLong_AsSsize_t(v);
	if (n == -1 && PyErr_Occurred())
		return -1;
	if (n < 0 || (size_t)n > z->len) {
		PyErr_Format(PyExc_ValueError, "length must be 0..%zu", z->len);
		return -1;
	}
	z->commit_len = (size_t)n;
	return 0;
}

static PyObject *zone_get_tolerant(ZoneObject *z, void *unused)
{
	(void)unused;
	return PyBool_FromLong(z->tolerant);
}

static int zone_set_tolerant(ZoneObject *z, PyObject *v, void *unused)
{
	(void)unused;
	int t = v ? PyObject_IsTrue(v) : 0;
	if (t < 0)
		return -1;
	z->tolerant = t;
	return 0;
}

static PyMethodDef zone_methods[] = {
	{ "__enter__", (PyCFunction)zone_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)zone_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef zone_getset[] = {
	{ "length", (getter)zone_get_length, (setter)zone_set_length,
	  "reserve(): bytes committed when the block ends (default: all reserved); "
	  "peek(): the message's length.", NULL },
	{ "tolerant", (getter)zone_get_tolerant, (setter)zone_set_tolerant,
	  "True: a buffer made from the view may outlive the block without "
	  "BufferError (its bytes are the ring's again; the ring cannot be closed "
	  "while it lives).  For peek_array(), whose array stays bound after `with`.",
	  NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject pyshmbus_zone_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "shmbus._shmbus.Zone",
	.tp_basicsize = sizeof(ZoneObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A zero-copy reserve()/peek() block; use it with `with`.",
	.tp_dealloc = (destructor)zone_dealloc,
	.tp_as_buffer = &zone_as_buffer,
	.tp_methods = zone_methods,
	.tp_getset = zone_getset,
};
