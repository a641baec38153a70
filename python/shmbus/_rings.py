"""The three ring kinds over the C core's Ring type, with their signatures."""
from ._array import ArrayMixin
from ._shmbus import MODE_EPHEMERAL, Ring as _Ring

_ROLES = {"producer": 1, "consumer": 2}
_POLICIES = {"reliable": 1, "lossy": 2}
_STARTS = {"newest": 1, "oldest": 2, "next": 3}


def _pick(table, what, value):
    try:
        return table[value]
    except (KeyError, TypeError):
        raise ValueError(f"{what} must be one of {', '.join(map(repr, table))}, "
                         f"not {value!r}") from None


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, not {type(name).__name__}")


def _mode(mode, ephemeral):
    """An ephemeral ring is removed by a plain `shmbus gc` once every
    process recorded in it is dead; a persistent one (the default) stays
    until unlinked, as blocks do in Python."""
    return mode | MODE_EPHEMERAL if ephemeral else mode


class SPSC(ArrayMixin, _Ring):
    """One producer, one consumer: a ring of variable-length messages.

    SPSC(name, role, *, create=False, capacity=65536, mode=0o600, ephemeral=False)

    role: "producer" or "consumer" (one live holder of each).  create=True
    makes the block first (exclusive: ExistsError if NAME exists); capacity
    is the ring's size in bytes, a power of two (64 .. 1 GiB); a message
    takes up to capacity - 8 bytes.  The creator should unlink() it when
    done.  Usable as a context manager (close() at the end); a consumer
    iterates over the messages until the end of the stream.
    """

    def __init__(self, name, role, *, create=False, capacity=65536, mode=0o600,
                 ephemeral=False):
        _check_name(name)
        super().__init__("spsc", name, _pick(_ROLES, "role", role), create=create,
                         capacity=capacity, mode=_mode(mode, ephemeral))


class MPMC(ArrayMixin, _Ring):
    """Many producers, many consumers: fixed-size slots, each message taken once.

    MPMC(name, role, *, create=False, slots=1024, slot_size=256, mode=0o600,
         ephemeral=False)

    slots: a power of two (2 .. 2**24); slot_size: the largest message.
    A killed participant's claims are recovered by the others.
    """

    def __init__(self, name, role, *, create=False, slots=1024, slot_size=256, mode=0o600,
                 ephemeral=False):
        _check_name(name)
        super().__init__("mpmc", name, _pick(_ROLES, "role", role), create=create,
                         slots=slots, slot_size=slot_size, mode=_mode(mode, ephemeral))


class Broadcast(ArrayMixin, _Ring):
    """One producer, many subscribers that each read every message.

    Broadcast(name, role, *, create=False, capacity=65536, subscribers=64,
              policy="reliable", start="newest", mode=0o600, ephemeral=False)

    role: "producer", or "subscriber" (also "consumer").  policy (at
    creation): "reliable" (the producer waits for the slowest live
    subscriber) or "lossy" (it never waits; a lapped subscriber counts what
    it missed in .dropped).  start: where a subscriber joins, "newest",
    "oldest" or "next".
    """

    def __init__(self, name, role, *, create=False, capacity=65536, subscribers=64,
                 policy="reliable", start="newest", mode=0o600, ephemeral=False):
        _check_name(name)
        if role == "subscriber":
            role = "consumer"
        super().__init__("broadcast", name, _pick(_ROLES, "role", role), create=create,
                         capacity=capacity, subscribers=subscribers,
                         policy=_pick(_POLICIES, "policy", policy),
                         start=_pick(_STARTS, "start", start), mode=_mode(mode, ephemeral))
