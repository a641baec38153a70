/*
 * ring.c - shmbus._shmbus.Ring: one ring handle (spsc, mpmc or broadcast,
 * producer or consumer), the base of shmbus.SPSC, shmbus.MPMC and
 * shmbus.Broadcast (python/shmbus/_rings.py gives them their signatures).
 *
 * Waiting: every call first tries once with the GIL held (the common case
 * when the other side keeps up costs no GIL round trip), then waits with the
 * GIL released in slices of PYSHMBUS_SLICE_MS, running the signal handlers
 * between slices, so Ctrl-C raises KeyboardInterrupt within a slice.
 * While it waits the ring is marked busy: the library allows one thread per
 * handle, so another thread's call meanwhile gets RuntimeError instead of
 * racing inside the handle.
 *
 * Fork: a handle belongs to the process that opened it; in a forked child
 * every call raises shmbus.ForkError, and the child's copy of the object
 * is dropped without touching the block (the parent still owns the role).
 */
#include "pyshmbus.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <time.h>

#include <shmbus/block.h>
#include <shmbus/broadcast.h>
#include <shmbus/mpmc.h>
#include <shmbus/spsc.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pyshmbus_ring_check(RingObject *r, int role)
{
	if (!r->h) {
		PyErr_SetString(PyExc_ValueError, "operation on a closed ring");
		return -1;
	}
	if (r->fork_gen != pyshmbus_fork_gen) {
		pyshmbus_raise_fork();
		return -1;
	}
	if (r->busy) {
		PyErr_SetString(PyExc_RuntimeError,
				"the ring is in use by another thread (one thread per handle)");
		return -1;
	}
	if (r->zone) {
		PyErr_SetString(PyExc_RuntimeError,
				"a reserve()/peek() block is open on this ring");
		return -1;
	}
	if (role && r->role != role) {
		PyErr_Format(PyExc_TypeError, "not a %s handle",
			     role == ROLE_PRODUCER ? "producer" : "consumer");
		return -1;
	}
	return 0;
}

int pyshmbus_ring_wait(RingObject *r, ring_attempt_fn fn, void *ctx, int timeout_ms)
{
	int rc = fn(r, ctx, 0);
	if (rc != -EAGAIN)
		return rc;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	r->busy = true;
	for (;;) {
		int slice = PYSHMBUS_SLICE_MS;
		if (timeout_ms > 0) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				rc = -ETIMEDOUT;
				break;
			}
			if (left < slice)
				slice = (int)left;
		}
		Py_BEGIN_ALLOW_THREADS
		rc = fn(r, ctx, slice);
		Py_END_ALLOW_THREADS
		if (rc != -ETIMEDOUT && rc != -EAGAIN)
			break;
		if (PyErr_CheckSignals() < 0) {
			rc = PYSHMBUS_EPY;
			break;
		}
	}
	r->busy = false;
	return rc;
}

/* ----------------------------------------------------------------- open */

