"""SharedBlock: SharedMemory's interface on a shmbus block."""
from ._shmbus import Block as _Block


class SharedBlock(_Block):
    """A named shared memory block, like multiprocessing.shared_memory.SharedMemory.

    SharedBlock(name=None, create=False, size=0)

    Attributes name, size, buf (a memoryview); close() detaches, unlink()
    removes the name.  The same bytes as SharedMemory(name) and
    /dev/shm/NAME.  Differences: no resource tracker is involved (the block
    is removed only by unlink(), never at the creator's exit, and nothing
    warns about "leaked" blocks); size is exactly what was asked; names may
    be given with or without a leading '/'.  A context manager: close() at
    the end.
    """

    def __init__(self, name=None, create=False, size=0):
        super().__init__(name, create, size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        return (self.__class__, (self.name, False))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"
