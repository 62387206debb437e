#!/usr/bin/env bash
# The project's test command (the README's): builds once, starts the real-host lab, runs every
# test (unit, CLI, differential against Ansible, and real-SSH tests on the lab), then tears the
# lab down. Needs root (network namespaces, mounts); run tests/setup.sh first on a new machine.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
elapsed() { echo "  ($(($(date +%s) - t0)) s since start)"; }

export CONVERGE_PEERS_VENV=${CONVERGE_PEERS_VENV:-${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}/peers-venv}

echo "== build"
cargo build --workspace --all-targets --quiet
elapsed

echo "== lab"
LAB_DIR=${LAB_DIR:-/tmp/converge-lab}
export LAB_DIR
# A second, "bare" lab (none of the lab's users or sudo rules) for tests/lab_bare_examples.rs.
BARE_LAB_ID=${CONVERGE_BARE_LAB_ID:-9}
BARE_LAB_DIR=/tmp/converge-lab$BARE_LAB_ID
cleanup() {
    bash tests/lab/lab.sh down >/dev/null 2>&1 || true
    LAB_ID=$BARE_LAB_ID LAB_DIR=$BARE_LAB_DIR bash tests/lab/lab.sh down >/dev/null 2>&1 || true
}
trap cleanup EXIT
bash tests/lab/lab.sh up 3 --docker-room
export CONVERGE_LAB="$LAB_DIR"
LAB_ID=$BARE_LAB_ID LAB_DIR=$BARE_LAB_DIR bash tests/lab/lab.sh up 1 --bare --docker-room
export CONVERGE_BARE_LAB="$BARE_LAB_DIR"
elapsed

echo "== tests"
# Failing tests must not end the script before the summary (set -e with pipefail would).
set +e
cargo test --workspace --no-fail-fast 2>&1 | tee /tmp/converge-test.log | grep -vE '^test .* \.\.\. ok$'
status=${PIPESTATUS[0]}
set -e
elapsed
echo "== summary"
# "skipped" counts the #[ignore]d tests: deliberate skips, each with its reason in the source.
grep -E '^test result:' /tmp/converge-test.log | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}' || true
if [ "$status" -ne 0 ]; then
    echo "cargo test exited with $status (failed tests are listed above)"
fi
exit "$status"