static int ring_init(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "kind", "name", "role", "create", "capacity", "slots",
				  "slot_size", "subscribers", "policy", "start", "mode", NULL };
	const char *kind, *name;
	int role, create = 0, policy = 0, start = SHMBUS_BCAST_FROM_NEWEST;
	unsigned long long capacity = 0;
	unsigned slots = 0, slot_size = 0, subscribers = 0, mode = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "ssi|pKIIIiiI", kwlist, &kind, &name, &role,
					 &create, &capacity, &slots, &slot_size, &subscribers,
					 &policy, &start, &mode))
		return -1;
	if (r->h) {
		PyErr_SetString(PyExc_RuntimeError, "ring already open");
		return -1;
	}
	if (role != ROLE_PRODUCER && role != ROLE_CONSUMER) {
		PyErr_SetString(PyExc_ValueError, "role must be producer or consumer");
		return -1;
	}
	Py_XSETREF(r->name, PyUnicode_FromString(name));
	if (!r->name)
		return -1;
	int rc;
	bool created = false;
	void *h = NULL;
	if (!strcmp(kind, "spsc")) {
		r->ops = &pyshmbus_spsc_ops;
		rc = create ? shmbus_spsc_create(name, capacity, mode) : 0;
		created = create && rc == 0;
		if (rc == 0)
			rc = shmbus_spsc_open((struct shmbus_spsc **)&h, name,
					      role == ROLE_PRODUCER ? SHMBUS_SPSC_PRODUCER
								    : SHMBUS_SPSC_CONSUMER);
	} else if (!strcmp(kind, "mpmc")) {
		struct shmbus_mpmc_params p = { .slots = slots, .slot_size = slot_size,
						.mode = mode };
		r->ops = &pyshmbus_mpmc_ops;
		rc = create ? shmbus_mpmc_create(name, &p) : 0;
		created = create && rc == 0;
		if (rc == 0)
			rc = shmbus_mpmc_open((struct shmbus_mpmc **)&h, name,
					      role == ROLE_PRODUCER ? SHMBUS_MPMC_PRODUCER
								    : SHMBUS_MPMC_CONSUMER);
	} else if (!strcmp(kind, "broadcast")) {
		struct shmbus_bcast_params p = { .capacity = capacity, .subscribers = subscribers,
						 .policy = (uint32_t)policy, .mode = mode };
		r->ops = &pyshmbus_bcast_ops;
		rc = create ? shmbus_bcast_create(name, &p) : 0;
		created = create && rc == 0;
		if (rc == 0)
			rc = role == ROLE_PRODUCER
				? shmbus_bcast_open_producer((struct shmbus_bcast **)&h, name)
				: shmbus_bcast_subscribe((struct shmbus_bcast **)&h, name,
							 (enum shmbus_bcast_from)start);
	} else {
		PyErr_Format(PyExc_ValueError, "unknown ring kind %s", kind);
		return -1;
	}
	if (rc < 0) {
		/* A block we just made and could not open is not left behind. */
		if (created && shmbus_block_unlink(name) < 0) {
			/* already gone: nothing left behind either way */
		}
		pyshmbus_raise(rc, r->name);
		return -1;
	}
	r->h = h;
	r->role = role;
	r->fork_gen = pyshmbus_fork_gen;
	return 0;
}

/* Close the handle; in a forked child only forget it (see the file comment). */
static void ring_drop(RingObject *r)
{
	if (r->h && r->fork_gen == pyshmbus_fork_gen)
		r->ops->close(r->h);
	r->h = NULL;
}

static void ring_dealloc(RingObject *r)
{
	if (r->weakrefs)
		PyObject_ClearWeakRefs((PyObject *)r);
	ring_drop(r);
	Py_XDECREF(r->name);
	Py_TYPE(r)->tp_free((PyObject *)r);
}

static PyObject *ring_close(RingObject *r, PyObject *unused)
{
	(void)unused;
	if (!r->h)
		Py_RETURN_NONE;
	if (r->busy) {
		PyErr_SetString(PyExc_RuntimeError, "the ring is in use by another thread");
		return NULL;
	}
	if (r->exports > 0 || r->zone) {
		PyErr_SetString(PyExc_BufferError,
				"cannot close the ring: a view into it is still alive");
		return NULL;
	}
	ring_drop(r);
	Py_RETURN_NONE;
}

static PyObject *ring_unlink(RingObject *r, PyObject *unused)
{
	(void)unused;
	PyObject *bytes = PyUnicode_EncodeFSDefault(r->name);
	if (!bytes)
		return NULL;
	int rc = shmbus_block_unlink(PyBytes_AS_STRING(bytes));
	Py_DECREF(bytes);
	if (rc < 0)
		return pyshmbus_raise(rc, r->name);
	Py_RETURN_NONE;
}

/* ----------------------------------------------------------------- send */

/* One caller's buffer: the message to push, or room to pop into. */
struct buf_ctx {
	void *buf;
	size_t len;
};

static int attempt_push(RingObject *r, void *ctx, int tmo)
{
	struct buf_ctx *c = ctx;
	return r->ops->push(r->h, c->buf, c->len, tmo);
}

static int attempt_pop(RingObject *r, void *ctx, int tmo)
{
	struct buf_ctx *c = ctx;
	return r->ops->pop(r->h, c->buf, c->len, tmo);
}

