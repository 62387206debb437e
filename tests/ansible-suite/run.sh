#!/usr/bin/env bash
# tests/ansible-suite/run.sh - Ansible's own integration targets as converge's yardstick.
#
# Runs each target UNMODIFIED, as ansible-test runs a role target: a play
#   hosts: testhost, gather_facts: true (unless the target's aliases say gather_facts/no),
#   vars: {output_dir: ...}, roles: [TARGET]
# with ANSIBLE_ROLES_PATH = the unpacked targets folder (so meta dependencies such as
# setup_remote_tmp_dir and prepare_tests resolve as in Ansible's CI), against real lab hosts over
# SSH. converge and ansible-playbook each get their own twin hosts; the targets are spread over
# SHARDS hosts per tool, in a fixed order, so every run is the same.
#
# Usage (as root):
#   run.sh [--tool converge|ansible|both] [--shards N] [--out DIR] [--docs FILE] [TARGET...]
# Without TARGETs, the list in targets.txt beside this script. Writes DIR/results.tsv
#   target  tool  result(pass|fail)  rc  ok  changed  failed  seconds  first-failure
# and DIR/table.md; with --docs, the table also goes to FILE (docs/compatibility.md).
#
# Environment:
#   CONVERGE_ANSIBLE_TARGETS  the unpacked test/integration/targets (default: under the cache,
#                             where tests/setup.sh unpacks it)
#   CONVERGE_BIN              converge binary (default target/debug/converge)
#   CONVERGE_PEERS_VENV       venv with ansible-playbook (default under the cache)
#   SUITE_LAB_ID              lab id of the suite's own lab (default 7; never the main lab 0)
#   SUITE_KEEP_LAB=1          leave the lab up afterwards
#   SUITE_TIMEOUT             seconds per target and tool (default 600)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}

tool=converge shards=2 out='' docs='' targets=()
while (($#)); do
    case $1 in
        --tool) tool=$2; shift 2 ;;
        --shards) shards=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --docs) docs=$2; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 5 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case $tool in converge|ansible|both) ;; *) echo "run.sh: --tool converge|ansible|both" >&2; exit 5 ;; esac
[[ $shards =~ ^[1-9][0-9]?$ ]] || { echo "run.sh: --shards must be 1-99" >&2; exit 5; }
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(grep -vE '^\s*(#|$)' "$here/targets.txt")
fi

targets_dir=${CONVERGE_ANSIBLE_TARGETS:-$(ls -d "$cache"/ansible-src/ansible_core-2.19.*/test/integration/targets 2>/dev/null | tail -n 1)}
[[ -d ${targets_dir:-/nonexistent} ]] || {
    echo "run.sh: Ansible's integration targets are not unpacked (run tests/setup.sh, or set CONVERGE_ANSIBLE_TARGETS)" >&2
    exit 1
}
converge_bin=${CONVERGE_BIN:-$repo/target/debug/converge}
venv=${CONVERGE_PEERS_VENV:-$cache/peers-venv}
tools=()
[[ $tool == converge || $tool == both ]] && tools+=(converge)
[[ $tool == ansible || $tool == both ]] && tools+=(ansible)
for t in "${tools[@]}"; do
    if [[ $t == converge && ! -x $converge_bin ]]; then echo "run.sh: no converge at $converge_bin (cargo build)" >&2; exit 1; fi
    if [[ $t == ansible && ! -x $venv/bin/ansible-playbook ]]; then echo "run.sh: no ansible-playbook in $venv (tests/setup.sh)" >&2; exit 1; fi
done

out=${out:-$(mktemp -d /tmp/ansible-suite.XXXXXX)}
mkdir -p "$out/logs" "$out/work"
: >"$out/results.tsv"

