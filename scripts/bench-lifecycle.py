#!/usr/bin/env python3
"""create+start+delete of one small bundle, three processes per cycle (the method of the
2024 thesis that measured crun 48.8 ms, runc 102.4 ms), for several runtimes interleaved
(A B C A B C ...) so that machine drift hits all alike. Every call runs under the same
wrapper: a private mount namespace without /sys/fs/cgroup/unified, which crun 1.8 needs on
this hybrid cgroup host.

    scripts/bench-lifecycle.py --runs 100 kapsel=target/release/kapsel runc=runc crun=crun
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

WRAPPER = ["unshare", "-m", "sh", "-c",
           'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"', "--"]


ERR = tempfile.TemporaryFile()


def sh(cmd, check=True):
    # stderr to a file, not a pipe: the container inherits the runtime's stdio and
    # would hold a pipe open until it exits.
    ERR.seek(0)
    ERR.truncate()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=ERR)
    if check and r.returncode != 0:
        ERR.seek(0)
        raise RuntimeError(f"{' '.join(cmd)}: {ERR.read().decode().strip()}")
    return r.returncode


def cycle(binary, root, bundle, cid):
    t0 = time.perf_counter()
    sh(WRAPPER + [binary, "--root", root, "create", "--bundle", bundle, cid])
    sh(WRAPPER + [binary, "--root", root, "start", cid])
    sh(WRAPPER + [binary, "--root", root, "delete", "--force", cid])
    return (time.perf_counter() - t0) * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--bundle", help="bundle dir (default: built with scripts/mkbundle.sh)")
    ap.add_argument("--json", help="write raw samples here")
    ap.add_argument("runtimes", nargs="+", help="NAME=BINARY")
    a = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    work = tempfile.mkdtemp(prefix="kapsel-bench-")
    try:
        bundle = a.bundle or os.path.join(work, "bundle")
        if not a.bundle:
            sh(["bash", os.path.join(here, "mkbundle.sh"), bundle, "runc"])
            cfg_path = os.path.join(bundle, "config.json")
            cfg = json.load(open(cfg_path))
            cfg["process"]["args"] = ["true"]
            json.dump(cfg, open(cfg_path, "w"))
        rts = [r.split("=", 1) for r in a.runtimes]
        samples = {name: [] for name, _ in rts}
        for i in range(a.warmup + a.runs):
            for name, binary in rts:
                root = os.path.join(work, "root-" + name)
                ms = cycle(binary, root, bundle, f"bench-{name}-{i}")
                if i >= a.warmup:
                    samples[name].append(ms)
        base = statistics.median(samples[rts[0][0]])
        print(f"create+start+delete, {a.runs} interleaved runs, median (min / p90), ratio to {rts[0][0]}")
        for name, _ in rts:
            s = sorted(samples[name])
            med = statistics.median(s)
            p90 = s[int(len(s) * 0.9) - 1]
            print(f"  {name:8} {med:7.2f} ms  ({s[0]:.2f} / {p90:.2f})  x{med / base:.2f}")
        if a.json:
            json.dump(samples, open(a.json, "w"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
