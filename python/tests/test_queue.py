"""shmbus.Queue against multiprocessing.Queue's documented behaviour: FIFO,
block/timeout, Empty/Full, *_nowait, qsize/empty/full, close/join_thread,
children under fork, spawn and forkserver, big objects and out-of-band
buffers, nothing left in /dev/shm."""
import multiprocessing as mp
import os
import pickle
import queue
import unittest

try:
    import numpy as np
except ImportError:
    np = None

import shmbus
from support import main


def ours():
    """Queue blocks of this process (the ring: shmbus_q_PID_*) and of its
    children (big objects: shmbus_qb_PID_*, PID ours or dead by now); other
    processes' queues on the machine are none of our business."""
    mine = set()
    for n in os.listdir("/dev/shm"):
        parts = n.split("_")
        if len(parts) < 4 or parts[0] != "shmbus" or parts[1] not in ("q", "qb"):
            continue
        pid = int(parts[2])
        if pid == os.getpid() or (parts[1] == "qb" and not os.path.exists(f"/proc/{pid}")):
            mine.add(n)
    return mine


def child_put(q, base, n):
    for i in range(n):
        q.put((base, i, b"x" * (i % 50)))
    q.put((base, "big", b"B" * 100000))   # bigger than a slot
    q.close()
    q.join_thread()


def child_echo(qin, qout):
    while True:
        obj = qin.get()
        if obj is None:
            break
        qout.put(obj)


class QueueTests(unittest.TestCase):
    def setUp(self):
        self.before = ours()

    def tearDown(self):
        left = ours() - self.before
        self.assertEqual(left, set(), "Queue blocks left in /dev/shm")

    def test_fifo_and_nowait(self):
        q = shmbus.Queue()
        objs = [None, 1, "two", [3.0], {"four": (4,)}, b"", bytearray(b"six"), 2 ** 100]
        for o in objs:
            q.put(o)
        self.assertEqual(q.qsize(), len(objs))
        self.assertFalse(q.empty())
        self.assertEqual([q.get() for _ in objs], objs)
        self.assertTrue(q.empty())
        with self.assertRaises(queue.Empty):
            q.get_nowait()
        with self.assertRaises(queue.Empty):
            q.get(block=False)
        with self.assertRaises(queue.Empty):
            q.get(timeout=0.05)
        q.put_nowait(7)
        self.assertEqual(q.get_nowait(), 7)
        q.close()
        q.join_thread()

    def test_full(self):
        q = shmbus.Queue(maxsize=2)   # a power of two: exactly 2
        q.put(1)
        q.put(2)
        self.assertTrue(q.full())
        with self.assertRaises(queue.Full):
            q.put(3, block=False)
        with self.assertRaises(queue.Full):
            q.put_nowait(3)
        with self.assertRaises(queue.Full):
            q.put(3, timeout=0.05)
        self.assertEqual(q.get(), 1)
        q.put(3)
        self.assertEqual([q.get(), q.get()], [2, 3])
        q.close()

    def test_closed(self):
        q = shmbus.Queue()
        with self.assertRaises(ValueError):
            q.join_thread()   # before close, as multiprocessing asserts
        q.close()
        with self.assertRaises(ValueError):
            q.put(1)
        with self.assertRaises(ValueError):
            q.get()
        q.cancel_join_thread()
        q.join_thread()

    def test_unpicklable(self):
        q = shmbus.Queue()
        with self.assertRaises((pickle.PicklingError, TypeError, AttributeError)):
            q.put(lambda: 0)   # raised by put itself (no feeder thread)
        q.put(1)
        self.assertEqual(q.get(), 1)
        q.close()

    def test_big_objects_and_buffers(self):
        q = shmbus.Queue(slot_size=256)
        big = bytes(range(256)) * 1000
        q.put(big)
        q.put(pickle.PickleBuffer(bytearray(b"oob" * 10)))
        q.put(bytearray(b"y" * 5000))
        self.assertEqual(q.get(), big)
        self.assertEqual(bytes(q.get()), b"oob" * 10)
        self.assertEqual(q.get(), bytearray(b"y" * 5000))
        q.put(big)   # never got: close() removes its block too
        q.close()

    @unittest.skipIf(np is None, "numpy does not import here")
    def test_numpy(self):
        q = shmbus.Queue(slot_size=1024)
        small = np.arange(10, dtype=np.int16)
        large = np.random.default_rng(1).random((300, 300))
        q.put(small)
        q.put({"a": large, "b": [large[:, 0]]})
        a = q.get()
        np.testing.assert_array_equal(a, small)
        a[0] = 5   # writable, its own memory
        d = q.get()
        np.testing.assert_array_equal(d["a"], large)
        np.testing.assert_array_equal(d["b"][0], large[:, 0])
        q.close()

    def across(self, method):
        ctx = mp.get_context(method)
        q = shmbus.Queue(maxsize=16)
        kids = [ctx.Process(target=child_put, args=(q, k, 200)) for k in range(3)]
        for p in kids:
            p.start()
        got = [q.get(timeout=60) for _ in range(3 * 201)]
        for p in kids:
            p.join(60)
            self.assertEqual(p.exitcode, 0)
        for k in range(3):
            mine = [g for g in got if g[0] == k]
            # each producer's objects arrive in its order
            self.assertEqual(mine[:-1], [(k, i, b"x" * (i % 50)) for i in range(200)])
            self.assertEqual(mine[-1], (k, "big", b"B" * 100000))
        # and a consumer in a child
        back = shmbus.Queue()
        echo = ctx.Process(target=child_echo, args=(q, back))
        echo.start()
        for i in range(50):
            q.put(i)
        q.put(None)
        self.assertEqual([back.get(timeout=60) for _ in range(50)], list(range(50)))
        echo.join(60)
        self.assertEqual(echo.exitcode, 0)
        q.close()
        back.close()

    def test_fork(self):
        self.across("fork")

    def test_spawn(self):
        self.across("spawn")

    def test_forkserver(self):
        self.across("forkserver")


if __name__ == "__main__":
    main()
