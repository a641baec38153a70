"""Helpers shared by the Python tests: unique block names, the C tool, and a
check that a test leaves nothing in /dev/shm.  Run by ctest with the build
tree's package on PYTHONPATH (python/CMakeLists.txt)."""
import os
import subprocess
import sys
import unittest

TAG = os.environ.get("SHMBUS_TEST_TAG", "py_manual")
TOOL = os.environ.get("SHMBUS_TOOL")
_counter = [0]


def name(what="b"):
    """A block name unique to this run, this process and this call."""
    _counter[0] += 1
    return f"shmbus_t_{TAG}_{os.getpid()}_{what}_{_counter[0]}"


def leftovers():
    """Our blocks still in /dev/shm."""
    prefix = f"shmbus_t_{TAG}_"
    return sorted(n for n in os.listdir("/dev/shm") if n.startswith(prefix))


def cleanup():
    for n in leftovers():
        try:
            os.unlink("/dev/shm/" + n)
        except FileNotFoundError:
            pass


def tool(*args, **kw):
    """Run the C tool; returns the CompletedProcess."""
    if not TOOL:
        raise unittest.SkipTest("SHMBUS_TOOL not set (run through ctest)")
    return subprocess.run([TOOL, *args], capture_output=True, timeout=120, **kw)


def child_env():
    """The environment for a python3 child: the same package path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class ShmTestCase(unittest.TestCase):
    """Fails a test that leaves a block of ours behind (and removes it)."""

    def tearDown(self):
        left = leftovers()
        cleanup()
        self.assertEqual(left, [], "blocks left in /dev/shm")


class SpscPair(ShmTestCase):
    """A fresh SPSC ring per test, self.tx and self.rx; CAPACITY bytes."""
    CAPACITY = 1024

    def setUp(self):
        import shmbus
        self.ring = name("pair")
        self.tx = shmbus.SPSC(self.ring, "producer", create=True, capacity=self.CAPACITY)
        self.rx = shmbus.SPSC(self.ring, "consumer")

    def tearDown(self):
        import shmbus
        self.tx.close()
        self.rx.close()
        shmbus.unlink(self.ring)
        super().tearDown()


def in_fork(fn, expected):
    """Run FN in a forked child; True if it raised EXPECTED there."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
        except expected:
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def main():
    """unittest.main, with exit code 77 when every test was skipped."""
    prog = unittest.main(exit=False, verbosity=2)
    r = prog.result
    if not r.wasSuccessful():
        sys.exit(1)
    if r.testsRun and len(r.skipped) == r.testsRun:
        sys.exit(77)
    sys.exit(0)


def wait_subscribers(ring, count=1):
    """Wait until broadcast ring RING has COUNT subscribers (a hang guard:
    ctest's timeout)."""
    import shmbus
    while len(shmbus.inspect(ring)["ring"]["subscribers"]) < count:
        pass