# The suite's own lab: twin hosts per tool and shard, apart from the main test lab.
export LAB_ID=${SUITE_LAB_ID:-7}
export LAB_DIR=/tmp/converge-lab$LAB_ID
nhosts=$((shards * ${#tools[@]}))
t_lab=$(date +%s)
bash "$repo/tests/lab/lab.sh" up "$nhosts" >"$out/lab.log" 2>&1 || { cat "$out/lab.log" >&2; exit 1; }
[[ ${SUITE_KEEP_LAB:-0} == 1 ]] || trap 'bash "$repo/tests/lab/lab.sh" down >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$LAB_DIR/env.sh"
read -r -a addrs <<<"$LAB_ADDRS"
echo "ansible-suite: lab $LAB_ID up with $nhosts host(s) in $(($(date +%s) - t_lab)) s; ${#targets[@]} target(s), tools: ${tools[*]}, $shards shard(s) each; results in $out"

# gather_facts as ansible-test decides it: yes unless the aliases say gather_facts/no.
gather_facts() {
    grep -qE '^gather_facts/no(\s|$)' "$targets_dir/$1/aliases" 2>/dev/null && echo false || echo true
}

# Run one target with one tool on one address; append a line to results.tsv.
run_one() {
    local tool=$1 target=$2 addr=$3 work log rc=0 t0 secs recap ok changed failed unreach result reason
    work="$out/work/$tool/$target"
    log="$out/logs/$tool/$target.log"
    mkdir -p "$work/output_dir" "$(dirname "$log")"
    cat >"$work/inventory" <<EOF
[testgroup]
testhost ansible_host=$addr ansible_user=root ansible_ssh_private_key_file=$LAB_KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o UserKnownHostsFile=$LAB_KNOWN_HOSTS -o StrictHostKeyChecking=yes'
EOF
    cat >"$work/play.yml" <<EOF
- hosts: testhost
  gather_facts: $(gather_facts "$target")
  vars:
    output_dir: $work/output_dir
  roles:
    - $target
EOF
    # ansible-test runs the controller on the test host, where output_dir exists too.
    # shellcheck disable=SC2086
    ssh $LAB_SSH_OPTS "root@$addr" mkdir -p "$work/output_dir" </dev/null >/dev/null 2>&1 || true
    t0=$(date +%s)
    if [[ $tool == converge ]]; then
        (cd "$work" && ANSIBLE_ROLES_PATH=$targets_dir CONVERGE_KNOWN_HOSTS=$LAB_KNOWN_HOSTS \
            CONVERGE_BATCH=1 NO_COLOR=1 timeout "${SUITE_TIMEOUT:-600}" \
            "$converge_bin" play.yml -i inventory --no-history) >"$log" 2>&1 || rc=$?
    else
        (cd "$work" && ANSIBLE_ROLES_PATH=$targets_dir ANSIBLE_HOST_KEY_CHECKING=True \
            ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 \
            timeout "${SUITE_TIMEOUT:-600}" "$venv/bin/ansible-playbook" play.yml -i inventory) >"$log" 2>&1 || rc=$?
    fi
    secs=$(($(date +%s) - t0))
    recap=$(grep -E '^testhost +: +ok=' "$log" | tail -n 1 || true)
    field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$recap"; }
    ok=$(field ok); changed=$(field changed); failed=$(field failed); unreach=$(field unreachable)
    if ((rc == 0)) && [[ -n $recap && ${failed:-1} == 0 && ${unreach:-1} == 0 ]]; then
        result=pass reason=''
    else
        result=fail
        reason=$(grep -m1 -E '^(fatal|ERROR|error|failed):|FAILED!|^\s*--> ' "$log" | cut -c1-160 | tr '\t' ' ' || true)
        ((rc == 124)) && reason="timed out after ${SUITE_TIMEOUT:-600} s"
        [[ -n $reason ]] || reason=$(tail -n 1 "$log" | cut -c1-160 | tr '\t' ' ')
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$tool" "$result" "$rc" "${ok:--}" \
        "${changed:--}" "${failed:--}" "$secs" "$reason" >>"$out/results.tsv"
    printf '  %-30s %-9s %-4s ok=%-4s %4s s  %s\n' "$target" "$tool" "$result" "${ok:--}" "$secs" "$reason"
}

# Shard s of tool k runs targets s, s+shards, ... on its own host, in list order.
pids=()
for k in "${!tools[@]}"; do
    for ((s = 0; s < shards; s++)); do
        addr=${addrs[$((k * shards + s))]}
        (
            for ((i = s; i < ${#targets[@]}; i += shards)); do
                run_one "${tools[$k]}" "${targets[$i]}" "$addr"
            done
        ) &
        pids+=($!)
    done
done
for p in "${pids[@]}"; do wait "$p"; done

python3 "$here/table.py" "$out/results.tsv" "${targets[@]}" >"$out/table.md"
if [[ -n $docs ]]; then
    python3 "$here/table.py" --docs "$docs" "$out/results.tsv" "${targets[@]}"
fi
cat "$out/table.md"
echo "ansible-suite: done in $(($(date +%s) - t_lab)) s; results in $out/results.tsv"
