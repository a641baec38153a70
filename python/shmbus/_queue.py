"""shmbus.Queue: a drop-in for multiprocessing.Queue over an MPMC ring.

Objects are pickled (protocol 5) straight into a slot of a shared MPMC ring
by put() itself: there is no feeder thread and no pipe, so put() returns once
the object is in shared memory, and a process may exit right after it.

One message per object, its first byte saying how it is framed:
    pickle (starts with 0x80, PROTO)  the pickle has no out-of-band buffer
    b"O" + u32 n + n x u64 lengths + pickle + the n buffers
                                     protocol 5 out-of-band buffers (numpy
                                     arrays, bytearrays, PickleBuffers)
    b"B" + name                      too big for a slot: the "O" framing is in
                                     a block of its own, NAME, which the getter
                                     unlinks at once and reads in place (the
                                     buffers, numpy arrays among them, are
                                     views of that block: copied once, by put)
"""
import os
import pickle
import queue
import secrets
import struct
import threading
import weakref

from . import _shmbus
from ._block import SharedBlock
from ._rings import MPMC
from ._shmbus import ForkError

_dumps = pickle.dumps
_loads = pickle.loads

_U32 = struct.Struct("<I")


def _pow2(n):
    p = 2
    while p < n:
        p *= 2
    return p


def _frame(data, bufs):
    """The "O" framing of pickle DATA with out-of-band buffers BUFS, as a
    list of parts."""
    raws = [b.raw() for b in bufs]
    head = b"O" + _U32.pack(len(raws)) + struct.pack(f"<{len(raws)}Q", *(r.nbytes for r in raws))
    return [head + struct.pack("<Q", len(data)), data, *raws]


def _decode_o(mv):
    """Unpickle an "O" framing in memoryview MV (buffers are views of MV)."""
    n, = _U32.unpack_from(mv, 1)
    lens = struct.unpack_from(f"<{n}Q", mv, 5)
    off = 5 + 8 * n
    plen, = struct.unpack_from("<Q", mv, off)
    off += 8
    data = mv[off:off + plen]
    off += plen
    buffers = []
    for ln in lens:
        buffers.append(mv[off:off + ln])
        off += ln
    if off > len(mv):
        raise ValueError("shmbus.Queue: a message shorter than its framing says")
    return pickle.loads(data, buffers=buffers)


class _Shared:
    """What every process holding the queue shares: the ring's name and the
    creator (who unlinks it)."""

    def __init__(self, name, slots, slot_size, owner_pid):
        self.name, self.slots, self.slot_size, self.owner_pid = name, slots, slot_size, owner_pid


def _finalize(name, owner_pid):
    """At the creator's end (close of the last reference, or exit): unlink the
    ring and the blocks of any big object never got."""
    if os.getpid() != owner_pid:
        return
    try:
        with MPMC(name, "consumer") as rx:
            try:
                while True:
                    m = rx.recv(timeout=0)
                    if m[:1] == b"B":
                        try:
                            _shmbus.unlink(m[1:].decode())
                        except OSError:
                            pass
            except (TimeoutError, EOFError):
                pass
    except OSError:
        pass
    try:
        _shmbus.unlink(name)
    except OSError:
        pass


