"""The rings from Python: SPSC, MPMC and Broadcast between Python processes
(fork and spawn), end of stream, bursts, timeouts, zero-copy views, bad
arguments, threads and fork."""
import multiprocessing as mp
import threading
import unittest

import shmbus
from support import ShmTestCase, SpscPair, in_fork, main, name, wait_subscribers

N = 2000


def payload(i):
    return (b"%08d" % i) * (1 + i % 7)


def produce(kind, ring, n, opts):
    cls = getattr(shmbus, kind)
    with cls(ring, "producer", **opts) as tx:
        for i in range(n):
            tx.send(payload(i))
        tx.close_stream()


def consume(kind, ring, q, opts):
    cls = getattr(shmbus, kind)
    with cls(ring, "consumer" if kind != "Broadcast" else "subscriber", **opts) as rx:
        q.put([m for m in rx])


class CrossProcess(ShmTestCase):
    """A producer and a consumer process, each start method, each kind."""

    def roundtrip(self, method, kind, create_opts, sub_opts=None):
        ctx = mp.get_context(method)
        ring = name(kind)
        cls = getattr(shmbus, kind)
        # The creator holds no role: it only makes the block (then unlinks).
        if kind == "Broadcast":
            # subscribe before the producer starts, so nothing is missed
            holder = cls(ring, "subscriber", create=True, **create_opts)
        else:
            holder = cls(ring, "consumer", create=True, **create_opts)
        holder.close()
        q = ctx.Queue()
        c = ctx.Process(target=consume, args=(kind, ring, q, sub_opts or {}))
        c.start()
        if kind == "Broadcast":
            # wait until the subscriber has joined, so it sees message 0
            wait_subscribers(ring)
        p = ctx.Process(target=produce, args=(kind, ring, N, {}))
        p.start()
        got = q.get(timeout=120)
        p.join(60)
        c.join(60)
        shmbus.unlink(ring)
        self.assertEqual(p.exitcode, 0)
        self.assertEqual(c.exitcode, 0)
        self.assertEqual(got, [payload(i) for i in range(N)])

    def test_spsc_fork(self):
        self.roundtrip("fork", "SPSC", {"capacity": 4096})

    def test_spsc_spawn(self):
        self.roundtrip("spawn", "SPSC", {"capacity": 4096})

    def test_mpmc_fork(self):
        self.roundtrip("fork", "MPMC", {"slots": 16, "slot_size": 64})

    def test_mpmc_spawn(self):
        self.roundtrip("spawn", "MPMC", {"slots": 16, "slot_size": 64})

    def test_broadcast_fork(self):
        self.roundtrip("fork", "Broadcast", {"capacity": 4096}, {"start": "oldest"})


