"""Python side of tests/interop_slots.c: CPython's own ShareableList against
lists that shmbus creates, and lists it creates for shmbus to read.
Standard library only.

Values travel as JSON in shmbus's form (`shmbus create slots --help`):
bytes as {"bytes_hex": "00ff"}, non-finite floats as {"float": "nan"}; the
create-only {"value": V, "capacity": N} form is read as V.

Usage:
  slots_peer.py values CASE          print the values of test case CASE (JSON)
  slots_peer.py create NAME          ShareableList(values on stdin, name=NAME)
  slots_peer.py check NAME           attach; items must equal the values on
                                     stdin, with the same Python types
  slots_peer.py bytes                Python's bytes (hex) for the values on
                                     stdin: the first 16 + 17 N + D bytes of
                                     a list it creates (then unlinks)
  slots_peer.py set NAME INDEX JSON  sl[INDEX] = value; prints "ok", or the
                                     exception's class name (exit 3)
  slots_peer.py get NAME INDEX       print sl[INDEX] as JSON, or the
                                     exception's class name (exit 3)
  slots_peer.py format NAME          print sl.format
  slots_peer.py dump NAME            print all items (JSON)

Every script that attaches a list unregisters it from the resource tracker:
Python 3.9 - 3.13 registers a block it merely *attaches* and unlinks it when
the process exits (CPython gh-82300), which would destroy the list under the
C side.  ShareableList cannot pass 3.13's track=False, so unregister it is.
Scripts that create unregister too: the C test owns the list's lifetime.
"""
import json
import math
import sys
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import ShareableList

MIB = 1 << 20


def case_values(case):
    if case == "types":
        return [0, 1, -1, 2**63 - 1, -(2**63), 0.0, -0.0, 1.5, -2.25e-300, 1e300,
                float("inf"), float("-inf"), float("nan"), True, False, None,
                "", "a", "hello world", "exactly8", "x" * 15, "x" * 16,
                b"", b"\x00\xff", b"bytes\x00inner", b"\xff" * 24, "tab\tnewline\n"]
    if case == "unicode":
        # What CPython itself stores intact (UTF-8 bytes fit the code-point
        # sized slot it allocates), so both directions can use it.
        return ["h\u00e9llo", "\u65e5\u672c", "na\u00efve", "\u20ac5", "\U0001f600",
                "\u00e9" + "a" * 14, "\u0416"]
    if case == "unicode-c":
        # Only shmbus sizes these right: CPython would truncate them.
        return ["\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8", "\u00e9" * 7,
                "a\u00e9\u00e9\u00e9\u00e9", "emoji \U0001f600\U0001f680 ok", "\u00e9" * 100]
    if case == "long":
        return [long_item(i) for i in range(10000)]
    if case == "large":
        return ["L" * MIB, bytes(range(256)) * (MIB // 256), 7, "s" * (MIB - 1)]
    if case == "empty":
        return []
    raise SystemExit("unknown case " + case)


def long_item(i):
    kind = i % 6
    if kind == 0:
        return i * 1000003 - 5000000
    if kind == 1:
        return i / 8.0
    if kind == 2:
        return "item %d" % i
    if kind == 3:
        return ("b%d" % i).encode()
    if kind == 4:
        return i % 4 == 0
    return None


def to_json(v):
    if isinstance(v, bytes):
        return {"bytes_hex": v.hex()}
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    return v


def from_json(j):
    if isinstance(j, dict):
        if "bytes_hex" in j:
            return bytes.fromhex(j["bytes_hex"])
        if "float" in j:
            return float(j["float"])
        if "value" in j:
            return from_json(j["value"])
        raise SystemExit("bad value %r" % (j,))
    return j


def same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float) and a == 0.0:
        return math.copysign(1, a) == math.copysign(1, b)
    return a == b


def attach(name):
    sl = ShareableList(name=name)
    resource_tracker.unregister(sl.shm._name, "shared_memory")
    return sl


def stdin_values():
    return [from_json(j) for j in json.load(sys.stdin)]


def short(v):
    r = repr(v)
    return r if len(r) < 80 else r[:77] + "..."


def main():
    cmd = sys.argv[1]
    if cmd == "values":
        json.dump([to_json(v) for v in case_values(sys.argv[2])], sys.stdout)
        print()
        return 0
    if cmd == "create":
        sl = ShareableList(stdin_values(), name=sys.argv[2])
        resource_tracker.unregister(sl.shm._name, "shared_memory")
        sl.shm.close()
    elif cmd == "check":
        want = stdin_values()
        sl = attach(sys.argv[2])
        if len(sl) != len(want):
            print("len %d, want %d" % (len(sl), len(want)), file=sys.stderr)
            return 1
        bad = 0
        for i, w in enumerate(want):
            got = sl[i]
            if not same(got, w):
                bad += 1
                if bad <= 5:
                    print("item %d: got %s, want %s" % (i, short(got), short(w)),
                          file=sys.stderr)
        sl.shm.close()
        if bad:
            return 1
    elif cmd == "bytes":
        values = stdin_values()
        sl = ShareableList(values)
        n = len(values)
        d = sl._allocated_offsets[-1]
        print(bytes(sl.shm.buf[:16 + 17 * n + d]).hex())
        sl.shm.close()
        sl.shm.unlink()
        return 0
    elif cmd in ("set", "get"):
        sl = attach(sys.argv[2])
        try:
            if cmd == "set":
                sl[int(sys.argv[3])] = from_json(json.loads(sys.argv[4]))
            else:
                json.dump(to_json(sl[int(sys.argv[3])]), sys.stdout)
                print()
                return 0
        except Exception as e:  # the class name is what the test checks
            print(type(e).__name__)
            return 3
        finally:
            sl.shm.close()
    elif cmd == "format":
        sl = attach(sys.argv[2])
        print(sl.format)
        sl.shm.close()
        return 0
    elif cmd == "dump":
        sl = attach(sys.argv[2])
        json.dump([to_json(v) for v in sl], sys.stdout)
        print()
        sl.shm.close()
        return 0
    else:
        raise SystemExit("unknown command " + cmd)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
