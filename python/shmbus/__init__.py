"""shmbus: named shared memory rings and blocks, from Python.

The rings (SPSC, MPMC, Broadcast) and blocks of the shmbus C library, which
C programs and the `shmbus` tool share with Python processes by name.  See
the Python section of the project's README.
"""
import json as _json

from . import _shmbus
from ._shmbus import (  # noqa: F401  (the exception hierarchy)
    Error, NotFoundError, ExistsError, AccessError, TimeoutError, InvalidError,
    MessageSizeError, StreamClosedError, BusyError, FormatError, KindError,
    NotReadyError, CorruptError, LappedError, ForkError, unlink,
)
from ._rings import SPSC, MPMC, Broadcast  # noqa: F401
from ._block import SharedBlock  # noqa: F401
from ._queue import Queue  # noqa: F401
from ._slots import SlotTable  # noqa: F401
from ._manager import Manager  # noqa: F401

__all__ = [
    "SPSC", "MPMC", "Broadcast", "SharedBlock", "Queue", "SlotTable", "Manager", "unlink", "inspect",
    "Error", "NotFoundError", "ExistsError", "AccessError", "TimeoutError",
    "InvalidError", "MessageSizeError", "StreamClosedError", "BusyError",
    "FormatError", "KindError", "NotReadyError", "CorruptError", "LappedError",
    "ForkError",
]

__version__ = _shmbus.LIB_VERSION


def inspect(name):
    """The block NAME's state as a dict: the document of `shmbus inspect NAME --json`.

    Reads without joining (nothing in the block changes).  Raises
    NotFoundError, or another shmbus.Error for a block it cannot read.
    """
    return _json.loads(_shmbus.inspect_json(name))