class InProcess(SpscPair):

    def test_bytes_like(self):
        import array
        self.tx.send(b"a")
        self.tx.send(bytearray(b"bc"))
        self.tx.send(memoryview(b"xdefx")[1:4])
        self.tx.send(array.array("i", [1]))
        self.tx.send(b"")
        self.assertEqual(self.rx.recv(), b"a")
        self.assertEqual(self.rx.recv(), b"bc")
        self.assertEqual(self.rx.recv(), b"def")
        self.assertEqual(self.rx.recv(), array.array("i", [1]).tobytes())
        self.assertEqual(self.rx.recv(), b"")

    def test_timeouts(self):
        for t in (0, 0.05):
            with self.assertRaises(TimeoutError) as cm:
                self.rx.recv(timeout=t)
            self.assertIsInstance(cm.exception, shmbus.TimeoutError)
            self.assertIsInstance(cm.exception, shmbus.Error)
        big = b"x" * 600
        self.tx.send(big)
        with self.assertRaises(shmbus.TimeoutError):
            self.tx.send(big, timeout=0.05)  # the ring is full
        self.assertEqual(self.rx.recv(timeout=1.5), big)

    def test_end_of_stream(self):
        self.tx.send_many([b"1", b"2"])
        self.tx.close_stream()
        with self.assertRaises(shmbus.StreamClosedError):
            self.tx.send(b"3")
        self.assertEqual(list(self.rx), [b"1", b"2"])
        for _ in range(2):  # repeatably
            with self.assertRaises(EOFError):
                self.rx.recv()
        self.tx.reopen_stream()
        self.tx.send(b"4")
        self.assertEqual(self.rx.recv(), b"4")

    def test_bursts(self):
        msgs = [bytes([i]) * i for i in range(100)]
        self.assertEqual(self.tx.send_many(msgs[:10]), 10)
        got = self.rx.recv_many(max_messages=4)
        self.assertEqual(got, msgs[:4])
        got += self.rx.recv_many()
        self.assertEqual(got, msgs[:10])
        # more than the ring holds: a consumer thread drains it meanwhile
        out = []
        t = threading.Thread(target=lambda: out.extend(
            m for _ in range(90) for m in [self.rx.recv()]))
        t.start()
        self.assertEqual(self.tx.send_many(msgs[10:], timeout=30), 90)
        t.join(60)
        self.assertEqual(out, msgs[10:])

    def test_recv_into(self):
        self.tx.send(b"hello")
        small = bytearray(3)
        with self.assertRaises(shmbus.MessageSizeError):
            self.rx.recv_into(small)
        buf = bytearray(16)
        self.assertEqual(self.rx.recv_into(buf), 5)  # it stayed in the ring
        self.assertEqual(buf[:5], b"hello")
        with self.assertRaises(TypeError):
            self.rx.recv_into(b"readonly")

    def test_zero_copy(self):
        z = self.tx.reserve(8)
        with z as mv:
            self.assertFalse(mv.readonly)
            mv[:] = b"abcdefgh"
            z.length = 5
        with self.assertRaises(ValueError):
            mv[0] = 1  # released with the block
        with self.rx.peek() as mv2:
            self.assertTrue(mv2.readonly)
            self.assertEqual(bytes(mv2), b"abcde")
        with self.assertRaises(ValueError):
            bytes(mv2)
        # an exception in a reserve block sends nothing
        with self.assertRaises(KeyError):
            with self.tx.reserve(4) as mv:
                mv[:] = b"nope"
                raise KeyError
        with self.assertRaises(TimeoutError):
            self.rx.recv(timeout=0)
        # no other call on the ring inside a block
        with self.tx.reserve(1) as mv:
            mv[0] = 7
            with self.assertRaises(RuntimeError):
                self.tx.send(b"x")
            with self.assertRaises(BufferError):
                self.tx.close()
        # a buffer kept past the block: BufferError, the ring still works
        keep = []
        with self.assertRaises(BufferError):
            with self.rx.peek() as mv:
                keep.append(memoryview(mv))
        keep[0].release()
        self.tx.send(b"after")
        self.assertEqual(self.rx.recv(), b"after")

    def test_wrong_role_and_closed(self):
        with self.assertRaises(TypeError):
            self.rx.send(b"x")
        with self.assertRaises(TypeError):
            self.tx.recv()
        with self.assertRaises(TypeError):
            self.tx.send("a str is not bytes")
        with self.assertRaises(ValueError):
            self.rx.recv(timeout=-1)
        r = shmbus.SPSC(name("c"), "producer", create=True, capacity=64)
        r.unlink()
        r.close()
        r.close()  # idempotent
        self.assertTrue(r.closed)
        with self.assertRaises(ValueError):
            r.send(b"x")

    def test_gil_released_while_waiting(self):
        out = []
        t = threading.Thread(target=lambda: out.append(self.rx.recv()))
        t.start()
        # this thread runs while the other waits in recv (GIL released) ...
        while not self.rx_busy():
            pass
        # ... and a second call on the same handle meanwhile is refused
        with self.assertRaises(RuntimeError):
            self.rx.recv(timeout=0)
        self.tx.send(b"wake")
        t.join(60)
        self.assertEqual(out, [b"wake"])

    def rx_busy(self):
        try:
            self.rx.max_msg
            self.rx.recv_into(bytearray(0), timeout=0)
        except RuntimeError:
            return True
        except TimeoutError:
            return False
        return False

    def test_forked_child_gets_fork_error(self):
        self.assertTrue(in_fork(lambda: self.tx.send(b"x"), shmbus.ForkError))
        self.tx.send(b"parent")  # the parent's handle still works
        self.assertEqual(self.rx.recv(), b"parent")


