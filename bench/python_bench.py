#!/usr/bin/env python3
"""python_bench.py - Python processes talking through shmbus against the
standard library, in the same run.

    PYTHONPATH=BUILD/python/pkg python3 bench/python_bench.py [--quick] [--json OUT]

Workloads: 64 B and 4 KiB bytes, a small dict, a 1 MiB numpy array (if
numpy imports), from a producer process to a consumer process (fork), through
shmbus.SPSC (bytes as they are, the dict pickled, the array with
send_array/recv_array), shmbus.Queue, multiprocessing.Queue and
multiprocessing.Pipe.  Reports messages/s one way (from the start signal to
the last message received), each transport's ratio to multiprocessing.Queue,
and, for the array, bandwidth against one numpy memcpy of the same size.
--quick: tiny counts, for the smoke test (correctness, never speed).
"""
import argparse
import json
import multiprocessing as mp
import os
import pickle
import sys
import time

import shmbus

try:
    import numpy as np
except ImportError:
    np = None

CTX = mp.get_context("fork")


def payloads():
    out = {"bytes64": b"x" * 64, "bytes4k": b"y" * 4096,
           "dict": {"id": 12345, "name": "sensor-7", "value": 21.5, "ok": True}}
    if np is not None:
        out["numpy1m"] = np.arange(1 << 17, dtype=np.float64)  # 1 MiB
    return out


# -- transports: (setup in parent, producer body, consumer body, cleanup) --

def spsc_make(kind, n):
    name = "shmbus_pybench_%d" % os.getpid()
    cap = 1 << 23 if kind == "numpy1m" else 1 << 20
    shmbus.SPSC(name, "producer", create=True, capacity=cap).close()
    return name


def spsc_produce(name, kind, obj, n, go):
    with shmbus.SPSC(name, "producer") as tx:
        go.wait()
        if kind == "numpy1m":
            for _ in range(n):
                tx.send_array(obj)
        elif kind == "dict":
            for _ in range(n):
                tx.send(pickle.dumps(obj, protocol=5))
        else:
            for _ in range(n):
                tx.send(obj)


def spsc_consume(name, kind, n):
    with shmbus.SPSC(name, "consumer") as rx:
        if kind == "numpy1m":
            out = np.empty_like(payloads()["numpy1m"])
            for _ in range(n):
                rx.recv_array(out=out)
        elif kind == "dict":
            for _ in range(n):
                pickle.loads(rx.recv())
        else:
            for _ in range(n):
                rx.recv()


def spsc_clean(name):
    shmbus.unlink(name)


def q_produce(q, kind, obj, n, go):
    go.wait()
    for _ in range(n):
        q.put(obj)


def q_consume(q, kind, n):
    for _ in range(n):
        q.get()


def pipe_produce(conn, kind, obj, n, go):
    go.wait()
    if isinstance(obj, bytes):
        for _ in range(n):
            conn.send_bytes(obj)
    else:
        for _ in range(n):
            conn.send(obj)


def pipe_consume(conn, kind, n):
    if kind.startswith("bytes"):
        for _ in range(n):
            conn.recv_bytes()
    else:
        for _ in range(n):
            conn.recv()


def measure(transport, kind, obj, n):
    go = CTX.Event()
    if transport == "shmbus.SPSC":
        h = spsc_make(kind, n)
        prod, cons, clean = (spsc_produce, (h,)), (spsc_consume, (h,)), lambda: spsc_clean(h)
    elif transport == "shmbus.Queue":
        q = shmbus.Queue(maxsize=1024)
        prod, cons, clean = (q_produce, (q,)), (q_consume, (q,)), q.close
    elif transport == "multiprocessing.Queue":
        q = CTX.Queue(maxsize=1024)
        prod, cons, clean = (q_produce, (q,)), (q_consume, (q,)), q.close
    else:
        r, w = CTX.Pipe(duplex=False)
        prod, cons, clean = (pipe_produce, (w,)), (pipe_consume, (r,)), r.close
    p = CTX.Process(target=prod[0], args=(*prod[1], kind, obj, n, go))
    p.start()
    time.sleep(0.2)  # let the producer open its side before the clock starts
    t0 = time.perf_counter()
    go.set()
    cons[0](*cons[1], kind, n)
    t1 = time.perf_counter()
    p.join()
    clean()
    if p.exitcode != 0:
        raise RuntimeError(f"{transport} {kind}: producer exit {p.exitcode}")
    return n / (t1 - t0)


def memcpy_rate(a, n):
    out = np.empty_like(a)
    t0 = time.perf_counter()
    for _ in range(n):
        np.copyto(out, a)
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    counts = {"bytes64": 200000, "bytes4k": 50000, "dict": 50000, "numpy1m": 1000}
    if args.quick:
        counts = {k: 20 for k in counts}
    transports = ["shmbus.SPSC", "shmbus.Queue", "multiprocessing.Queue", "multiprocessing.Pipe"]
    rows = []
    for kind, obj in payloads().items():
        base = None
        for t in transports:
            rate = measure(t, kind, obj, counts[kind])
            if t == "multiprocessing.Queue":
                base = rate
            rows.append({"workload": kind, "transport": t, "msgs_per_s": rate})
        for r in rows:
            if r["workload"] == kind:
                r["vs_mp_queue"] = r["msgs_per_s"] / base
        if kind == "numpy1m":
            mc = memcpy_rate(obj, counts[kind])
            for r in rows:
                if r["workload"] == kind:
                    r["vs_memcpy"] = r["msgs_per_s"] / mc
            rows.append({"workload": kind, "transport": "numpy memcpy (one process)",
                         "msgs_per_s": mc, "vs_memcpy": 1.0})
    print(f"{'workload':10} {'transport':28} {'msgs/s':>12} {'x mp.Queue':>10} {'x memcpy':>9}")
    for r in rows:
        print(f"{r['workload']:10} {r['transport']:28} {r['msgs_per_s']:12.0f} "
              f"{r.get('vs_mp_queue', float('nan')):10.2f} {r.get('vs_memcpy', float('nan')):9.2f}")
    if args.json:
        with open(args.json, "a") as f:
            for r in rows:
                f.write(json.dumps({"bench": "python", "python": sys.version.split()[0],
                                    "quick": args.quick, **r}, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
