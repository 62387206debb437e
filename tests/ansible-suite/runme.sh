#!/usr/bin/env bash
# tests/ansible-suite/runme.sh - Ansible's playbook-language `runme.sh` targets as a yardstick.
#
# Runs each target's runme.sh UNMODIFIED, as ansible-test runs a script target on the
# controller: in a fresh copy of the target (scripts write files next to themselves) laid out as
# ansible-test lays it out (TMP/integration/{inventory,targets/TARGET}, so `-i ../../inventory`
# works; the setup_*/prepare_* targets a target names are copied beside it), with ansible-test's
# environment (OUTPUT_DIR, INVENTORY_PATH, ANSIBLE_FORCE_HANDLERS=false, ...) and the local
# connection (`testhost ansible_connection=local`), as root. `ansible-playbook` on PATH is either
# Ansible's (the peers venv) or converge behind ansible-playbook-shim.sh. A target passes when
# its runme.sh exits 0.
#
# Usage (as root):
#   runme.sh [--tool converge|ansible|both] [--jobs N] [--out DIR] [--docs FILE] [TARGET...]
# Without TARGETs, runme-targets.txt beside this script. Writes DIR/results.tsv
#   target  tool  result(pass|fail)  rc  seconds  first-failure
# and DIR/table.md; with --docs, the table also goes to FILE between
# <!-- runme-table:start/end --> (docs/compatibility.md).
#
# Environment: CONVERGE_ANSIBLE_TARGETS, CONVERGE_BIN, CONVERGE_PEERS_VENV as for run.sh;
#   RUNME_TIMEOUT  seconds per target and tool (default 180)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}

tool=converge jobs=2 out='' docs='' targets=()
while (($#)); do
    case $1 in
        --tool) tool=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --docs) docs=$2; shift 2 ;;
        -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
        -*) echo "runme.sh: unknown option $1" >&2; exit 5 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case $tool in converge | ansible | both) ;; *) echo "runme.sh: --tool converge|ansible|both" >&2; exit 5 ;; esac
[[ $jobs =~ ^[1-9][0-9]?$ ]] || { echo "runme.sh: --jobs must be 1-99" >&2; exit 5; }
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(grep -vE '^\s*(#|$)' "$here/runme-targets.txt")
fi
targets_dir=${CONVERGE_ANSIBLE_TARGETS:-$(ls -d "$cache"/ansible-src/ansible_core-2.19.*/test/integration/targets 2>/dev/null | tail -n 1)}
[[ -d ${targets_dir:-/nonexistent} ]] || {
    echo "runme.sh: Ansible's integration targets are not unpacked (run tests/setup.sh, or set CONVERGE_ANSIBLE_TARGETS)" >&2
    exit 1
}
converge_bin=${CONVERGE_BIN:-$repo/target/debug/converge}
venv=${CONVERGE_PEERS_VENV:-$cache/peers-venv}
tools=()
[[ $tool == converge || $tool == both ]] && tools+=(converge)
[[ $tool == ansible || $tool == both ]] && tools+=(ansible)
[[ $tool == ansible ]] || [[ -x $converge_bin ]] || { echo "runme.sh: no converge at $converge_bin (cargo build)" >&2; exit 1; }
# The scripts' helpers (`env python -c ...`, var_precedence's checker) need a python with yaml
# and jinja2: the venv's, as ansible-test provides its own.
[[ -x $venv/bin/python ]] || { echo "runme.sh: no python in $venv (tests/setup.sh)" >&2; exit 1; }

out=${out:-$(mktemp -d /tmp/ansible-runme.XXXXXX)}
out=$(cd "$out" 2>/dev/null && pwd || { mkdir -p "$out" && cd "$out" && pwd; })
rm -rf "$out/work" "$out/logs"
mkdir -p "$out/logs" "$out/work" "$out/shim/converge" "$out/shim/ansible"
: >"$out/results.tsv"
# converge's PATH: the shim as ansible-playbook and the venv's python, no other Ansible command.
ln -sf "$here/ansible-playbook-shim.sh" "$out/shim/converge/ansible-playbook"
ln -sf "$venv/bin/python" "$out/shim/converge/python"
# Ansible's PATH: the whole venv, as ansible-test has it.
ln -sf "$venv/bin/ansible-playbook" "$out/shim/ansible/ansible-playbook"
t_all=$(date +%s)
echo "ansible-runme: ${#targets[@]} target(s), tools: ${tools[*]}, $jobs at a time; results in $out"

