/*
 * pyshmbus.h - what the files of the CPython extension shmbus._shmbus share.
 *
 * The extension is a client of the public API only (the headers of include/shmbus/).
 * Its main invariant: no library call made with the GIL released touches a
 * Python object, and no handle is used by two threads at once (the library
 * forbids it): a ring marks itself busy before it lets the GIL go, and any
 * other call on it meanwhile gets RuntimeError.
 *
 *   module.c     module init, conversions (timeouts), fork generation
 *   errors.c     the shmbus.Error hierarchy and the code -> exception map
 *   ring_ops.c   one table of operations per ring kind (spsc, mpmc, broadcast)
 *   ring.c       the Ring type: send/recv/bursts/end of stream/close
 *   zone.c       the zero-copy reserve()/peek() blocks and their buffers
 *   block.c      SharedBlock: a named block with SharedMemory's interface
 *   slots.c      SlotTable: ShareableList's items on the slot table
 *   manager.c    Manager: blocks unlinked at shutdown or when this process dies
 */
#ifndef PYSHMBUS_H
#define PYSHMBUS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdbool.h>
#include <stddef.h>

/* A Python exception is set (not a library code). */
#define PYSHMBUS_EPY (-1000000)
/* Longest wait of one library call while the GIL is released: between two
 * slices the interpreter runs its signal handlers (Ctrl-C). */
#define PYSHMBUS_SLICE_MS 50

/* One message as the rings see it, whatever their kind. */
struct pymsg {
	const void *data;
	size_t len;
};

/* Most messages one burst call moves (SHMBUS_MPMC_BURST_MAX). */
#define PYSHMBUS_BURST_MAX 64u

enum ring_role { ROLE_PRODUCER = 1, ROLE_CONSUMER = 2 };

/*
 * The operations of one ring kind.  Every function takes the library handle
 * and a timeout in ms: 0 means the _try form (-EAGAIN when it would wait),
 * > 0 the blocking form (-ETIMEDOUT).  They touch no Python object, so they
 * may run without the GIL.
 */
struct ring_ops {
	const char *kind;
	int (*push)(void *h, const void *data, size_t len, int tmo);
	int (*push_burst)(void *h, const struct pymsg *msgs, unsigned n, int tmo);
	int (*reserve)(void *h, size_t len, void **data, int tmo);
	int (*commit)(void *h, size_t len);
	void (*cancel)(void *h);
	/* peek fills seq/dropped where the kind has them (broadcast), else 0. */
	int (*peek)(void *h, struct pymsg *msg, unsigned long long *seq,
		    unsigned long long *dropped, int tmo);
	int (*release)(void *h);
	int (*peek_burst)(void *h, struct pymsg *msgs, unsigned n, int tmo);
	int (*release_burst)(void *h, unsigned n);
	int (*pop)(void *h, void *buf, size_t size, int tmo);
	int (*close_stream)(void *h);
	int (*reopen_stream)(void *h);
	size_t (*max_msg)(void *h);
	void (*close)(void *h);
};

extern const struct ring_ops pyshmbus_spsc_ops;
extern const struct ring_ops pyshmbus_mpmc_ops;
extern const struct ring_ops pyshmbus_bcast_ops;

typedef struct {
	PyObject_HEAD
	const struct ring_ops *ops;
	void *h;                 /* library handle; NULL once closed */
	int role;                /* enum ring_role */
	unsigned long fork_gen;  /* pyshmbus_fork_gen when opened */
	bool busy;               /* a call waits with the GIL released */
	bool zone;               /* a reserve()/peek() block is open */
	Py_ssize_t exports;      /* buffers over the ring still alive */
	unsigned long long last_seq, dropped; /* broadcast subscriber */
	PyObject *name;
	PyObject *weakrefs;
} RingObject;

extern PyTypeObject pyshmbus_ring_type;
extern PyTypeObject pyshmbus_zone_type;
extern PyTypeObject pyshmbus_block_type;
extern PyTypeObject pyshmbus_slots_type;
extern PyTypeObject pyshmbus_manager_type;

/* Incremented in every child after fork(): handles opened before are dead. */
extern volatile unsigned long pyshmbus_fork_gen;

/* errors.c */
int pyshmbus_errors_init(PyObject *module);
/* Raise the exception for library code @code (negative) about @name (may be
 * NULL); returns NULL. */
PyObject *pyshmbus_raise(int code, PyObject *name);
/* Raise shmbus.ForkError for a handle used in a forked child. */
PyObject *pyshmbus_raise_fork(void);

/* module.c: timeout (seconds, None = forever) to ms (-1 = forever). */
int pyshmbus_timeout_ms(PyObject *timeout, int *ms);

/* ring.c */
int pyshmbus_ring_check(RingObject *r, int role);
typedef int (*ring_attempt_fn)(RingObject *r, void *ctx, int tmo);
int pyshmbus_ring_wait(RingObject *r, ring_attempt_fn fn, void *ctx, int timeout_ms);
PyObject *pyshmbus_zone_new(RingObject *r, int role, size_t len, int timeout_ms);

#endif /* PYSHMBUS_H */