class Queue:
    """A process-shared FIFO queue with multiprocessing.Queue's interface.

    Queue(maxsize=0, *, slot_size=16384)

    put/get (block, timeout), put_nowait/get_nowait, qsize/empty/full,
    close/join_thread/cancel_join_thread; raises queue.Empty and queue.Full.
    Picklable: passes to child processes under fork, spawn and forkserver.
    Objects bigger than slot_size (pickled) travel in a block of their own.

    Differences from multiprocessing.Queue:
    - capacity: maxsize is rounded up to a power of two (at least 2);
      maxsize=0 gives 512 slots, not an unbounded queue: put() then waits
      (blocking) or raises queue.Full when they are all taken;
    - put() pickles and writes in the caller (no feeder thread): a
      pickling error is raised by put() itself, and join_thread() and
      cancel_join_thread() have nothing to do;
    - the ring lives until the creating process closes the queue with
      close(), drops it, or exits (it then also removes the blocks of big
      objects never taken); a creator killed with SIGKILL leaves the block,
      which `shmbus gc` removes.  Other processes need the creator alive to
      open the queue the first time;
    - qsize() is exact for a quiescent queue and a moment's value otherwise
      (like the original, which is not reliable either).
    """

    def __init__(self, maxsize=0, *, slot_size=16384, ctx=None):
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        slots = _pow2(maxsize) if maxsize else 512
        name = "shmbus_q_%d_%s" % (os.getpid(), secrets.token_hex(6))
        MPMC(name, "producer", create=True, slots=slots, slot_size=slot_size,
             ephemeral=True).close()
        self._maxsize = maxsize
        self._setup(_Shared(name, slots, slot_size, os.getpid()))
        self._finalizer = weakref.finalize(self, _finalize, name, os.getpid())

    def _setup(self, shared):
        self._shared = shared
        self._local = threading.local()   # one handle per thread and role
        self._pid = os.getpid()
        self._closed = False

    def __getstate__(self):
        return (self._shared, self._maxsize)

    def __setstate__(self, state):
        self._shared, self._maxsize = state
        self._setup(self._shared)
        self._finalizer = None

    def _open(self, role):
        """This thread's handle of ROLE (one per thread: the library's rule)."""
        h = MPMC(self._shared.name, role)
        setattr(self._local, role, h)
        return h

    # -- put ---------------------------------------------------------------

    def put(self, obj, block=True, timeout=None):
        """Put OBJ in the queue, waiting up to TIMEOUT seconds for a free slot
        if BLOCK (queue.Full when none came); ValueError after close()."""
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        bufs = []
        data = _dumps(obj, protocol=5, buffer_callback=bufs.append)
        t = (None if timeout is None else max(timeout, 0)) if block else 0
        for _ in range(2):
            try:
                tx = self._local.producer
            except AttributeError:
                tx = self._open("producer")
            try:
                if not bufs and len(data) <= self._shared.slot_size:
                    tx.send(data, t)   # the common case: one call
                else:
                    self._put_framed(tx, _frame(data, bufs), t)
                return
            except TimeoutError:
                raise queue.Full from None
            except ForkError:   # inherited over fork: this process opens its own
                self._setup(self._shared)

    def _put_framed(self, tx, parts, t):
        size = sum(len(p) if isinstance(p, bytes) else p.nbytes for p in parts)
        if size <= self._shared.slot_size:
            with tx.reserve(size, t) as mv:
                off = 0
                for p in parts:
                    n = len(p) if isinstance(p, bytes) else p.nbytes
                    mv[off:off + n] = p
                    off += n
        else:
            self._put_big(tx, parts, size, t)

    def _put_big(self, tx, parts, size, t):
        name = "shmbus_qb_%d_%s" % (os.getpid(), secrets.token_hex(8))
        with SharedBlock(name, create=True, size=size) as b:
            off = 0
            for p in parts:
                n = len(p) if isinstance(p, bytes) else p.nbytes
                b.buf[off:off + n] = p
                off += n
        try:
            tx.send(b"B" + name.encode(), timeout=t)
        except BaseException:
            _shmbus.unlink(name)
            raise

    def put_nowait(self, obj):
        """put(obj, False)."""
        return self.put(obj, False)

    # -- get ---------------------------------------------------------------

    def get(self, block=True, timeout=None):
        """Remove and return an object, waiting up to TIMEOUT seconds if BLOCK
        (queue.Empty when none came)."""
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")
        t = (None if timeout is None else max(timeout, 0)) if block else 0
        for _ in range(2):
            try:
                rx = self._local.consumer
            except AttributeError:
                rx = self._open("consumer")
            try:
                m = rx.recv(t)
                break
            except (TimeoutError, EOFError):
                raise queue.Empty from None
            except ForkError:
                self._setup(self._shared)
        kind = m[:1]
        if kind == b"\x80":
            return _loads(m)
        if kind == b"O":
            # the out-of-band buffers are views of the received copy
            return _decode_o(memoryview(bytearray(m)))
        if kind != b"B":
            raise ValueError("shmbus.Queue: a message of unknown framing")
        name = m[1:].decode()
        b = SharedBlock(name)
        _shmbus.unlink(name)
        try:
            return _decode_o(b.buf)   # views of the block: no second copy
        finally:
            # the block is unmapped once nothing views it (GC of the cycle)
            del b

    def get_nowait(self):
        """get(False)."""
        return self.get(False)

    # -- size --------------------------------------------------------------

    def qsize(self):
        """How many objects are in the queue (a moment's value)."""
        from . import inspect
        return int(inspect(self._shared.name)["ring"]["occupancy"])

    def empty(self):
        return self.qsize() == 0

    def full(self):
        return self.qsize() >= self._shared.slots

    # -- end ---------------------------------------------------------------

    def close(self):
        """This process puts no more: its handles are closed.  In the creator
        it also removes the ring (with what is left in it)."""
        self._closed = True
        for role in ("producer", "consumer"):
            h = getattr(self._local, role, None)
            if h is not None and self._pid == os.getpid():
                h.close()
            setattr(self._local, role, None)
        if self._finalizer is not None:
            self._finalizer()

    def join_thread(self):
        """Nothing to wait for: put() writes in the caller (no feeder thread)."""
        if not self._closed:
            raise ValueError("join_thread() before close()")

    def cancel_join_thread(self):
        """Nothing to cancel (no feeder thread)."""

    def __repr__(self):
        return f"<shmbus.Queue {self._shared.name}>"

