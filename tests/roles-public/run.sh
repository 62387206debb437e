#!/usr/bin/env bash
# tests/roles-public/run.sh - popular public roles, unmodified, as converge's yardstick.
#
# For each role of cases.tsv (or the ROLEs given), on a fresh lab host of its own:
#   play: hosts: all, become: true, [vars_files: vars/ROLE.yml,] roles: [the case's roles]
#   1. apt-get update (roles do update_cache with cache_valid_time; same start for every tool)
#   2. --check --diff must write nothing: a listing of /etc, /usr, /var/lib (path, type, mode,
#      owner, group, size, link) plus md5 of every /etc file, before and after, must be equal
#   3. apply exits 0;  4. a second apply reports changed=0
#   5. the managed paths of cases.tsv (type, mode, owner, group, sha256) equal Ansible's listing
#      (reference/ROLE.tsv, written by `--tool ansible --write-reference`)
#   6. the service the role manages runs (the case's check command)
# converge and ansible-playbook get twin hosts (one per role and tool); all roles of a tool run in
# parallel, Ansible's before converge's.
#
# Usage (as root):
#   run.sh [--tool converge|ansible|both] [--write-reference] [--docs FILE] [--out DIR] [ROLE...]
# Writes DIR/results.tsv:
#   role tool result check-rc check-writes apply-rc changed-2nd managed service seconds first-failure
# and DIR/table.md; --docs puts the table into FILE between the roles-table markers.
# Exit status: 1 when a role of expected-pass.txt fails under converge; roles that pass but are
# not listed are reported ("now passes").
#
# Environment: CONVERGE_BIN (default target/debug/converge), CONVERGE_PEERS_VENV (ansible-playbook),
#   ROLES_LAB_ID (default 14), ROLES_KEEP_LAB=1 (leave the lab up), ROLES_TIMEOUT (s per run, 900),
#   ROLES_LAB_SYSTEMD=1 (hosts of `lab.sh up N --systemd`: systemd as PID 1).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}

tool=converge write_ref=0 docs='' out='' roles=()
while (($#)); do
    case $1 in
        --tool) tool=$2; shift 2 ;;
        --write-reference) write_ref=1; shift ;;
        --docs) docs=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 5 ;;
        *) roles+=("$1"); shift ;;
    esac
