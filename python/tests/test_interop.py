"""Python against the C side and against signals: `shmbus pub` -> Python
consumer and Python producer -> `shmbus sub` through each ring kind (with end
of stream), Ctrl-C during a blocking recv, SIGKILL of a Python producer and
consumer."""
import os
import signal
import subprocess
import sys
import textwrap
import unittest

import shmbus
from support import ShmTestCase, child_env, main, name, tool, wait_subscribers

KINDS = {
    "SPSC": (["spsc", "--capacity", "4096"], {}),
    "MPMC": (["mpmc", "--slots", "16", "--slot-size", "64"], {}),
    "Broadcast": (["broadcast", "--capacity", "4096"], {"start": "oldest"}),
}
LINES = [b"line %d" % i for i in range(300)] + [b""]


class WithTool(ShmTestCase):
    def create(self, kind):
        n = name(kind)
        args, _ = KINDS[kind]
        r = tool("create", args[0], n, *args[1:])
        self.assertEqual(r.returncode, 0, r.stderr)
        return n

    def test_c_pub_to_python(self):
        for kind, (_, opts) in KINDS.items():
            with self.subTest(kind=kind):
                n = self.create(kind)
                cls = getattr(shmbus, kind)
                role = "subscriber" if kind == "Broadcast" else "consumer"
                with cls(n, role, **opts) as rx:
                    # the ring holds less than the input: pub waits for us
                    pub = subprocess.Popen([os.environ["SHMBUS_TOOL"], "pub", n],
                                           stdin=subprocess.PIPE, stderr=subprocess.PIPE)
                    pub.stdin.write(b"\n".join(LINES) + b"\n")
                    pub.stdin.close()
                    got = list(rx)  # until pub closes the stream
                    self.assertEqual(pub.wait(60), 0, pub.stderr.read())
                    pub.stderr.close()
                self.assertEqual(got, LINES)
                shmbus.unlink(n)

    def test_python_to_c_sub(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                n = self.create(kind)
                cls = getattr(shmbus, kind)
                args = [os.environ["SHMBUS_TOOL"], "sub", n]
                if kind == "Broadcast":
                    args += ["--from", "oldest"]
                sub = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                with cls(n, "producer") as tx:
                    if kind == "Broadcast":
                        # wait for the subscriber to join: a reliable producer
                        # then never overwrites what it has not read
                        wait_subscribers(n)
                    tx.send_many(LINES[:100])
                    for m in LINES[100:]:
                        tx.send(m)
                    tx.close_stream()
                out, err = sub.communicate(timeout=60)
                self.assertEqual(sub.returncode, 0, err)
                self.assertEqual(out, b"".join(m + b"\n" for m in LINES))
                shmbus.unlink(n)


def run_child(code, *args):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())


class Signals(ShmTestCase):
    def test_ctrl_c_interrupts_recv(self):
        n = name("int")
        shmbus.SPSC(n, "producer", create=True, capacity=256).close()
        child = run_child("""
            import signal, sys, shmbus
            rx = shmbus.SPSC(sys.argv[1], "consumer")
            try:
                print("ready", flush=True)
                rx.recv()               # nothing ever comes
            except KeyboardInterrupt:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                print("interrupted", flush=True)
                rx.close()
                sys.exit(0)
            sys.exit(3)
        """, n)
        self.assertEqual(child.stdout.readline(), b"ready\n")
        # signal once it waits inside recv (the ring counts the wait) ...
        while shmbus.inspect(n)["ring"]["empty_waits"] == 0:
            pass
        # ... and again should the first signal come between two slices
        out = b""
        while True:
            child.send_signal(signal.SIGINT)
            try:
                out, err = child.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        self.assertEqual(child.returncode, 0, err)
        self.assertEqual(out, b"interrupted\n")
        with shmbus.SPSC(n, "consumer"):  # the role was given back
            pass
        shmbus.unlink(n)

    def test_sigkill_producer_and_consumer(self):
        n = name("kill")
        shmbus.SPSC(n, "producer", create=True, capacity=4096).close()
        # a producer killed while it waits for room: its role is taken over
        prod = run_child("""
            import sys, shmbus
            tx = shmbus.SPSC(sys.argv[1], "producer")
            i = 0
            while True:
                tx.send(b"%d" % i)
                i += 1
                if i == 10:
                    print("sent", flush=True)
        """, n)
        self.assertEqual(prod.stdout.readline(), b"sent\n")
        prod.kill()
        prod.communicate()
        # a consumer killed inside a peek block: the message stays
        cons = run_child("""
            import os, signal, sys, shmbus
            rx = shmbus.SPSC(sys.argv[1], "consumer")
            with rx.peek() as mv:
                print(bytes(mv).decode(), flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        """, n)
        first = cons.stdout.readline()
        cons.communicate()
        self.assertEqual(cons.returncode, -signal.SIGKILL)
        self.assertEqual(first, b"0\n")
        with shmbus.SPSC(n, "consumer") as rx, shmbus.SPSC(n, "producer") as tx:
            got = []
            try:
                while True:
                    got += rx.recv_many(timeout=0)
            except TimeoutError:
                pass
            # at-least-once across a consumer crash: message 0 again, all in order
            self.assertEqual(got[:10], [b"%d" % i for i in range(10)])
            self.assertEqual(got, [b"%d" % i for i in range(len(got))])
            tx.send(b"new producer")
            self.assertEqual(rx.recv(), b"new producer")
        shmbus.unlink(n)


class Gc(ShmTestCase):
    """ephemeral=True: `shmbus gc` removes the ring once its processes are
    dead; a persistent ring (the default) survives, as blocks do in Python."""

    def test_ephemeral_goes_persistent_stays(self):
        eph, per = name("eph"), name("per")
        pid = os.fork()
        if pid == 0:
            try:
                shmbus.MPMC(eph, "producer", create=True, slots=8, slot_size=64,
                            ephemeral=True).close()
                shmbus.SPSC(per, "producer", create=True, capacity=4096).close()
            finally:
                os._exit(0)
        self.assertEqual(os.waitpid(pid, 0)[1], 0)
        try:
            self.assertTrue(os.path.exists("/dev/shm/" + eph))
            r = tool("gc", "--prefix", eph)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertFalse(os.path.exists("/dev/shm/" + eph), r.stdout)
            r = tool("gc", "--prefix", per)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.exists("/dev/shm/" + per))
        finally:
            for n in (eph, per):
                if os.path.exists("/dev/shm/" + n):
                    os.unlink("/dev/shm/" + n)


if __name__ == "__main__":
    main()
