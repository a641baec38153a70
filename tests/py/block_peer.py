"""Python side of tests/interop_block.c: SharedMemory against C blocks.

Usage:
  block_peer.py create NAME SIZE      create, fill with pattern, print "ok"
  block_peer.py check NAME SIZE       attach, verify the C pattern, print "ok"
  block_peer.py check-c-edit NAME     attach, verify the bytes C wrote later
  block_peer.py write-back NAME       attach, write b"from python" at offset 100
  block_peer.py unlink NAME

Attaching scripts unregister from the resource tracker: Python 3.9-3.12
would otherwise unlink a block it merely attached when it exits (gh-82300).
"""
import sys
from multiprocessing import resource_tracker, shared_memory


def attach(name):
    shm = shared_memory.SharedMemory(name=name)
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def py_pattern(i):
    return (i * 7 + 3) & 0xFF


def c_pattern(i):
    return (i * 131 + 7) & 0xFF


def main():
    cmd, name = sys.argv[1], sys.argv[2]
    if cmd == "create":
        size = int(sys.argv[3])
        shm = shared_memory.SharedMemory(name=name, create=True, size=size)
        # The C side owns the block's lifetime from here on.
        resource_tracker.unregister(shm._name, "shared_memory")
        shm.buf[:size] = bytes(py_pattern(i) for i in range(size))
        shm.close()
    elif cmd == "check":
        size = int(sys.argv[3])
        shm = attach(name)
        assert shm.size >= size, (shm.size, size)
        want = bytes(c_pattern(i) for i in range(size))
        assert bytes(shm.buf[:size]) == want, "bytes differ"
        shm.close()
    elif cmd == "check-c-edit":
        shm = attach(name)
        assert bytes(shm.buf[200:209]) == b"from C!!\0", bytes(shm.buf[200:209])
        shm.close()
    elif cmd == "write-back":
        shm = attach(name)
        shm.buf[100:111] = b"from python"
        shm.close()
    elif cmd == "unlink":
        shm = attach(name)
        shm.close()
        shm.unlink()
    else:
        raise SystemExit("unknown command " + cmd)
    print("ok")


if __name__ == "__main__":
    main()