done
case $tool in converge|ansible|both) ;; *) echo "run.sh: --tool converge|ansible|both" >&2; exit 5 ;; esac
if ((${#roles[@]} == 0)); then
    mapfile -t roles < <(grep -vE '^\s*(#|$)' "$here/cases.tsv" | cut -f1)
fi
case_field() { awk -F'\t' -v r="$1" -v f="$2" '$1 == r { print $f }' "$here/cases.tsv"; }
for r in "${roles[@]}"; do
    [[ -n $(case_field "$r" 1) ]] || { echo "run.sh: $r is not in cases.tsv" >&2; exit 5; }
done

converge_bin=${CONVERGE_BIN:-$repo/target/debug/converge}
venv=${CONVERGE_PEERS_VENV:-$cache/peers-venv}
tools=()
[[ $tool == ansible || $tool == both ]] && tools+=(ansible)
[[ $tool == converge || $tool == both ]] && tools+=(converge)
for t in "${tools[@]}"; do
    if [[ $t == converge && ! -x $converge_bin ]]; then echo "run.sh: no converge at $converge_bin (cargo build)" >&2; exit 1; fi
    if [[ $t == ansible && ! -x $venv/bin/ansible-playbook ]]; then echo "run.sh: no ansible-playbook in $venv (tests/setup.sh)" >&2; exit 1; fi
done

out=${out:-$(mktemp -d /tmp/roles-public.XXXXXX)}
mkdir -p "$out/logs" "$out/work"
: >"$out/results.tsv"

# Our own lab (never the main test lab 0): one host per role and tool.
export LAB_ID=${ROLES_LAB_ID:-14}
export LAB_DIR=/tmp/converge-lab$LAB_ID
nhosts=$((${#roles[@]} * ${#tools[@]}))
t_start=$(date +%s)
lab_opts=()
[[ ${ROLES_LAB_SYSTEMD:-0} == 1 ]] && lab_opts+=(--systemd)   # hosts boot systemd as PID 1
bash "$repo/tests/lab/lab.sh" up "$nhosts" "${lab_opts[@]}" >"$out/lab.log" 2>&1 || { cat "$out/lab.log" >&2; exit 1; }
[[ ${ROLES_KEEP_LAB:-0} == 1 ]] || trap 'bash "$repo/tests/lab/lab.sh" down >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
. "$LAB_DIR/env.sh"
read -r -a addrs <<<"$LAB_ADDRS"
echo "roles-public: lab $LAB_ID up with $nhosts host(s) in $(($(date +%s) - t_start)) s; tools: ${tools[*]}; results in $out"

on_host() { # ADDR SCRIPT: run a shell script on a lab host as root
    # shellcheck disable=SC2086
    ssh $LAB_SSH_OPTS -o BatchMode=yes "root@$1" "$2"
}

# What --check must leave alone: the tree's metadata and the content of every /etc file.
snapshot() {
    on_host "$1" "find /etc /usr /var/lib -xdev -printf '%p %y %m %u %g %s %l\n' | LC_ALL=C sort;
        find /etc -xdev -type f -print0 | xargs -0 md5sum | LC_ALL=C sort -k2"
}

# The managed paths of a case, one line each: path type mode owner group sha256 (files),
# path link target (symlinks), or path absent.
listing() {
    local paths
    paths=$(case_field "$2" 4)
    on_host "$1" "for p in $paths; do
        if [ -L \"\$p\" ]; then echo \"\$p link \$(readlink \"\$p\")\";
        elif [ -f \"\$p\" ]; then echo \"\$p file \$(stat -c '%a %U %G' \"\$p\") \$(sha256sum <\"\$p\" | cut -d' ' -f1)\";
        elif [ -d \"\$p\" ]; then echo \"\$p dir \$(stat -c '%a %U %G' \"\$p\")\";
        else echo \"\$p absent\"; fi
    done"
}

recap_changed() { sed -n 's/.* changed=\([0-9]*\).*/\1/p' <<<"$(grep -E '^h[0-9]+ +: +ok=' "$1" | tail -n 1)"; }

run_tool() { # TOOL WORKDIR LOG [ARGS...]
    local t=$1 work=$2 log=$3
    shift 3
    if [[ $t == converge ]]; then
        (cd "$work" && ANSIBLE_ROLES_PATH=$here CONVERGE_KNOWN_HOSTS=$LAB_KNOWN_HOSTS \
            CONVERGE_HISTORY=$work/history.db CONVERGE_BATCH=1 NO_COLOR=1 \
            timeout "${ROLES_TIMEOUT:-900}" "$converge_bin" play.yml -i inventory "$@") >"$log" 2>&1
    else
        (cd "$work" && ANSIBLE_ROLES_PATH=$here ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_NOCOLOR=1 \
            ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_PIPELINING=1 \
            timeout "${ROLES_TIMEOUT:-900}" "$venv/bin/ansible-playbook" play.yml -i inventory "$@") >"$log" 2>&1
    fi
}

# One role with one tool on one host; appends a line to results.tsv.
run_one() {
    local t=$1 role=$2 addr=$3 host=$4 work logs t0 rc_check=0 rc_apply=0 rc_again=0
    local writes changed2 managed=no-ref service=n/a result reason='' check
    work="$out/work/$t/$role"
    logs="$out/logs/$t/$role"
    mkdir -p "$work" "$logs"
    {
        echo "- hosts: all"
        echo "  become: true"
        [[ -f $here/vars/$role.yml ]] && printf '  vars_files:\n    - %s\n' "$here/vars/$role.yml"
        echo "  roles:"
        tr ',' '\n' <<<"$(case_field "$role" 2)" | sed 's/^/    - /'
    } >"$work/play.yml"
    cat >"$work/inventory" <<EOF
$host ansible_host=$addr ansible_user=root ansible_ssh_private_key_file=$LAB_KEY ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o UserKnownHostsFile=$LAB_KNOWN_HOSTS -o StrictHostKeyChecking=yes'
EOF
    t0=$(date +%s)
    on_host "$addr" 'apt-get update -qq' >"$logs/apt-update.log" 2>&1 || true
    snapshot "$addr" >"$logs/before-check.txt"
    run_tool "$t" "$work" "$logs/check.log" --check --diff || rc_check=$?
    snapshot "$addr" >"$logs/after-check.txt"
    if diff "$logs/before-check.txt" "$logs/after-check.txt" >"$logs/check-writes.diff"; then writes=none; else writes=$(grep -c '^[<>]' "$logs/check-writes.diff")-lines; fi
    run_tool "$t" "$work" "$logs/apply.log" --diff || rc_apply=$?
    run_tool "$t" "$work" "$logs/again.log" --diff || rc_again=$?
    changed2=$(recap_changed "$logs/again.log")
    listing "$addr" "$role" >"$logs/managed.tsv" 2>&1 || true
    if [[ $t == ansible && $write_ref == 1 ]]; then
        mkdir -p "$here/reference"
        cp "$logs/managed.tsv" "$here/reference/$role.tsv"
    fi
    if [[ -f $here/reference/$role.tsv ]]; then
        if diff "$here/reference/$role.tsv" "$logs/managed.tsv" >"$logs/managed.diff"; then managed=equal; else managed=differs; fi
    fi
    check=$(case_field "$role" 3)
    if [[ $check != - ]]; then
        if on_host "$addr" "$check" >"$logs/service.log" 2>&1; then service=up; else service=down; fi
    fi
    if [[ $writes == none && $rc_apply == 0 && $rc_again == 0 && ${changed2:-x} == 0 \
        && $managed != differs && $service != down ]]; then
        result=pass
    else
        result=fail
        local first
        first=$(grep -h -m1 -E '^(fatal|ERROR|error|failed):|FAILED!' "$logs/apply.log" "$logs/again.log" | head -n 1 | cut -c1-200 | tr '\t' ' ' || true)
        [[ $writes == none ]] || reason+="check wrote ($writes); "
        ((rc_apply == 0)) || reason+="apply rc=$rc_apply: ${first:-$(tail -n 1 "$logs/apply.log" | cut -c1-160)}; "
        [[ ${changed2:-x} == 0 ]] || reason+="2nd apply changed=${changed2:-?} rc=$rc_again; "
        [[ $managed != differs ]] || reason+="managed files differ from Ansible's; "
        [[ $service != down ]] || reason+="service not running; "
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$role" "$t" "$result" "$rc_check" "$writes" \
        "$rc_apply" "${changed2:--}" "$managed" "$service" "$(($(date +%s) - t0))" "${reason%; }" >>"$out/results.tsv"
    printf '  %-24s %-9s %-4s check-writes=%s apply=%s changed-2nd=%s managed=%s service=%s %s s\n' \
        "$role" "$t" "$result" "$writes" "$rc_apply" "${changed2:--}" "$managed" "$service" "$(($(date +%s) - t0))"
}

# Every role of a tool in parallel; Ansible first, so that converge is compared with the
# references this run writes.
i=0
for t in "${tools[@]}"; do
    pids=()
    for role in "${roles[@]}"; do
        run_one "$t" "$role" "${addrs[$i]}" "h$((i + 1))" &
        pids+=($!)
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do wait "$p"; done
done

python3 "$here/table.py" "$out/results.tsv" "$here/expected-pass.txt" "${roles[@]}" >"$out/table.md"
[[ -z $docs ]] || python3 "$here/table.py" --docs "$docs" "$out/results.tsv" "$here/expected-pass.txt" "${roles[@]}"
cat "$out/table.md"
echo "roles-public: done in $(($(date +%s) - t_start)) s; results in $out/results.tsv, logs in $out/logs"

# The verdict: every expected role passes under converge; new passes are news, not failures.
status=0
if [[ " ${tools[*]} " == *" converge "* ]]; then
    while read -r role; do
        [[ " ${roles[*]} " == *" $role "* ]] || continue
        if ! awk -F'\t' -v r="$role" '$1 == r && $2 == "converge" && $3 == "pass" { f = 1 } END { exit !f }' "$out/results.tsv"; then
            echo "roles-public: FAIL: $role is in expected-pass.txt but fails under converge (logs: $out/logs/converge/$role)"
            status=1
        fi
    done < <(grep -vE '^\s*(#|$)' "$here/expected-pass.txt")
    awk -F'\t' '$2 == "converge" && $3 == "pass" { print $1 }' "$out/results.tsv" | while read -r role; do
        grep -qxF "$role" "$here/expected-pass.txt" || echo "roles-public: now passes (add it to expected-pass.txt): $role"
    done
fi
exit "$status"
