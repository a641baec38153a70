"""SlotTable: ShareableList's interface on shmbus's slot table."""
from ._block import SharedBlock
from ._shmbus import Slots as _Slots


class SlotTable(_Slots):
    """A list of fixed slots in a named block, like
    multiprocessing.shared_memory.ShareableList.

    SlotTable(sequence=None, *, name=None)

    With a sequence, creates the list (name=None: a generated name); without,
    attaches the list NAME - made by shmbus, by the C API or tool, or by
    CPython's ShareableList (the same bytes).  Items: None, bool, int, float,
    str, bytes; a str/bytes keeps the room of its slot (a longer one raises
    MessageSizeError, a ValueError).  In a list shmbus made, a read never
    returns a value torn by a concurrent C writer (seqlock); in one CPython
    made, it is as safe as ShareableList.  Attributes: name, format, shm (a
    SharedBlock of the same block, attached on first use), count(), index(),
    close(); unlink() removes the block.  No resource tracker is involved.
    """

    def __init__(self, sequence=None, *, name=None):
        super().__init__(name, sequence)
        self._shm = None

    @property
    def shm(self):
        """The block, as a SharedBlock (attached on first use)."""
        if self._shm is None:
            self._shm = SharedBlock(self.name)
        return self._shm

    def unlink(self):
        """Remove the block's name."""
        from ._shmbus import unlink
        unlink(self.name)

    def close(self):
        if self._shm is not None:
            self._shm.close()
            self._shm = None
        super().close()

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        return (_attach, (self.__class__, self.name))

    def __repr__(self):
        return f"{self.__class__.__name__}({list(self)!r}, name={self.name!r})"


def _attach(cls, name):
    return cls(name=name)
