#!/usr/bin/env python3
"""The conformance table: maps runtime-spec requirements (scripts/conformance-requirements.tsv)
to the integration tests marked `// req: <id>, ...` and renders docs/conformance.md from the
libtest output of a kapsel run and a runc run.

    conformance.py check                      every marker names a known requirement
    conformance.py names                      the marked tests, one per line
    conformance.py report OUT_DIR > FILE.md   OUT_DIR holds <runtime>.stdout/.stderr/.version
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests/integration/tests"
CATALOGUE = ROOT / "scripts/conformance-requirements.tsv"
RUNTIMES = ["kapsel", "runc"]


def requirements():
    reqs = []
    for line in CATALOGUE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 4:
            sys.exit(f"{CATALOGUE}: bad line: {line!r}")
        reqs.append({"id": cols[0], "level": cols[1], "section": cols[2], "text": cols[3],
                     "note": cols[4] if len(cols) > 4 else ""})
    return reqs


def markers():
    """(test name, file, [ids]) for every `// req:` marker followed by its test fn."""
    found = []
    for path in sorted(TESTS.glob("*.rs")):
        pending = None
        for line in path.read_text().splitlines():
            m = re.match(r"\s*// req: (.+)$", line)
            if m:
                pending = [i.strip() for i in m.group(1).split(",") if i.strip()]
                continue
            m = re.match(r"fn (\w+)\(\)", line)
            if m and pending is not None:
                found.append((m.group(1), path.stem, pending))
                pending = None
    return found


def check():
    known = {r["id"] for r in requirements()}
    bad = [(t, f, i) for t, f, ids in markers() for i in ids if i not in known]
    for test, file, ident in bad:
        print(f"{file}.rs: {test}: unknown requirement `{ident}`", file=sys.stderr)
    return 1 if bad else 0


def outcomes(out_dir, runtime):
    """test name -> (result, detail) for one runtime's run."""
    stdout = (out_dir / f"{runtime}.stdout").read_text(errors="replace")
    stderr = (out_dir / f"{runtime}.stderr").read_text(errors="replace")
    res = {}
    for m in re.finditer(r"^test (\w+) \.\.\. (ok|FAILED|ignored)", stdout, re.M):
        res[m.group(1)] = ("pass", "") if m.group(2) == "ok" else (
            ("fail", "") if m.group(2) == "FAILED" else ("skip", "ignored"))
    for m in re.finditer(r"^SKIP (\w+): (.*)$", stderr, re.M):
        if res.get(m.group(1), ("",))[0] == "pass":
            res[m.group(1)] = ("skip", m.group(2).strip())
    for m in re.finditer(r"^NOTE (\w+): (.*)$", stderr, re.M):
        if res.get(m.group(1), ("",))[0] == "pass":
            res[m.group(1)] = ("pass", m.group(2).strip())
    for m in re.finditer(r"^---- (\w+) stdout ----\n(?:.*\n)*?.*panicked at [^\n]*\n([^\n]*)", stdout, re.M):
        if m.group(1) in res:
            # The panic line without the command line it quotes (long temporary paths).
            res[m.group(1)] = ("fail", m.group(2).split(": `")[0].strip()[:160])
    return res


def cell(results):
    """One requirement's result from its tests' results [(test, (result, detail))]."""
    for kind in ["fail", "not run", "skip"]:
        hit = [(t, d) for t, (r, d) in results if r == kind]
        if hit:
            t, d = hit[0]
            return kind, f"**{kind.upper()}** `{t}`" + (f": {d}" if d else "")
    notes = [f"`{t}`: {d}" for t, (_, d) in results if d]
    return "pass", "pass" + (f" ({notes[0]})" if notes else "")


def report(out_dir):
    out_dir = pathlib.Path(out_dir)
    reqs = requirements()
    tests_of = {}
    for test, file, ids in markers():
        for i in ids:
            tests_of.setdefault(i, []).append((test, file))
    runs = {rt: outcomes(out_dir, rt) for rt in RUNTIMES}
    versions = {rt: (out_dir / f"{rt}.version").read_text().strip().splitlines()[0]
                for rt in RUNTIMES}
    rows, totals, kapsel_fails = [], {rt: {} for rt in RUNTIMES}, []
    for r in reqs:
        tests = tests_of.get(r["id"], [])
        cells = {}
        for rt in RUNTIMES:
            results = [(t, runs[rt].get(t, ("not run", ""))) for t, _ in tests]
            key, cells[rt] = cell(results) if tests else (
                "untested", "untested: " + r["note"] if r["note"] else "untested")
            totals[rt][key] = totals[rt].get(key, 0) + 1
            if rt == "kapsel":
                kapsel_kind = key
        if kapsel_kind != "pass" and key == "pass":
            kapsel_fails.append(r["id"])
        names = "<br>".join(f"`{f}::{t}`" for t, f in tests) or "—"
        rows.append(f"| `{r['id']}` | {r['level']} | [{r['section']}]"
                    f"(https://github.com/opencontainers/runtime-spec/blob/main/{r['section']}) "
                    f"| {r['text']} | {names} | {cells['kapsel']} | {cells['runc']} |")
    summary = lambda rt: ", ".join(f"{n} {k}" for k, n in sorted(totals[rt].items()))
    print("# Conformance to the OCI runtime-spec\n")
    print("Generated by `scripts/conformance.sh` (do not edit): every MUST/SHOULD of runtime-spec")
    print("runtime.md, config.md and config-linux.md that a Linux runtime can be tested for, listed in")
    print("`scripts/conformance-requirements.tsv` (paraphrased), mapped to the integration tests that")
    print("carry a `// req: <id>` marker, and the result of running those tests against kapsel and")
    print("against runc on this machine. A skip is never counted as a pass; it names its reason")
    print("(machine limits such as missing cgroup v1 hierarchies, no CAP_SYS_RESOURCE, no LSM).")
    print("Many tests run the probe (`tests/integration/probe/probe.c`) as the container process.\n")
    for rt in RUNTIMES:
        print(f"- **{rt}** (`{versions[rt]}`): {summary(rt)}")
    print(f"- requirements kapsel does not pass but runc does: "
          f"{', '.join(f'`{i}`' for i in kapsel_fails) or 'none'}\n")
    print("| id | level | section | requirement | tests | kapsel | runc |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "check":
        return check()
    if cmd == "names":
        print("\n".join(sorted({t for t, _, _ in markers()})))
        return check()
    if cmd == "report" and len(sys.argv) == 3:
        return report(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
