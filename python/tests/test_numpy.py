"""numpy arrays through the rings without pickling: dtypes, shapes,
non-contiguous arrays (copied), object arrays (refused), into a given array,
a view in place, across processes.  Skipped (77) where numpy does not
import."""
import multiprocessing as mp
import sys
import unittest

try:
    import numpy as np
except ImportError:
    np = None

import shmbus
from support import SpscPair, main, name


def child_send(ring):
    with shmbus.SPSC(ring, "producer") as tx:
        for i in range(20):
            tx.send_array(np.arange(i * 1000, dtype=np.float64).reshape(-1, 10)
                          if i else np.zeros((0, 10)))
        tx.close_stream()


@unittest.skipIf(np is None, f"numpy does not import in {sys.executable}")
class Arrays(SpscPair):
    CAPACITY = 1 << 20

    def roundtrip(self, a):
        self.tx.send_array(a)
        b = self.rx.recv_array()
        self.assertEqual((b.dtype, b.shape), (a.dtype, a.shape))
        np.testing.assert_array_equal(a, b)
        self.assertTrue(b.flags.writeable)  # a copy of its own
        return b

    def test_dtypes_and_shapes(self):
        for dt in (np.uint8, np.int16, np.int64, np.float32, np.float64, np.complex128,
                   np.bool_, ">i4", "<U5", "S3", [("x", "<f4"), ("y", "<i2")]):
            for shape in ((), (0,), (7,), (3, 4), (2, 3, 4)):
                with self.subTest(dtype=dt, shape=shape):
                    a = np.zeros(shape, dtype=dt)
                    if a.size and a.dtype.kind in "iuf":
                        a = (np.arange(a.size) % 100).astype(dt).reshape(shape)
                    self.roundtrip(a)

    def test_non_contiguous_is_copied(self):
        a = np.arange(100).reshape(10, 10)
        for v in (a[:, 3], a[::2, ::3], a.T):
            self.assertFalse(v.flags.c_contiguous)
            self.roundtrip(v)

    def test_object_arrays_refused(self):
        with self.assertRaises(ValueError):
            self.tx.send_array(np.array([object(), 1], dtype=object))
        with self.assertRaises(TimeoutError):
            self.rx.recv(timeout=0)  # nothing was sent

    def test_into_given_array(self):
        a = np.arange(12, dtype=np.int32).reshape(3, 4)
        out = np.empty((3, 4), dtype=np.int32)
        self.tx.send_array(a)
        self.assertIs(self.rx.recv_array(out=out), out)
        np.testing.assert_array_equal(out, a)
        self.tx.send_array(a)
        with self.assertRaises(ValueError):
            self.rx.recv_array(out=np.empty((4, 3), dtype=np.int32))

    def test_peek_array_view(self):
        a = np.arange(6, dtype=np.float64)
        self.tx.send_array(a)
        with self.rx.peek_array() as v:
            self.assertFalse(v.flags.writeable)  # in place, read-only
            self.assertEqual(v.sum(), 15.0)
        self.tx.send(b"after")
        self.assertEqual(self.rx.recv(), b"after")  # the message was consumed
        # v still names the array: the mapping stays, the ring cannot close
        with self.assertRaises(BufferError):
            self.rx.close()
        del v
        self.rx.close()

    def test_not_an_array_message(self):
        self.tx.send(b"plain bytes")
        with self.assertRaises(ValueError):
            self.rx.recv_array()
        self.tx.send(b"SBNA\x01\x05\x00'<f8'" + b"\xff" * 8)  # shape bigger than the data
        with self.assertRaises(ValueError):
            self.rx.recv_array()

    def test_across_processes(self):
        ring = name("npx")
        shmbus.SPSC(ring, "producer", create=True, capacity=1 << 18).close()
        p = mp.get_context("spawn").Process(target=child_send, args=(ring,))
        p.start()
        got = []
        with shmbus.SPSC(ring, "consumer") as rx:
            try:
                while True:
                    got.append(rx.recv_array())
            except EOFError:
                pass
        p.join(60)
        shmbus.unlink(ring)
        self.assertEqual(p.exitcode, 0)
        self.assertEqual(len(got), 20)
        for i, a in enumerate(got[1:], 1):
            np.testing.assert_array_equal(a, np.arange(i * 1000, dtype=np.float64)
                                          .reshape(-1, 10))


if __name__ == "__main__":
    main()
