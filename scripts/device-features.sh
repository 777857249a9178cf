#!/usr/bin/env bash
# The device profile of kapsel (docs/embedded.md) on arm64: its size, and what each
# feature it leaves out would cost.
#
#   scripts/device-features.sh            build it and check it stays within 1 MiB
#   scripts/device-features.sh --table    also build it once more per feature and
#                                         rewrite the feature table of docs/embedded.md
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-musl
limit=${KAPSEL_DEVICE_LIMIT:-1048576}
features=(systemd idmap intel-rdt net-devices pty-relay sd-notify foreign-seccomp cli-help)

size_with() {
    rm -f "target/static/$target/kapsel-device"
    KAPSEL_DEVICE_FEATURES="$1" bash scripts/build-static.sh --device "$target" >/dev/null
    stat -c %s "target/static/$target/kapsel-device"
}

base=$(size_with "")
echo "device profile on $target: $base bytes (limit $limit)"
if [ "${1:-}" = --table ]; then
    full=$(stat -c %s "target/static/$target/kapsel" 2>/dev/null || echo 0)
    rows="| feature | what a config loses without it | bytes on $target |
|---|---|---:|"
    for f in "${features[@]}"; do
        with=$(size_with "$f")
        what=$(sed -n "/^# /{h;d}; /^$f = /{x;s/^# //;p}" crates/libkapsel/Cargo.toml crates/kapsel/Cargo.toml | head -1)
        rows="$rows
| \`$f\` | $what | $((with - base)) |"
    done
    size_with "" >/dev/null
    rows="$rows

The device build: $base bytes stripped (std built for size without backtraces, no unwind tables, panics abort without a message); the default static build of the same target: $full bytes."
    python3 - "$rows" <<'PY'
import re, sys
start, end = "<!-- device-features -->", "<!-- /device-features -->"
text = open("docs/embedded.md").read()
new = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: f"{start}\n{sys.argv[1]}\n{end}", text, flags=re.S)
open("docs/embedded.md", "w").write(new)
PY
fi
if [ "$base" -gt "$limit" ]; then
    echo "device-features: the device build is $base bytes, over $limit" >&2
    exit 1
fi
