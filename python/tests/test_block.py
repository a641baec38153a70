"""shmbus.SharedBlock: SharedMemory's interface, the same bytes as
SharedMemory, and no resource-tracker surprises."""
import gc
import multiprocessing as mp
import os
import subprocess
import sys
from multiprocessing import resource_tracker, shared_memory

import shmbus
from support import ShmTestCase, child_env, main, name


def child_write(block):
    block.buf[:5] = b"child"
    block.close()


class SharedBlockTests(ShmTestCase):
    def test_create_attach(self):
        n = name("blk")
        with shmbus.SharedBlock(n, create=True, size=1000) as a:
            self.assertEqual((a.name, a.size, len(a.buf)), (n, 1000, 1000))
            self.assertEqual(bytes(a.buf[:4]), b"\0\0\0\0")  # starts zeroed
            a.buf[:3] = b"abc"
            with shmbus.SharedBlock("/" + n) as b:  # a leading '/' is the same
                self.assertEqual(b.name, n)
                self.assertEqual(bytes(b.buf[:3]), b"abc")
            a.unlink()
        self.assertIsNone(a.buf)
        with self.assertRaises(FileNotFoundError):
            shmbus.SharedBlock(n)
        with self.assertRaises(FileNotFoundError):
            a.unlink()

    def test_generated_name(self):
        with shmbus.SharedBlock(create=True, size=16) as a:
            self.assertTrue(a.name)
            with shmbus.SharedBlock(a.name) as b:
                self.assertEqual(b.size, 16)
            a.unlink()

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            shmbus.SharedBlock(name("x"), create=True)  # no size
        with self.assertRaises(ValueError):
            shmbus.SharedBlock()  # neither name nor create
        with self.assertRaises(ValueError):
            shmbus.SharedBlock(name("x"), create=True, size=-1)
        with self.assertRaises(shmbus.InvalidError):
            shmbus.SharedBlock("a/b", create=True, size=8)
        n = name("x")
        with shmbus.SharedBlock(n, create=True, size=8) as a:
            with self.assertRaises(FileExistsError):
                shmbus.SharedBlock(n, create=True, size=8)
            a.unlink()

    def test_same_bytes_as_shared_memory(self):
        n = name("py")
        with shmbus.SharedBlock(n, create=True, size=64) as a:
            sm = shared_memory.SharedMemory(n)
            # SharedMemory (3.11) registers even a block it only attached
            # with the resource tracker, which would unlink it at exit: the
            # surprise SharedBlock does not have.
            resource_tracker.unregister(sm._name, "shared_memory")
            try:
                sm.buf[:2] = b"hi"
                self.assertEqual(bytes(a.buf[:2]), b"hi")
            finally:
                sm.close()
            a.unlink()
        sm = shared_memory.SharedMemory(create=True, size=32)
        try:
            sm.buf[:3] = b"sm!"
            with shmbus.SharedBlock(sm.name) as b:
                self.assertEqual(bytes(b.buf[:3]), b"sm!")
        finally:
            sm.close()
            sm.unlink()

    def test_close_with_live_buffer(self):
        n = name("exp")
        a = shmbus.SharedBlock(n, create=True, size=8)
        view = a.buf[2:4]  # derived from buf: the mapping must stay
        with self.assertRaises(BufferError):
            a.close()
        view.release()
        a.close()
        a.close()  # idempotent
        a.unlink()
        # a forgotten block is collected (buf and the block form a cycle)
        b = shmbus.SharedBlock(n, create=True, size=8)
        b.buf[0] = 1
        b.unlink()
        del b
        gc.collect()

    def test_no_resource_tracker(self):
        """The creator exits without unlink: the block stays, and nothing is
        printed (SharedMemory's resource tracker would unlink it and warn)."""
        n = name("keep")
        r = subprocess.run([sys.executable, "-c",
                            "import sys, shmbus\n"
                            "b = shmbus.SharedBlock(sys.argv[1], create=True, size=8)\n"
                            "b.buf[0] = 42\n", n],
                           capture_output=True, env=child_env(), timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        with shmbus.SharedBlock(n) as b:
            self.assertEqual(b.buf[0], 42)
            b.unlink()

    def test_passed_to_a_spawned_child(self):
        n = name("pickle")
        with shmbus.SharedBlock(n, create=True, size=8) as a:
            p = mp.get_context("spawn").Process(target=child_write, args=(a,))
            p.start()
            p.join(60)
            self.assertEqual(p.exitcode, 0)
            self.assertEqual(bytes(a.buf[:5]), b"child")
            a.unlink()

    def test_inherited_over_fork(self):
        n = name("fork")
        with shmbus.SharedBlock(n, create=True, size=8) as a:
            pid = os.fork()
            if pid == 0:
                a.buf[0] = 7  # the mapping is shared
                a.close()
                os._exit(0)
            os.waitpid(pid, 0)
            self.assertEqual(a.buf[0], 7)
            a.unlink()


if __name__ == "__main__":
    main()
