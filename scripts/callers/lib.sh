# Shared helpers for the caller scenarios (podman.sh, containerd.sh, docker.sh, buildah.sh, cri.sh).
# Source it: `. "$(dirname "$0")/lib.sh"`. Each scenario prints one PASS/FAIL line per step and
# ends with `N passed, M failed`; its exit status is non-zero when any step failed.
#
#   step NAME CMD...          runs CMD; PASS when it exits 0
#   step_out NAME WANT CMD... runs CMD; PASS when its output contains WANT
#   step_rc NAME RC CMD...    runs CMD; PASS when it exits with RC
#   checked CMD...            runs CMD (which prints PASS/FAIL lines itself, as `assay
#                             cri-check`), passes its output on and counts its lines
#   finish                    prints the summary and exits accordingly
#   require_root WHY          ends the scenario with a SKIP line unless root (a failure
#                             under KAPSEL_TEST_STRICT=1)
#   kapsel_bin                the kapsel release binary of this checkout (built if missing)
#   callers_image OUT [ARGS]  builds the busybox image tar with mkimage.py (cached by content)
#   podman_conf DIR RUNTIME [DRIVER]  containers.conf and storage.conf for a podman rooted in
#                             DIR whose runtime is RUNTIME (named by its file name)

CALLERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CALLERS_DIR/../.." && pwd)
PASSED=0
FAILED=0
FAILED_STEPS=()
SCENARIO=${SCENARIO:-$(basename "$0" .sh)}

_record() { # NAME STATUS DETAIL
    if [ "$2" = PASS ]; then
        PASSED=$((PASSED + 1))
        echo "PASS $SCENARIO: $1"
    else
        FAILED=$((FAILED + 1))
        FAILED_STEPS+=("$1")
        echo "FAIL $SCENARIO: $1${3:+ -- $3}"
    fi
}

step() {
    local name=$1 out; shift
    if out=$("$@" 2>&1); then _record "$name" PASS
    else _record "$name" FAIL "exit $?: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

step_out() {
    local name=$1 want=$2 out rc=0; shift 2
    out=$("$@" 2>&1) || rc=$?
    if [[ "$out" == *"$want"* ]]; then _record "$name" PASS
    else _record "$name" FAIL "exit $rc, wanted \`$want\` in: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

step_rc() {
    local name=$1 want=$2 out rc=0; shift 2
    out=$("$@" 2>&1) || rc=$?
    if [ "$rc" = "$want" ]; then _record "$name" PASS
    else _record "$name" FAIL "exit $rc, wanted $want: $(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

checked() {
    local line
    while IFS= read -r line; do
        echo "$line"
        case $line in
            PASS\ *) PASSED=$((PASSED + 1)) ;;
            FAIL\ *) FAILED=$((FAILED + 1)); FAILED_STEPS+=("${line#FAIL }") ;;
        esac
    done < <("$@" 2>&1)
}

finish() {
    echo "$SCENARIO: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ] || { printf '  failed: %s\n' "${FAILED_STEPS[@]}"; exit 1; }
}

nothing_in() { # DIR: passes when DIR is missing or empty, else names what is left
    local left
    left=$(ls -A "$1" 2>/dev/null)
    [ -z "$left" ] || { echo "left in $1: $left"; return 1; }
}

no_cgroups_under() { # PARENT: passes when no hierarchy has a cgroup dir PARENT/* left
    local left
    left=$(find /sys/fs/cgroup/ -mindepth 3 -maxdepth 3 -type d -path "*/$1/*" 2>/dev/null)
    [ -z "$left" ] || { echo "cgroups left: $left"; return 1; }
}

require_root() {
    [ "$(id -u)" = 0 ] && return 0
    echo "SKIP $SCENARIO: needs root $1"
    [ "${KAPSEL_TEST_STRICT:-0}" = 1 ] && exit 1
    exit 0
}

kapsel_bin() {
    local bin=${KAPSEL_BIN:-${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/kapsel}
    if [ ! -x "$bin" ]; then
        (cd "$REPO_DIR" && cargo build --release -q -p kapsel) >&2
    fi
    echo "$bin"
}

callers_image() {
    local out=$1; shift
    python3 "$CALLERS_DIR/mkimage.py" "$out" "$@" >&2
}

podman_conf() {
    local dir=$1 rt=$2 driver=${3:-overlay} name
    name=$(basename "$rt")
    mkdir -p "$dir/storage" "$dir/run" "$dir/tmp"
    cat >"$dir/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/tmp/events.log"
tmp_dir = "$dir/tmp"
runtime = "$name"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "$name"]

[engine.runtimes]
$name = ["$rt"]
EOF
    cat >"$dir/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$dir/storage"
runroot = "$dir/run"
rootless_storage_path = "$dir/storage"
EOF
}

apt_need() { # PACKAGE... installed when missing
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "$SCENARIO: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null; }
}
