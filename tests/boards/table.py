#!/usr/bin/env python3
"""The footprint table of the emulated boards, from what they printed.

Reads target/boards/ARCH/results.txt (the BOARD and FOOT lines of tests/boards/board.sh)
for every board that has one, and rewrites the part between `<!-- boards-table -->` and
`<!-- /boards-table -->` in each file given with --write (docs/embedded.md, README.md).
Without --write it prints the table. Medians over the rounds; times only as ratios to
crun, since the boards are emulated (TCG) and their absolute times say little.
"""
import argparse
import os
import re
import statistics
import sys

BOARDS = ["aarch64", "armv7", "riscv64"]
RUNTIMES = ["crun", "kapsel", "kapsel-device"]
NAMES = {"crun": "crun", "kapsel": "kapsel", "kapsel-device": "kapsel (device)"}
MACHINE = {
    "aarch64": "QEMU virt, Cortex-A57",
    "armv7": "QEMU virt, Cortex-A15",
    "riscv64": "QEMU virt, rv64gc",
}
START, END = "<!-- boards-table -->", "<!-- /boards-table -->"


def parse(path):
    """{runtime: {metric: [values]}} and the board's own lines."""
    foot, board = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4 and parts[0] == "FOOT":
                try:
                    value = float(parts[3])
                except ValueError:
                    continue
                foot.setdefault(parts[1], {}).setdefault(parts[2], []).append(value)
            elif line.startswith("BOARD kernel "):
                board["kernel"] = line[len("BOARD kernel "):].strip()
            elif line.startswith(("BOARD PASS", "BOARD FAIL")):
                board.setdefault("checks", []).append(parts[1])
                if parts[1] == "FAIL":
                    board.setdefault("failed", []).append(parts[2].rstrip(":"))
    return foot, board


def median(foot, rt, metric):
    v = foot.get(rt, {}).get(metric)
    return statistics.median(v) if v else None


def cell(value, fmt, base=None, ratio_only=False):
    if value is None:
        return "–"
    if ratio_only:
        return "×%.2f" % (value / base) if base else "–"
    text = fmt % value
    if base:
        text += " (×%.2f)" % (value / base)
    return text


def table(arch, foot, board):
    rts = [rt for rt in RUNTIMES if rt in foot]
    runs = max((len(v) for m in foot.values() for k, v in m.items() if k == "run_ms"), default=0)
    boot = median(foot, "board", "boot_to_first_container_s")
    checks = board.get("checks", [])
    lines = [
        f"**{arch}** ({MACHINE[arch]}; {board.get('kernel', '?')}): "
        f"{len(checks) - len(board.get('failed', []))} of {len(checks)} smoke checks passed; "
        f"boot to the first container {cell(boot, '%.1f s')}; {runs} rounds.",
        "",
        "| metric | " + " | ".join(NAMES[rt] for rt in rts) + " |",
        "|---|" + "---:|" * len(rts),
    ]

    def row(label, metric, fmt, ratio_only=False, scale=1.0):
        base = median(foot, "crun", metric)
        base = base * scale if base is not None else None
        cells = []
        for rt in rts:
            v = median(foot, rt, metric)
            v = v * scale if v is not None else None
            if ratio_only and rt == "crun":
                cells.append("1" if base else "–")
            else:
                cells.append(cell(v, fmt, None if rt == "crun" else base, ratio_only))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("binary [KiB]", "binary_bytes", "%.0f", scale=1 / 1024)
    row("shared libraries", "libraries", "%.0f")
    for rt in rts:
        b, l = median(foot, rt, "binary_bytes"), median(foot, rt, "libraries_bytes")
        if b is not None and l is not None:
            foot[rt]["total_bytes"] = [b + l]
    row("binary + libraries [KiB]", "total_bytes", "%.0f", scale=1 / 1024)
    row("`create` peak RSS [KiB]", "create_peak_rss_kib", "%.0f")
    row("`run true` peak RSS [KiB]", "run_peak_rss_kib", "%.0f")
    row("charged to the container's cgroup after `create` [KiB]", "charged_kib", "%.0f")
    row("`create`, time (ratio to crun)", "create_ms", "", ratio_only=True)
    row("create+start+delete, time (ratio to crun)", "lifecycle_ms", "", ratio_only=True)
    row("`run true`, time (ratio to crun)", "run_ms", "", ratio_only=True)
    wasm = wasm_line(foot)
    if wasm:
        lines += ["", wasm]
    return "\n".join(lines)


def wasm_line(foot):
    """The wasm handler's build (tests/boards/wasm.sh), when the board had it."""
    size = median(foot, "kapsel-wasm", "binary_bytes")
    hello = median(foot, "kapsel-wasm", "run_wasm-hello_ms")
    true = median(foot, "kapsel-wasm", "run_true_ms")
    if size is None or hello is None or not true:
        return None
    base = median(foot, "kapsel", "binary_bytes")
    more = f" (+{(size - base) / 1024:.0f} KiB over kapsel)" if base else ""
    rss = median(foot, "kapsel-wasm", "run_wasm-hello_peak_rss_kib")
    rss_true = median(foot, "kapsel-wasm", "run_true_peak_rss_kib")
    module = median(foot, "wasm", "module_bytes")
    return (
        f"With the WebAssembly handler (`kapsel-wasm`): {size / 1024:.0f} KiB{more}; "
        f"`run` of a wasip1 hello world ({(module or 0) / 1024:.0f} KiB module) takes "
        f"×{hello / true:.2f} the time of `run true` with the same binary, peak RSS "
        f"{rss:.0f} KiB against {rss_true:.0f} KiB."
    )


def render(root):
    parts = []
    for arch in BOARDS:
        path = os.path.join(root, arch, "results.txt")
        if not os.path.exists(path):
            continue
        foot, board = parse(path)
        parts.append(table(arch, foot, board))
    if not parts:
        sys.exit("table.py: no target/boards/*/results.txt: run scripts/test-boards.sh first")
    return "\n\n".join(parts)


def write(path, text):
    with open(path) as f:
        old = f.read()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(old):
        sys.exit(f"table.py: {path} has no {START} ... {END} markers")
    new = pattern.sub(lambda _: f"{START}\n{text}\n{END}", old)
    with open(path, "w") as f:
        f.write(new)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", default="target/boards")
    p.add_argument("--write", action="append", default=[])
    a = p.parse_args()
    text = render(a.results)
    for path in a.write:
        write(path, text)
    if not a.write:
        print(text)


if __name__ == "__main__":
    main()
