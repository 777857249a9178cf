#!/usr/bin/env python3
"""Generate src/tables/generated.rs: system call numbers for every ABI kapsel-seccomp supports.

Run at development time, never at build time:

    apt-get install linux-libc-dev linux-libc-dev-arm64-cross linux-libc-dev-armhf-cross \
        linux-libc-dev-riscv64-cross linux-libc-dev-ppc64el-cross linux-libc-dev-s390x-cross \
        linux-libc-dev-mips64el-cross
    python3 crates/kapsel-seccomp/tools/gen_syscall_tables.py

The numbers come from the kernel's UAPI headers (asm/unistd*.h), expanded with the C
preprocessor so that the generic table (arm64, riscv64) gets the same macro choices the
kernel makes. System calls newer than the installed headers are added from
syscalls-after-6.1.txt beside this script.
"""

import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "tables", "generated.rs")

X86 = "/usr/include/x86_64-linux-gnu"
ARM = "/usr/arm-linux-gnueabihf/include"
ARM64 = "/usr/aarch64-linux-gnu/include"
RISCV = "/usr/riscv64-linux-gnu/include"
PPC = "/usr/powerpc64le-linux-gnu/include"
S390 = "/usr/s390x-linux-gnu/include"
MIPS = "/usr/mips64el-linux-gnuabi64/include"

# (ABI constant name, include dir, source snippet, extra cpp defines, mips base or 0)
ABIS = [
    ("X86_64", X86, "#include <asm/unistd_64.h>", [], 0),
    ("X86", X86, "#include <asm/unistd_32.h>", [], 0),
    ("X32", X86, "#define __X32_SYSCALL_BIT 0x40000000\n#include <asm/unistd_x32.h>", [], 0),
    ("ARM", ARM, "#include <asm/unistd.h>", ["-D__ARM_EABI__"], 0),
    ("AARCH64", ARM64, "#include <asm/unistd.h>", [], 0),
    ("RISCV64", RISCV, "#include <asm/unistd.h>", ["-D__LP64__", "-D__SIZEOF_POINTER__=8"], 0),
    ("PPC64", PPC, "#include <asm/unistd_64.h>", [], 0),
    ("PPC", PPC, "#include <asm/unistd_32.h>", [], 0),
    ("S390X", S390, "#include <asm/unistd_64.h>", [], 0),
    ("S390", S390, "#include <asm/unistd_32.h>", [], 0),
    ("MIPS_O32", MIPS, "#define __NR_Linux 4000\n#include <asm/unistd_o32.h>", [], 4000),
    ("MIPS_N64", MIPS, "#define __NR_Linux 5000\n#include <asm/unistd_n64.h>", [], 5000),
    ("MIPS_N32", MIPS, "#define __NR_Linux 6000\n#include <asm/unistd_n32.h>", [], 6000),
]

# Macros that look like system calls but are table bookkeeping (ARM's OABI base and mask
# among them), and MIPS's numbered placeholders (__NR_unused18, __NR_reserved82).
NOT_SYSCALLS = {"syscalls", "arch_specific_syscall", "Linux", "Linux_syscalls", "SYSCALL_BASE",
                "OABI_SYSCALL_BASE", "SYSCALL_MASK"}
PLACEHOLDER = re.compile(r"(unused|reserved)[0-9]+")


def macros(incdir, snippet, defines):
    """All object-like macros defined after preprocessing `snippet`."""
    cmd = ["cpp", "-dM", "-P", "-undef", "-nostdinc", "-I", incdir] + defines + ["-"]
    out = subprocess.run(cmd, input=snippet, capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        m = re.match(r"#define (\w+) (.*)$", line)
        if m:
            table[m.group(1)] = m.group(2).strip()
    return table


def evaluate(name, table, depth=0):
    if depth > 20:
        raise ValueError(f"macro {name} nests too deep")
    expr = table[name]

    def sub(m):
        word = m.group(0)
        if word in table:
            return str(evaluate(word, table, depth + 1))
        return word

    expr = re.sub(r"[A-Za-z_]\w*", sub, expr)
    if not re.fullmatch(r"[0-9a-fA-FxX+\-*()<> ]+", expr):
        raise ValueError(f"macro {name} is not a number: {expr}")
    return int(eval(expr))  # only digits and arithmetic reach here


def abi_table(incdir, snippet, defines):
    table = macros(incdir, snippet, defines)
    numbers = {}
    for macro in table:
        for prefix in ("__NR_", "__ARM_NR_"):
            if macro.startswith(prefix):
                sysname = macro[len(prefix):]
                if (sysname in NOT_SYSCALLS or sysname == "BASE" or sysname.startswith("3264_")
                        or PLACEHOLDER.fullmatch(sysname)):
                    continue
                try:
                    numbers[sysname] = evaluate(macro, table)
                except ValueError:
                    continue
    if not numbers:
        raise SystemExit(f"no system calls found in {incdir}: is its linux-libc-dev package installed?")
    return numbers


def fnv1a(name):
    """32-bit FNV-1a, the same as tables::fnv1a in Rust."""
    h = 0x811C9DC5
    for b in name.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def later_syscalls():
    rows = []
    with open(os.path.join(HERE, "syscalls-after-6.1.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            only = set(line[2].split(",")) if len(line) > 2 else None
            rows.append((line[0], int(line[1]), only))
    return rows


def main():
    tables = {}
    for abi, incdir, snippet, defines, mips_base in ABIS:
        numbers = abi_table(incdir, snippet, defines)
        for name, nr, only in later_syscalls():
            if only is not None and abi.lower() not in only:
                continue
            if abi == "X32":
                nr |= 0x40000000
            numbers.setdefault(name, nr + mips_base)
        tables[abi] = numbers

    names = sorted(set().union(*tables.values()))
    lines = [
        "// @generated by tools/gen_syscall_tables.py from the kernel UAPI headers; do not edit.",
        "",
        "/// Every system call name known for at least one ABI, sorted.",
        f"pub(crate) static NAMES: [&str; {len(names)}] = [",
    ]
    lines += [f'    "{n}",' for n in names]
    lines.append("];")
    size = 2048
    assert len(names) * 3 < size, "grow the hash table"
    slots = [0] * size
    for i, n in enumerate(names):
        h = fnv1a(n) & (size - 1)
        while slots[h]:
            h = (h + 1) & (size - 1)
        slots[h] = i + 1
    lines.append("")
    lines.append("/// Open-addressing hash index over `NAMES` (FNV-1a, linear probing): the slot of")
    lines.append("/// a name holds its index + 1, an empty slot 0.")
    lines.append(f"pub(crate) static SLOTS: [u16; {size}] = [")
    for row in range(0, size, 16):
        lines.append("    " + " ".join(f"{v}," for v in slots[row:row + 16]))
    lines.append("];")
    lines.append("")
    lines.append("/// Marks a name that an ABI does not have.")
    lines.append("pub(crate) const NONE: u32 = u32::MAX;")
    for abi, _, _, _, _ in ABIS:
        numbers = tables[abi]
        lines.append("")
        lines.append(f"/// {abi}: the number of each entry of `NAMES`, or `NONE`.")
        lines.append(f"pub(crate) static {abi}: [u32; {len(names)}] = [")
        lines += [f"    {numbers[n]}," if n in numbers else "    NONE," for n in names]
        lines.append("];")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    counts = ", ".join(f"{abi} {len(tables[abi])}" for abi, *_ in ABIS)
    print(f"wrote {OUT}: {len(names)} names; {counts}", file=sys.stderr)


if __name__ == "__main__":
    main()
