#!/usr/bin/env bash
# kapsel's main job in one command: build kapsel, build a busybox bundle, and run a
# real, fully isolated container from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cargo build --release -q -p kapsel
kapsel="$PWD/target/release/kapsel"
bundle="${BUNDLE:-$PWD/target/demo-bundle}"
bash scripts/mkbundle.sh "$bundle" "$kapsel" >/dev/null
# A non-interactive demo: no terminal, a short script instead of a shell.
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c",
    "echo \"hello from $(hostname), pid $$ in its own namespaces\"; "
    "echo processes:; ps; echo mounts: $(wc -l < /proc/self/mountinfo); id"]
json.dump(c, open(path, "w"), indent=2)
PY
exec "$kapsel" --root "${KAPSEL_ROOT:-/run/kapsel}" run --bundle "$bundle" "demo-$$"