class BadArguments(ShmTestCase):
    def test_open_errors(self):
        with self.assertRaises(FileNotFoundError) as cm:
            shmbus.SPSC(name("missing"), "consumer")
        self.assertIsInstance(cm.exception, shmbus.NotFoundError)
        self.assertEqual(cm.exception.code, -2)
        with self.assertRaises(ValueError):
            shmbus.SPSC(name("r"), "boss")
        with self.assertRaises(ValueError):
            shmbus.Broadcast(name("r"), "producer", create=True, policy="maybe")
        with self.assertRaises(shmbus.InvalidError):
            shmbus.SPSC(name("r"), "producer", create=True, capacity=1000)
        with self.assertRaises(shmbus.InvalidError):
            shmbus.MPMC(name("r"), "producer", create=True, slots=3, slot_size=8)
        with self.assertRaises(shmbus.InvalidError):
            shmbus.SPSC("a/b", "producer", create=True)
        with self.assertRaises(TypeError):
            shmbus.SPSC(b"bytes", "producer")
        n = name("r")
        with shmbus.SPSC(n, "producer", create=True, capacity=64):
            with self.assertRaises(FileExistsError):
                shmbus.SPSC(n, "producer", create=True, capacity=64)
            with self.assertRaises(shmbus.BusyError):
                shmbus.SPSC(n, "producer")
            with self.assertRaises(shmbus.KindError):
                shmbus.MPMC(n, "producer")
        with shmbus.SPSC(n, "producer") as tx:  # the role is free again
            with self.assertRaises(shmbus.MessageSizeError):
                tx.send(b"x" * 100)
        shmbus.unlink(n)
        with self.assertRaises(FileNotFoundError):
            shmbus.unlink(n)

    def test_garbage_block(self):
        """A block of random bytes, and a ring whose state was scribbled on:
        shmbus errors, never a crash."""
        import random
        rnd = random.Random(16)
        n = name("garbage")
        with shmbus.SharedBlock(n, create=True, size=4096) as b:
            b.buf[:] = bytes(rnd.getrandbits(8) for _ in range(4096))
        for cls in (shmbus.SPSC, shmbus.MPMC, shmbus.Broadcast):
            with self.assertRaises(shmbus.Error):
                cls(n, "producer")
        shmbus.unlink(n)
        for kind, opts in (("SPSC", {"capacity": 1024}),
                           ("MPMC", {"slots": 8, "slot_size": 32}),
                           ("Broadcast", {"capacity": 1024})):
            for round_ in range(30):
                n = name("scribble")
                cls = getattr(shmbus, kind)
                cls(n, "producer", create=True, **opts).close()
                with shmbus.SharedBlock(n) as b:
                    size = b.size
                try:
                    tx = cls(n, "producer")
                    rx = cls(n, "consumer")
                    tx.send_many([b"m%d" % i for i in range(5)])
                    with shmbus.SharedBlock(n) as b:
                        for _ in range(8):  # scribble past the common header
                            off = rnd.randrange(64, size - 8)
                            b.buf[off:off + 8] = rnd.getrandbits(64).to_bytes(8, "little")
                    for _ in range(10):
                        try:
                            rx.recv(timeout=0)
                            tx.send(b"more", timeout=0)
                        except (shmbus.Error, EOFError):
                            pass
                    tx.close()
                    rx.close()
                except shmbus.Error:
                    pass
                shmbus.unlink(n)


class Broadcasting(ShmTestCase):
    def test_every_subscriber_gets_every_message(self):
        n = name("bc")
        with shmbus.Broadcast(n, "producer", create=True, capacity=4096) as tx, \
                shmbus.Broadcast(n, "subscriber", start="next") as a, \
                shmbus.Broadcast(n, "subscriber", start="next") as b:
            msgs = [b"%d" % i for i in range(50)]
            tx.send_many(msgs)
            tx.close_stream()
            self.assertEqual(list(a), msgs)
            self.assertEqual(b.recv_many(100) + list(b), msgs)
            self.assertEqual(a.last_seq, 49)
        shmbus.unlink(n)

    def test_lossy_counts_dropped(self):
        n = name("lossy")
        with shmbus.Broadcast(n, "producer", create=True, capacity=1024,
                              policy="lossy") as tx, \
                shmbus.Broadcast(n, "subscriber", start="next") as rx:
            for i in range(500):
                tx.send(b"%04d" % i, timeout=0)  # a lossy producer never waits
            tx.close_stream()
            got = list(rx)
            self.assertEqual(got[-1], b"0499")
            self.assertGreater(rx.dropped, 0)
            self.assertEqual(len(got) + rx.dropped, 500)
        shmbus.unlink(n)


if __name__ == "__main__":
    main()
