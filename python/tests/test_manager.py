"""shmbus.Manager: blocks unlinked at shutdown, and by the guardian when the
Python process that started the manager is SIGKILLed."""
import os
import signal
import subprocess
import sys
import textwrap

import shmbus
from support import ShmTestCase, child_env, in_fork, main, name


def exists(n):
    return os.path.exists("/dev/shm/" + n)


class ManagerTests(ShmTestCase):
    def test_shutdown_unlinks_everything(self):
        with shmbus.Manager(name=name("mgr")) as m:
            b = m.SharedMemory(64, name=name("blk"))
            t = m.ShareableList([1, "x"], name=name("sl"))
            tx = m.SPSC(name("spsc"), "producer", capacity=256)
            with m.MPMC(name("mpmc"), "consumer", slots=4, slot_size=16):
                pass
            other = shmbus.SPSC(name("tracked"), "producer", create=True, capacity=64)
            m.track(other.name)
            self.assertEqual(m.count, 5)
            with shmbus.SPSC(tx.name, "consumer") as rx:
                tx.send(b"managed")
                self.assertEqual(rx.recv(), b"managed")
            names = [b.name, t.name, tx.name, other.name, m.name]
            self.assertTrue(all(map(exists, names)))
            for h in (b, t, tx, other):
                h.close()
        self.assertFalse(any(map(exists, names)))

    def test_guardian_unlinks_after_sigkill(self):
        names = [name("kb"), name("ks")]
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
            import os, signal, sys, shmbus
            m = shmbus.Manager()
            m.SharedMemory(64, name=sys.argv[1])
            m.create_spsc(sys.argv[2], 256)
            print(m.name, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """), *names], stdout=subprocess.PIPE, env=child_env())
        mgr = child.stdout.readline().decode().strip()
        child.communicate()
        self.assertEqual(child.returncode, -signal.SIGKILL)
        # the guardian notices through its pidfd and unlinks (ctest's
        # timeout guards against a hang)
        while any(map(exists, names + [mgr])):
            pass

    def test_forked_child_refused(self):
        with shmbus.Manager() as m:
            self.assertTrue(in_fork(lambda: m.create_block(None, 8), shmbus.AccessError))
            self.assertEqual(m.count, 0)

    def test_errors(self):
        with shmbus.Manager() as m:
            with self.assertRaises(FileNotFoundError):
                m.track(name("missing"))
            with self.assertRaises(ValueError):
                m.create_spsc(None, 64)
            with self.assertRaises(shmbus.InvalidError):
                m.create_spsc(name("bad"), 1000)
            m.shutdown()
            m.shutdown()   # idempotent


if __name__ == "__main__":
    main()