/* send() and recv_into(): (buffer, timeout=None) arguments, @fn on the
 * buffer.  Returns what @fn returned (>= 0), or -1 with an exception set. */
static int buffer_call(RingObject *r, PyObject *args, PyObject *kw, char **kwlist,
		       const char *fmt, int role, ring_attempt_fn fn)
{
	Py_buffer buf;
	PyObject *timeout = Py_None;
	int tmo;
	if (!PyArg_ParseTupleAndKeywords(args, kw, fmt, kwlist, &buf, &timeout))
		return -1;
	int rc = -1;
	if (pyshmbus_timeout_ms(timeout, &tmo) == 0 && pyshmbus_ring_check(r, role) == 0) {
		struct buf_ctx c = { buf.buf, (size_t)buf.len };
		rc = pyshmbus_ring_wait(r, fn, &c, tmo);
		if (rc < 0) {
			pyshmbus_raise(rc, r->name);
			rc = -1;
		}
	}
	PyBuffer_Release(&buf);
	return rc;
}

static PyObject *ring_send(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "data", "timeout", NULL };
	if (buffer_call(r, args, kw, kwlist, "y*|O", ROLE_PRODUCER, attempt_push) < 0)
		return NULL;
	Py_RETURN_NONE;
}

/* A burst: the messages to push, or the room peek_burst fills. */
struct burst_ctx {
	struct pymsg *msgs;
	unsigned n;
};

static int attempt_push_burst(RingObject *r, void *ctx, int tmo)
{
	struct burst_ctx *c = ctx;
	return r->ops->push_burst(r->h, c->msgs, c->n, tmo);
}

static PyObject *ring_send_many(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "messages", "timeout", NULL };
	PyObject *iterable, *timeout = Py_None;
	int tmo;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O", kwlist, &iterable, &timeout))
		return NULL;
	if (pyshmbus_timeout_ms(timeout, &tmo) < 0 || pyshmbus_ring_check(r, ROLE_PRODUCER) < 0)
		return NULL;
	PyObject *seq = PySequence_Fast(iterable, "send_many() takes an iterable of bytes-like");
	if (!seq)
		return NULL;
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), got = 0, sent = 0;
	Py_buffer *bufs = PyMem_Calloc(n ? (size_t)n : 1, sizeof *bufs);
	struct pymsg *msgs = PyMem_Calloc(n ? (size_t)n : 1, sizeof *msgs);
	PyObject *ret = NULL;
	if (!bufs || !msgs) {
		PyErr_NoMemory();
		goto out;
	}
	for (; got < n; got++) {
		if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, got), &bufs[got],
				       PyBUF_SIMPLE) < 0)
			goto out;
		msgs[got].data = bufs[got].buf;
		msgs[got].len = (size_t)bufs[got].len;
	}
	while (sent < n) {
		Py_ssize_t left = n - sent;
		struct burst_ctx c = { msgs + sent,
				       left > PYSHMBUS_BURST_MAX ? PYSHMBUS_BURST_MAX : (unsigned)left };
		int rc = pyshmbus_ring_wait(r, attempt_push_burst, &c, tmo);
		if (rc < 0) {
			pyshmbus_raise(rc, r->name);
			goto out;
		}
		sent += rc;
	}
	ret = PyLong_FromSsize_t(sent);
out:
	for (Py_ssize_t i = 0; i < got; i++)
		PyBuffer_Release(&bufs[i]);
	PyMem_Free(bufs);
	PyMem_Free(msgs);
	Py_DECREF(seq);
	return ret;
}

/* ----------------------------------------------------------------- recv */

struct peek_ctx {
	struct pymsg msg;
	unsigned long long seq, dropped;
};

static int attempt_peek(RingObject *r, void *ctx, int tmo)
{
	struct peek_ctx *c = ctx;
	return r->ops->peek(r->h, &c->msg, &c->seq, &c->dropped, tmo);
}

