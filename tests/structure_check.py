#!/usr/bin/env python3
"""structure_check.py - the rules of DESIGN.md that a build can check.

    structure_check.py SRC_DIR LIBSHMBUS_SO TOOL OBJECT...

1. The ABI is one list: the functions the public headers declare with
   SHMBUS_API, the globals of libshmbus.map, and what libshmbus.so exports
   are the same set.
2. Every client is on the public API: nothing in tools/, bench/, examples/,
   python/ includes an internal header or reaches into core/ or bus/; the tool
   links the shared library.
3. No two files of the library call each other in a loop: the graph of
   "object A uses a symbol object B defines" among the library's objects has
   no cycle.
"""
import re
import subprocess
import sys
from pathlib import Path

errors = []


def fail(msg):
    errors.append(msg)


def nm(args):
    return subprocess.run(["nm"] + args, check=True, capture_output=True, text=True).stdout


def check_abi(src, so):
    decl = set()
    for h in (src / "include" / "shmbus").glob("*.h"):
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        for m in re.finditer(r"SHMBUS_API\b[^;{]*?\b(shmbus_\w+)\s*\(", text):
            decl.add(m.group(1))
    mapped = set()
    body = re.sub(r"/\*.*?\*/", "", (src / "libshmbus.map").read_text(), flags=re.S)
    glob = body.split("global:", 1)[1].split("local:", 1)[0]
    mapped = {w.strip() for w in glob.split(";") if w.strip()}
    exported = set()
    for line in nm(["-D", "--defined-only", str(so)]).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBRVW" and parts[2].startswith("shmbus_"):
            exported.add(parts[2].split("@")[0])
    for name, a, b in (("declared in a header but not in libshmbus.map", decl, mapped),
                       ("in libshmbus.map but declared in no header", mapped, decl),
                       ("declared but not exported by libshmbus.so", decl, exported),
                       ("exported by libshmbus.so but declared in no header", exported, decl)):
        for s in sorted(a - b):
            fail(f"ABI: {s}: {name}")
    return len(decl)


def check_clients(src, tool):
    bad = re.compile(r'#\s*include\s*[<"]([^>"]*_internal\.h|(?:\.\./)*(?:core|bus)/[^>"]*)[>"]')
    n = 0
    for top in ("tools", "bench", "examples", "python"):
        for f in sorted((src / top).rglob("*")):
            if f.suffix not in (".c", ".h", ".cc", ".cpp"):
                continue
            n += 1
            for i, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
                m = bad.search(line)
                if m:
                    fail(f"{f.relative_to(src)}:{i}: includes {m.group(1)} (not public API)")
    out = subprocess.run(["ldd", str(tool)], capture_output=True, text=True).stdout
    if "libshmbus.so" not in out:
        fail(f"{tool}: does not link libshmbus.so (ldd: {out.strip()!r})")
    return n


def check_cycles(objects):
    defs, uses = {}, {}
    for o in objects:
        name = Path(o).name
        uses[name] = set()
        for line in nm([o]).splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "U":
                uses[name].add(parts[1])
            elif len(parts) == 3 and parts[1] in "TDBRC":
                defs[parts[2]] = name
    graph = {o: {defs[s] for s in u if s in defs and defs[s] != o} for o, u in uses.items()}
    state, stack = {}, []

    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                fail("call cycle: " + " -> ".join(stack[stack.index(w):] + [w]))
            elif w not in state:
                visit(w)
        stack.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v)
    return len(graph)


def main():
    src, so, tool, objects = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    n_api = check_abi(src, so)
    n_files = check_clients(src, tool)
    n_obj = check_cycles(objects)
    for e in errors:
        print(e, file=sys.stderr)
    print(f"structure_check: {n_api} exported functions, {n_files} client files, "
          f"{n_obj} library objects; {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