# The setup_*/prepare_* targets a target names (roles it reaches with ANSIBLE_ROLES_PATH=../).
helpers() {
    grep -rhoE '\b(setup|prepare)_[A-Za-z0-9_]+' "$targets_dir/$1" 2>/dev/null | sort -u |
        while read -r h; do [[ -d $targets_dir/$h ]] && echo "$h"; done
}

# Run one target with one tool; append a line to results.tsv.
run_one() {
    local tool=$1 target=$2 work log rc=0 t0 secs result reason path
    work="$out/work/$tool/$target"
    log="$out/logs/$tool/$target.log"
    mkdir -p "$work/integration/targets" "$work/output" "$work/home" "$(dirname "$log")"
    cp -a "$targets_dir/$target" "$work/integration/targets/"
    for h in $(helpers "$target"); do cp -a "$targets_dir/$h" "$work/integration/targets/"; done
    cat >"$work/integration/inventory" <<EOF
[testgroup]
testhost ansible_connection=local ansible_pipelining=yes ansible_python_interpreter=/usr/bin/python3
EOF
    if [[ $tool == converge ]]; then path="$out/shim/converge:$PATH"; else path="$out/shim/ansible:$venv/bin:$PATH"; fi
    t0=$(date +%s)
    (
        cd "$work/integration/targets/$target" &&
            env PATH="$path" HOME="$work/home" CONVERGE_BIN="$converge_bin" CONVERGE_BATCH=1 NO_COLOR=1 \
                OUTPUT_DIR="$work/output" INVENTORY_PATH="$work/integration/inventory" \
                ANSIBLE_PLAYBOOK_DIR="$work/integration/targets/$target" \
                ANSIBLE_FORCE_HANDLERS=false ANSIBLE_DEPRECATION_WARNINGS=false ANSIBLE_HOST_KEY_CHECKING=false \
                ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_DEVEL_WARNING=false ANSIBLE_FORCE_COLOR=false \
                ANSIBLE_NOCOLOR=1 ANSIBLE_TEST_CI=local PAGER=/bin/cat \
                timeout "${RUNME_TIMEOUT:-180}" ./runme.sh </dev/null
    ) >"$log" 2>&1 || rc=$?
    secs=$(($(date +%s) - t0))
    if ((rc == 0)); then
        result=pass reason=''
    else
        result=fail
        # The command that failed (set -x traces it with "+ ") and the first error after it.
        reason=$(awk '/^\++ .*ansible-playbook/ {cmd=$0; err=""} /^(ERROR|\[ERROR\]|error|fatal|.*FAILED!|ansible-playbook \(converge shim\))/ && err=="" {err=$0} END {print cmd " :: " err}' "$log" |
            sed -e 's/^+* //' | cut -c1-220 | tr '\t|' '  ')
        reason=${reason//$work\/integration\/targets\/$target\//}
        reason=${reason//$work/WORK}
        ((rc == 124)) && reason="timed out after ${RUNME_TIMEOUT:-180} s; $reason"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$tool" "$result" "$rc" "$secs" "$reason" >>"$out/results.tsv"
    printf '  %-32s %-9s %-4s %4s s  %s\n' "$target" "$tool" "$result" "$secs" "$reason"
    # Keep the log, not the copy.
    rm -rf "$work"
}

for t in "${tools[@]}"; do
    for target in "${targets[@]}"; do
        while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
        run_one "$t" "$target" &
    done
done
wait

python3 "$here/runme-table.py" "$out/results.tsv" "$here/runme-out-of-scope.txt" "${targets[@]}" >"$out/table.md"
if [[ -n $docs ]]; then
    python3 "$here/runme-table.py" --docs "$docs" "$out/results.tsv" "$here/runme-out-of-scope.txt" "${targets[@]}"
fi
cat "$out/table.md"
echo "ansible-runme: done in $(($(date +%s) - t_all)) s; results in $out/results.tsv"