static PyObject *recv_timeout(RingObject *r, int tmo)
{
	for (;;) {
		struct peek_ctx c;
		int rc = pyshmbus_ring_wait(r, attempt_peek, &c, tmo);
		if (rc < 0)
			return pyshmbus_raise(rc, r->name);
		PyObject *b = PyBytes_FromStringAndSize(c.msg.data, (Py_ssize_t)c.msg.len);
		rc = r->ops->release(r->h);
		if (rc == -SHMBUS_ELAPPED) {
			/* lossy broadcast: overwritten while copied; counted dropped */
			Py_XDECREF(b);
			r->dropped++;
			continue;
		}
		if (rc < 0) {
			Py_XDECREF(b);
			return pyshmbus_raise(rc, r->name);
		}
		r->last_seq = c.seq;
		r->dropped += c.dropped;
		return b;
	}
}

/* The (timeout=None) arguments of a consumer call, in ms; -1 and an
 * exception if they are bad or the handle is not a usable consumer. */
static int consumer_args(RingObject *r, PyObject *args, PyObject *kw, int *tmo)
{
	static char *kwlist[] = { "timeout", NULL };
	PyObject *timeout = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O", kwlist, &timeout) ||
	    pyshmbus_timeout_ms(timeout, tmo) < 0 || pyshmbus_ring_check(r, ROLE_CONSUMER) < 0)
		return -1;
	return 0;
}

static PyObject *ring_recv(RingObject *r, PyObject *args, PyObject *kw)
{
	int tmo;
	if (consumer_args(r, args, kw, &tmo) < 0)
		return NULL;
	return recv_timeout(r, tmo);
}

static PyObject *ring_recv_into(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buffer", "timeout", NULL };
	int rc = buffer_call(r, args, kw, kwlist, "w*|O", ROLE_CONSUMER, attempt_pop);
	return rc < 0 ? NULL : PyLong_FromLong(rc);
}

static int attempt_peek_burst(RingObject *r, void *ctx, int tmo)
{
	struct burst_ctx *c = ctx;
	return r->ops->peek_burst(r->h, c->msgs, c->n, tmo);
}

static PyObject *ring_recv_many(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "max_messages", "timeout", NULL };
	PyObject *timeout = Py_None;
	Py_ssize_t max = PYSHMBUS_BURST_MAX;
	int tmo;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|nO", kwlist, &max, &timeout))
		return NULL;
	if (max < 1) {
		PyErr_SetString(PyExc_ValueError, "max_messages must be at least 1");
		return NULL;
	}
	if (pyshmbus_timeout_ms(timeout, &tmo) < 0 || pyshmbus_ring_check(r, ROLE_CONSUMER) < 0)
		return NULL;
	struct pymsg msgs[PYSHMBUS_BURST_MAX];
	struct burst_ctx bc = { msgs, max > PYSHMBUS_BURST_MAX ? PYSHMBUS_BURST_MAX
							 : (unsigned)max };
	struct burst_ctx *c = &bc;
	PyObject *list = NULL;
	for (;;) {
		int k = pyshmbus_ring_wait(r, attempt_peek_burst, c, tmo);
		if (k < 0) {
			pyshmbus_raise(k, r->name);
			break;
		}
		list = PyList_New(k);
		for (int i = 0; list && i < k; i++) {
			PyObject *b = PyBytes_FromStringAndSize(c->msgs[i].data,
								(Py_ssize_t)c->msgs[i].len);
			if (!b)
				Py_CLEAR(list);
			else
				PyList_SET_ITEM(list, i, b);
		}
		int rc = r->ops->release_burst(r->h, (unsigned)k);
		if (rc == -SHMBUS_ELAPPED) {
			Py_CLEAR(list);
			r->dropped += (unsigned)k;
			continue;
		}
		if (rc < 0) {
			Py_CLEAR(list);
			pyshmbus_raise(rc, r->name);
		}
		break;
	}
	return list;
}

/* ---------------------------------------------------------- end of stream */

static PyObject *stream_call(RingObject *r, int (*fn)(void *))
{
	if (pyshmbus_ring_check(r, ROLE_PRODUCER) < 0)
		return NULL;
	int rc = fn(r->h);
	if (rc < 0)
		return pyshmbus_raise(rc, r->name);
	Py_RETURN_NONE;
}

static PyObject *ring_close_stream(RingObject *r, PyObject *unused)
{
	(void)unused;
	return r->h ? stream_call(r, r->ops->close_stream) : stream_call(r, NULL);
}

