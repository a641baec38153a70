#!/usr/bin/env python3
"""readme_check.py - the README's C code is the code of examples/, word for word.

Every ```c block of README.md must follow a marker line

    <!-- example: examples/FILE.c LABEL -->

and hold exactly the regions of that file between `/* README:begin LABEL */`
and `/* README:end */` (several regions of one label are joined by a blank
line), dedented, tabs as 8 spaces.  Every region of examples/ must be shown.
The examples are built with -Wall -Wextra -Werror and run by the test suite,
so a README snippet can neither fail to compile, warn, nor go wrong.

    readme_check.py SRC_DIR          check; exit 1 and say where on a mismatch
    readme_check.py SRC_DIR --write  rewrite the README's blocks from examples/
"""
import re
import sys
import textwrap
from pathlib import Path

MARK = re.compile(r"^<!-- example: (\S+) (\S+) -->$")
BEGIN = re.compile(r"^\s*/\* README:begin (\S+) \*/\s*$")
END = re.compile(r"^\s*/\* README:end \*/\s*$")


def regions(path):
    """{label: text} of one example file."""
    out, label, buf = {}, None, []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if label is None:
            m = BEGIN.match(line)
            if m:
                label, buf = m.group(1), []
        elif END.match(line):
            text = textwrap.dedent("\n".join(l.expandtabs(8) for l in buf)).strip("\n")
            out[label] = out[label] + "\n\n" + text if label in out else text
            label = None
        elif BEGIN.match(line):
            sys.exit(f"{path}:{n}: README:begin inside another region")
        else:
            buf.append(line)
    if label is not None:
        sys.exit(f"{path}: region {label!r} has no README:end")
    return out


def main():
    src = Path(sys.argv[1])
    write = "--write" in sys.argv[2:]
    readme = src / "README.md"
    lines = readme.read_text().splitlines()
    shown, errors, out, i = set(), [], [], 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        if line.strip() == "```c":
            m = MARK.match(lines[i - 1]) if i else None
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            if not m:
                errors.append(f"README.md:{i + 1}: a C block without an example marker")
                out.extend(lines[i + 1:j])
            else:
                path, label = src / m.group(1), m.group(2)
                want = regions(path).get(label) if path.is_file() else None
                if want is None:
                    errors.append(f"README.md:{i}: no region {label!r} in {m.group(1)}")
                    out.extend(lines[i + 1:j])
                else:
                    shown.add((m.group(1), label))
                    have = "\n".join(lines[i + 1:j])
                    if have != want:
                        errors.append(f"README.md:{i + 2}: block differs from {m.group(1)} "
                                      f"region {label!r}")
                    out.extend(want.splitlines())
            i = j
            continue
        i += 1
    for path in sorted((src / "examples").glob("*.c")):
        rel = str(path.relative_to(src))
        for label in regions(path):
            if (rel, label) not in shown:
                errors.append(f"{rel}: region {label!r} is not shown in README.md")
    if write:
        readme.write_text("\n".join(out) + "\n")
        return 0
    for e in errors:
        print(e, file=sys.stderr)
    print(f"readme_check: {len(shown)} blocks checked, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
