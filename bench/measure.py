#!/usr/bin/env python3
"""Footprint and cost of container runtimes, each under the same wrapper (a private mount
namespace without /sys/fs/cgroup/unified, which crun 1.8 needs on this hybrid host).

    bench/measure.py rss      BUNDLE NAME=BINARY ...   peak RSS of `create` and `run true`
    bench/measure.py syscalls BUNDLE NAME=BINARY ...   syscalls of `create`, by name and time
    bench/measure.py run      BUNDLE RUNS [--gap-ms=N] NAME=CMD ...
                                                       `run`-like commands, interleaved,
                                                       N ms of quiet before each (default 0)

`syscalls` traces every process of the runtime (strace -f) from its start until the
container's process execs the user's program (`start` is issued untraced). `run` takes
shell command templates with {id} and {root}; it reports medians and ratios to the first.
Run as root from anywhere; scripts/perf-report.sh drives it.
"""
import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WRAPPER = ["unshare", "-m", "sh", "-c",
           'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "--"]


class Done:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def call(cmd, shell=False):
    # stderr to a file, not a pipe: a created container inherits the runtime's stdio
    # and would hold a pipe open.
    with tempfile.TemporaryFile() as err:
        r = subprocess.run(cmd, shell=shell, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=err)
        err.seek(0)
        return Done(r.returncode, err.read())


def runtimes(args):
    return [a.split("=", 1) for a in args]


def rss(bundle, rts):
    work = tempfile.mkdtemp(prefix="kapsel-rss-")
    try:
        print("| runtime | create peak RSS [KiB] | run peak RSS [KiB] |\n|---|---:|---:|")
        for name, binary in rts:
            root = os.path.join(work, name)
            res = {"create": [], "run": []}
            for i in range(5):
                for op in ("create", "run"):
                    cid = f"rss-{op}-{i}"
                    r = call(WRAPPER + ["/usr/bin/time", "-f", "%M", binary, "--root", root,
                                        op, "--bundle", bundle, cid])
                    res[op].append(int(r.stderr.decode().strip().splitlines()[-1]))
                    call(WRAPPER + [binary, "--root", root, "delete", "--force", cid])
            print(f"| {name} | {statistics.median(res['create']):.0f} | "
                  f"{statistics.median(res['run']):.0f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_strace(path):
    """Syscall names and -T durations up to the user program's execve."""
    calls = []
    for line in open(path):
        parts = line.split(None, 1)
        if len(parts) < 2 or parts[1].startswith(("+++", "---", "<...")):
            continue
        body = parts[1]
        name = body.split("(", 1)[0]
        if not name.isidentifier():
            continue
        dur = 0.0
        if body.rstrip().endswith(">") and "<" in body:
            try:
                dur = float(body.rstrip()[body.rstrip().rindex("<") + 1:-1])
            except ValueError:
                pass
        if name == "execve" and '"/bin/true"' in body or '"/usr/bin/true"' in body:
            break
        calls.append((name, dur))
    return calls


def syscalls(bundle, rts):
    work = tempfile.mkdtemp(prefix="kapsel-strace-")
    try:
        rows = []
        for name, binary in rts:
            root = os.path.join(work, name)
            out = os.path.join(work, name + ".strace")
            tracer = subprocess.Popen(WRAPPER + ["strace", "-f", "-T", "-qq", "-o", out, binary,
                                                 "--root", root, "create", "--bundle", bundle,
                                                 "sc"], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # create has returned once the state says "created"
            deadline = time.time() + 20
            while time.time() < deadline:
                st = subprocess.run(WRAPPER + [binary, "--root", root, "state", "sc"],
                                    capture_output=True)
                if b'"created"' in st.stdout:
                    break
                time.sleep(0.05)
            call(WRAPPER + [binary, "--root", root, "start", "sc"])
            tracer.wait(timeout=30)
            call(WRAPPER + [binary, "--root", root, "delete", "--force", "sc"])
            calls = parse_strace(out)
            by = collections.Counter(n for n, _ in calls)
            t = collections.Counter()
            for n, d in calls:
                t[n] += d
            rows.append((name, len(calls), sum(t.values()) * 1000, by, t))
        print("| runtime | syscalls in create | time in syscalls [ms] | most frequent | most time |")
        print("|---|---:|---:|---|---|")
        for name, n, ms, by, t in rows:
            freq = ", ".join(f"{k} {v}" for k, v in by.most_common(6))
            slow = ", ".join(f"{k} {v * 1000:.2f}" for k, v in t.most_common(5))
            print(f"| {name} | {n} | {ms:.1f} | {freq} | {slow} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(bundle, runs, cmds, gap_ms=0):
    work = tempfile.mkdtemp(prefix="kapsel-run-")
    try:
        samples = {n: [] for n, _ in cmds}
        for i in range(runs + 3):
            for name, tmpl in cmds:
                root = os.path.join(work, "".join(c if c.isalnum() else "_" for c in name))
                cmd = tmpl.format(id=f"r{i}", root=root, bundle=bundle)
                time.sleep(gap_ms / 1000)
                t0 = time.perf_counter()
                r = call(cmd, shell=True)
                ms = (time.perf_counter() - t0) * 1000
                if r.returncode != 0:
                    sys.exit(f"{name}: {cmd}: exit {r.returncode}: {r.stderr.decode().strip()}")
                if i >= 3:
                    samples[name].append(ms)
        base = statistics.median(samples[cmds[0][0]])
        print(f"| command ({runs} interleaved runs, {gap_ms:g} ms apart) | median [ms] | min | "
              f"ratio to {cmds[0][0]} |")
        print("|---|---:|---:|---:|")
        for name, _ in cmds:
            s = samples[name]
            print(f"| {name} | {statistics.median(s):.2f} | {min(s):.2f} | "
                  f"{statistics.median(s) / base:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    what, bundle = sys.argv[1], os.path.abspath(sys.argv[2])
    if what == "rss":
        rss(bundle, runtimes(sys.argv[3:]))
    elif what == "syscalls":
        syscalls(bundle, runtimes(sys.argv[3:]))
    elif what == "run":
        args, gap = sys.argv[4:], 0
        if args and args[0].startswith("--gap-ms="):
            gap, args = float(args[0].split("=", 1)[1]), args[1:]
        run(bundle, int(sys.argv[3]), runtimes(args), gap)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