static PyObject *ring_reopen_stream(RingObject *r, PyObject *unused)
{
	(void)unused;
	return r->h ? stream_call(r, r->ops->reopen_stream) : stream_call(r, NULL);
}

/* ------------------------------------------------------------ zero-copy */

static PyObject *ring_reserve(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "size", "timeout", NULL };
	Py_ssize_t size;
	PyObject *timeout = Py_None;
	int tmo;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "n|O", kwlist, &size, &timeout))
		return NULL;
	if (size < 0) {
		PyErr_SetString(PyExc_ValueError, "size must be >= 0");
		return NULL;
	}
	if (pyshmbus_timeout_ms(timeout, &tmo) < 0 || pyshmbus_ring_check(r, ROLE_PRODUCER) < 0)
		return NULL;
	return pyshmbus_zone_new(r, ROLE_PRODUCER, (size_t)size, tmo);
}

static PyObject *ring_peek(RingObject *r, PyObject *args, PyObject *kw)
{
	int tmo;
	if (consumer_args(r, args, kw, &tmo) < 0)
		return NULL;
	return pyshmbus_zone_new(r, ROLE_CONSUMER, 0, tmo);
}

/* ------------------------------------------------------ protocol methods */

static PyObject *ring_enter(RingObject *r, PyObject *unused)
{
	(void)unused;
	return Py_NewRef(r);
}

static PyObject *ring_exit(RingObject *r, PyObject *args)
{
	(void)args;
	return ring_close(r, NULL);
}

static PyObject *ring_iter(RingObject *r)
{
	if (pyshmbus_ring_check(r, ROLE_CONSUMER) < 0)
		return NULL;
	return Py_NewRef(r);
}

static PyObject *ring_next(RingObject *r)
{
	if (pyshmbus_ring_check(r, ROLE_CONSUMER) < 0)
		return NULL;
	PyObject *b = recv_timeout(r, -1);
	if (!b && PyErr_ExceptionMatches(PyExc_EOFError))
		PyErr_Clear(); /* end of stream ends the iteration */
	return b;
}

static PyObject *ring_get_closed(RingObject *r, void *unused)
{
	(void)unused;
	return PyBool_FromLong(r->h == NULL);
}

static PyObject *ring_get_max_msg(RingObject *r, void *unused)
{
	(void)unused;
	if (pyshmbus_ring_check(r, 0) < 0)
		return NULL;
	return PyLong_FromSize_t(r->ops->max_msg(r->h));
}

static PyObject *ring_get_kind(RingObject *r, void *unused)
{
	(void)unused;
	return PyUnicode_FromString(r->ops ? r->ops->kind : "closed");
}

static PyObject *ring_get_role(RingObject *r, void *unused)
{
	(void)unused;
	return PyUnicode_FromString(r->role == ROLE_PRODUCER ? "producer" : "consumer");
}

static PyObject *ring_get_name(RingObject *r, void *unused)
{
	(void)unused;
	return Py_NewRef(r->name ? r->name : Py_None);
}

static PyObject *ring_get_last_seq(RingObject *r, void *unused)
{
	(void)unused;
	return PyLong_FromUnsignedLongLong(r->last_seq);
}

static PyObject *ring_get_dropped(RingObject *r, void *unused)
{
	(void)unused;
	return PyLong_FromUnsignedLongLong(r->dropped);
}

