"""shmbus.SlotTable: ShareableList's interface on the slot table, the same
bytes as CPython's ShareableList both ways, the C tool reading and writing
it, types and errors."""
import multiprocessing as mp
from multiprocessing import resource_tracker, shared_memory

import shmbus
from support import ShmTestCase, main, name, tool

VALUES = [42, -1.5, True, False, "héllo", b"\x00by", None, 2 ** 63 - 1]


def child_set(t):
    t[0] = 7
    t.close()


class SlotTableTests(ShmTestCase):
    def test_items_and_types(self):
        n = name("sl")
        with shmbus.SlotTable(VALUES, name=n) as t:
            self.assertEqual(list(t), VALUES)
            self.assertEqual(len(t), len(VALUES))
            self.assertEqual(t[-1], 2 ** 63 - 1)
            self.assertTrue(t.guarded)
            t[0] = "str"   # the type may change, within the slot's room
            t[6] = 3.25
            self.assertEqual((t[0], t[6]), ("str", 3.25))
            self.assertEqual(t.index(True), 2)
            self.assertEqual(t.count(False), 1)
            with self.assertRaises(ValueError):
                t.index("absent")
            with self.assertRaises(shmbus.MessageSizeError):
                t[4] = "x" * 100
            self.assertEqual(t[4], "héllo")   # unchanged
            with self.assertRaises(IndexError):
                t[len(VALUES)]
            with self.assertRaises(IndexError):
                t[len(VALUES)] = 1
            with self.assertRaises(TypeError):
                t[0] = [1, 2]
            with self.assertRaises(OverflowError):
                t[0] = 2 ** 64
            self.assertEqual(t.shm.size, shmbus.SharedBlock(n).size)
            t.unlink()
        with self.assertRaises(ValueError):
            t[0]

    def test_same_bytes_as_shareable_list(self):
        n = name("ours")
        with shmbus.SlotTable([1, "abc", 2.5], name=n) as t:
            sl = shared_memory.ShareableList(name=n)
            resource_tracker.unregister(sl.shm._name, "shared_memory")
            try:
                self.assertEqual(list(sl), [1, "abc", 2.5])
                self.assertEqual(sl.format, t.format)
                sl[1] = "xyz"
                self.assertEqual(t[1], "xyz")
            finally:
                sl.shm.close()
            t.unlink()
        sl = shared_memory.ShareableList([7, b"bytes", None, True], name=name("cpy"))
        try:
            with shmbus.SlotTable(name=sl.shm.name) as t:
                self.assertFalse(t.guarded)
                self.assertEqual(list(t), [7, b"bytes", None, True])
                t[0] = 8
                t[2] = "n"
            self.assertEqual((sl[0], sl[2]), (8, "n"))
        finally:
            sl.shm.close()
            sl.shm.unlink()

    def test_c_tool_reads_and_writes(self):
        n = name("tool")
        with shmbus.SlotTable([0, "ok", 1.5], name=n) as t:
            r = tool("get", n, "1")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), b'"ok"')
            r = tool("set", n, "0", "42")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(t[0], 42)
            t.unlink()

    def test_passed_to_a_spawned_child(self):
        n = name("pickle")
        with shmbus.SlotTable([0], name=n) as t:
            p = mp.get_context("spawn").Process(target=child_set, args=(t,))
            p.start()
            p.join(60)
            self.assertEqual(p.exitcode, 0)
            self.assertEqual(t[0], 7)
            t.unlink()

    def test_errors(self):
        with self.assertRaises(FileNotFoundError):
            shmbus.SlotTable(name=name("missing"))
        with self.assertRaises(ValueError):
            shmbus.SlotTable()
        n = name("ring")
        shmbus.SPSC(n, "producer", create=True, capacity=64).close()
        with self.assertRaises(shmbus.KindError):
            shmbus.SlotTable(name=n)
        shmbus.unlink(n)
        n = name("raw")
        with shmbus.SharedBlock(n, create=True, size=64) as b:
            b.buf[:] = b"\xff" * 64
            with self.assertRaises(shmbus.Error):
                shmbus.SlotTable(name=n)
            b.unlink()


if __name__ == "__main__":
    main()
