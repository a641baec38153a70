"""numpy arrays through a ring without pickling: dtype, shape and raw data.

Wire format of one message (little header, then the bytes of the array in C
order), the same for every ring kind:

    magic  b"SBNA"   4 bytes
    ndim             u8
    dtype length     u16 (then the dtype as numpy's .npy format writes it,
                          ASCII: "'<f8'", or a list for a structured dtype)
    shape            ndim x u64 (little-endian)
    padding to a multiple of 16 bytes, then the data

The data starts 16-byte aligned in the ring (ring messages are 8- or 16-byte
aligned), so a view over it is aligned for every numpy dtype but the rare
longer ones.  Object arrays cannot be sent (their elements are pointers);
non-contiguous arrays are copied to C order first (send_array says so in
its docstring; the copy is the only one on the sending side otherwise).
"""
import ast
import struct
from contextlib import contextmanager

MAGIC = b"SBNA"


def _np():
    try:
        import numpy
    except ImportError:
        raise ImportError("numpy is needed for the *_array() calls "
                          "(Debian: apt-get install python3-numpy)") from None
    return numpy


def header(a):
    """The header bytes for array A (already C-contiguous)."""
    if a.dtype.hasobject:
        raise ValueError("arrays of Python objects cannot be sent without pickling")
    if a.ndim > 255:
        raise ValueError("too many dimensions")
    np = _np()
    ds = repr(np.lib.format.dtype_to_descr(a.dtype)).encode("ascii")
    if len(ds) > 65535:
        raise ValueError("dtype too long to describe")
    h = MAGIC + struct.pack("<BH", a.ndim, len(ds)) + ds + struct.pack(f"<{a.ndim}Q", *a.shape)
    return h + b"\0" * (-len(h) % 16)


def decode(mv):
    """(dtype, shape, offset of the data) of the message in memoryview MV."""
    np = _np()
    if len(mv) < 7 or bytes(mv[:4]) != MAGIC:
        raise ValueError("not an array message (no SBNA header)")
    ndim, dlen = struct.unpack_from("<BH", mv, 4)
    off = 7 + dlen
    if len(mv) < off + 8 * ndim:
        raise ValueError("array message too short for its header")
    try:
        # literal_eval: the description is data, never code
        dtype = np.lib.format.descr_to_dtype(ast.literal_eval(bytes(mv[7:off]).decode("ascii")))
    except (TypeError, ValueError, SyntaxError, UnicodeDecodeError, MemoryError,
            RecursionError):
        raise ValueError("array message with a bad dtype") from None
    if dtype.hasobject:
        raise ValueError("array message with an object dtype")
    shape = struct.unpack_from(f"<{ndim}Q", mv, off)
    off += 8 * ndim
    off += -off % 16
    count = 1
    for s in shape:
        count *= s
    if count * dtype.itemsize != len(mv) - off:
        raise ValueError("array message: shape and dtype do not match its length")
    return dtype, shape, off


class ArrayMixin:
    """send_array / recv_array / peek_array for the ring classes."""

    def send_array(self, a, timeout=None):
        """Send numpy array A (dtype, shape, data; no pickling).

        The data is written straight into the ring (one copy).  A
        non-contiguous array is first copied to C order (a second copy);
        an object array raises ValueError.
        """
        np = _np()
        a = np.asarray(a)
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        h = header(a)
        n = len(h) + a.nbytes
        zone = self.reserve(n, timeout)
        with zone as mv:
            mv[:len(h)] = h
            if a.nbytes:
                mv[len(h):] = a.reshape(-1).view(np.uint8)

    def recv_array(self, out=None, timeout=None):
        """The next message as a new numpy array, or copied into OUT (an
        array of the same shape and dtype, returned).  EOFError at the end
        of the stream; ValueError for a message that is not an array (it is
        consumed)."""
        np = _np()
        with self.peek(timeout) as mv:
            dtype, shape, off = decode(mv)
            src = np.frombuffer(mv, dtype=dtype, offset=off).reshape(shape)
            try:
                if out is None:
                    return src.copy()
                if out.shape != tuple(shape) or out.dtype != dtype:
                    raise ValueError(f"out has shape {out.shape} and dtype {out.dtype}; "
                                     f"the message {tuple(shape)} {dtype}")
                np.copyto(out, src)
                return out
            finally:
                del src

    @contextmanager
    def peek_array(self, timeout=None):
        """`with rx.peek_array() as a:` a read-only array over the message in
        the ring (no copy), valid only inside the block: after it the ring
        may reuse its bytes (reading it stays memory-safe, as the mapping
        lives as long as the array, but shows whatever the ring holds), and
        the ring cannot be closed (BufferError) until the array is gone:
        `del a` after the block, or copy what you keep inside it."""
        np = _np()
        zone = self.peek(timeout)
        zone.tolerant = True
        with zone as mv:
            dtype, shape, off = decode(mv)
            a = np.frombuffer(mv, dtype=dtype, offset=off).reshape(shape)
            try:
                yield a
            finally:
                del a
