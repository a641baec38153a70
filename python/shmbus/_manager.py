"""Manager: blocks whose lifetime a guardian process guarantees."""
from ._block import SharedBlock
from ._rings import MPMC, SPSC
from ._shmbus import Manager as _Manager
from ._slots import SlotTable


class Manager(_Manager):
    """Like multiprocessing.managers.SharedMemoryManager, without a server.

    Manager(name=None, capacity=0)

    Starting it forks a small guardian process that unlinks every block the
    manager lists when shutdown() is called, or when this process ends
    without calling it (exit, crash, SIGKILL).  Blocks made through it are
    ordinary named blocks that any process attaches by name.  A context
    manager: shutdown() at the end.  Start it early (the guardian is a
    fork of this process).

    SharedMemory(size, name=None) -> SharedBlock;
    ShareableList(sequence, name=None) -> SlotTable;
    SPSC(name, role, capacity=65536), MPMC(name, role, slots=1024,
    slot_size=256): rings created listed, opened in ROLE;
    track(name) / untrack(name) / unlink(name); count; name.
    """

    def __init__(self, name=None, capacity=0):
        super().__init__(name, capacity)

    def SharedMemory(self, size, name=None):
        return SharedBlock(self.create_block(name, size))

    def ShareableList(self, sequence, name=None):
        t = SlotTable(sequence, name=name)
        try:
            self.track(t.name)
        except BaseException:
            t.close()
            t.unlink()
            raise
        return t

    def SPSC(self, name, role, capacity=65536):
        return SPSC(self.create_spsc(name, capacity), role)

    def MPMC(self, name, role, slots=1024, slot_size=256):
        return MPMC(self.create_mpmc(name, slots, slot_size), role)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