static PyMethodDef ring_methods[] = {
	{ "send", (PyCFunction)(void (*)(void))ring_send, METH_VARARGS | METH_KEYWORDS,
	  "send(data, timeout=None)\n--\n\nSend one message (any bytes-like object), waiting up "
	  "to timeout seconds for room (None: forever; 0: not at all).  Raises TimeoutError, "
	  "StreamClosedError after close_stream(), MessageSizeError if it can never fit." },
	{ "send_many", (PyCFunction)(void (*)(void))ring_send_many,
	  METH_VARARGS | METH_KEYWORDS,
	  "send_many(messages, timeout=None)\n--\n\nSend every message of an iterable, in "
	  "bursts (one wake-up per burst).  Returns how many.  timeout applies to each burst; "
	  "on an error the messages before it have been sent." },
	{ "recv", (PyCFunction)(void (*)(void))ring_recv, METH_VARARGS | METH_KEYWORDS,
	  "recv(timeout=None)\n--\n\nThe next message as bytes.  Raises EOFError at the end of "
	  "the stream, TimeoutError when timeout seconds pass." },
	{ "recv_into", (PyCFunction)(void (*)(void))ring_recv_into, METH_VARARGS | METH_KEYWORDS,
	  "recv_into(buffer, timeout=None)\n--\n\nCopy the next message into a writable buffer; "
	  "returns its length.  A message longer than the buffer raises MessageSizeError and "
	  "stays in the ring." },
	{ "recv_many", (PyCFunction)(void (*)(void))ring_recv_many, METH_VARARGS | METH_KEYWORDS,
	  "recv_many(max_messages=64, timeout=None)\n--\n\nA list of 1..max_messages (at most "
	  "64) messages: waits for the first, takes what else is there." },
	{ "reserve", (PyCFunction)(void (*)(void))ring_reserve, METH_VARARGS | METH_KEYWORDS,
	  "reserve(size, timeout=None)\n--\n\nZero-copy send: `with tx.reserve(n) as mv:` gives "
	  "a writable memoryview of n bytes in the ring; the message is committed when the "
	  "block ends without an exception (set .length on the object before to commit fewer "
	  "bytes), and the view is released." },
	{ "peek", (PyCFunction)(void (*)(void))ring_peek, METH_VARARGS | METH_KEYWORDS,
	  "peek(timeout=None)\n--\n\nZero-copy receive: `with rx.peek() as mv:` gives a read-only "
	  "memoryview of the next message in place; it is consumed and the view released when "
	  "the block ends (even by an exception)." },
	{ "close_stream", (PyCFunction)ring_close_stream, METH_NOARGS,
	  "close_stream()\n--\n\nEnd of stream (producer): consumers get every message sent "
	  "before, then EOFError." },
	{ "reopen_stream", (PyCFunction)ring_reopen_stream, METH_NOARGS,
	  "reopen_stream()\n--\n\nLet a closed stream go on." },
	{ "close", (PyCFunction)ring_close, METH_NOARGS,
	  "close()\n--\n\nGive the role back and detach.  Idempotent.  The block stays: see "
	  "unlink()." },
	{ "unlink", (PyCFunction)ring_unlink, METH_NOARGS,
	  "unlink()\n--\n\nRemove the ring's name (the block goes when the last user detaches)." },
	{ "__enter__", (PyCFunction)ring_enter, METH_NOARGS, NULL },
	{ "__exit__", (PyCFunction)ring_exit, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef ring_getset[] = {
	{ "closed", (getter)ring_get_closed, NULL, "True once close() was called.", NULL },
	{ "max_msg", (getter)ring_get_max_msg, NULL, "Largest message, bytes.", NULL },
	{ "kind", (getter)ring_get_kind, NULL, "'spsc', 'mpmc' or 'broadcast'.", NULL },
	{ "role", (getter)ring_get_role, NULL, "'producer' or 'consumer'.", NULL },
	{ "name", (getter)ring_get_name, NULL, "The block's name.", NULL },
	{ "last_seq", (getter)ring_get_last_seq, NULL,
	  "Broadcast: sequence number of the last message received.", NULL },
	{ "dropped", (getter)ring_get_dropped, NULL,
	  "Lossy broadcast: messages this subscriber missed.", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

PyTypeObject pyshmbus_ring_type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "shmbus._shmbus.Ring",
	.tp_basicsize = sizeof(RingObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.tp_doc = "Ring(kind, name, role, create=False, capacity=0, slots=0, slot_size=0, "
		  "subscribers=0, policy=0, start=1, mode=0): one handle on a ring. "
		  "Use shmbus.SPSC, shmbus.MPMC, shmbus.Broadcast.",
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)ring_init,
	.tp_dealloc = (destructor)ring_dealloc,
	.tp_methods = ring_methods,
	.tp_getset = ring_getset,
	.tp_iter = (getiterfunc)ring_iter,
	.tp_iternext = (iternextfunc)ring_next,
	.tp_weaklistoffset = offsetof(RingObject, weakrefs),
};
