#!/usr/bin/env python3
"""Bytes of code and data per crate in an unstripped binary, from
`nm --size-sort -S --demangle=rust BINARY` on stdin (a poor man's cargo-bloat that needs
no rebuild of its own). Symbols without a Rust path are the C library, compiler runtime or
assembly."""
import collections
import re
import sys

tot = collections.Counter()
n = 0
for line in sys.stdin:
    p = line.rstrip("\n").split(" ", 3)
    if len(p) < 4 or p[2] not in "tTrRdDbB":
        continue
    size, name = int(p[1], 16), re.sub(r"^[<&]+(mut |dyn )?", "", p[3])
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)::", name)
    crate = m.group(1) if m else "(C: libc, libgcc, asm)"
    tot[crate] += size
    n += size
print("| crate | bytes | share |\n|---|---:|---:|")
for crate, size in tot.most_common(int(sys.argv[1]) if len(sys.argv) > 1 else 20):
    print(f"| {crate} | {size} | {100 * size / n:.1f}% |")
print(f"| all symbols | {n} | 100% |")
