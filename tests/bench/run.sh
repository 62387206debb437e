#!/usr/bin/env bash
# tests/bench/run.sh - fleet benchmark (issue 4): converge vs Ansible vs pyinfra vs THE FLOOR.
#
#   tests/bench/run.sh [--runs N] [HOSTS...]      (as root; default: --runs 5 2 10 50)
#
# For each host count it starts a lab of that many hosts (tests/lab/lab.sh, LAB_ID ${LAB_ID:-5}),
# then runs the same 20-task playbook (tests/bench/playbook.yml; pyinfra: tests/bench/deploy.py)
# with each tool: one converging run first (not timed), then N timed runs that change nothing.
# Each tool converges its own directory on the hosts (/tmp/bench-<tool>). THE FLOOR is one
# fresh OpenSSH session per host running all the playbook's checks as one shell command, every
# host in parallel. Runs are interleaved (converge, floor, ansible, pyinfra, converge, ...) so a
# change of background load hits every tool alike. It prints the median wall time per tool, the
# ratios and converge's peak RSS (GNU time's "Maximum resident set size", max over the timed
# runs), as a markdown table; every single time goes to $BENCH_WORK/times.tsv.
#
# Fairness: OpenSSH 9's default key exchange (sntrup761x25519) costs ~0.1 s of CPU per side per
# connection on the 2-core lab machine, so the floor's ssh and Ansible's ssh use
# KexAlgorithms=curve25519-sha256 (what converge's and pyinfra's SSH libraries negotiate).
# Ansible: pipelining on, forks = hosts, ControlMaster within a run but a fresh ControlPath dir
# per run (and its masters closed afterwards), so no run reuses the previous run's connections.
#
# Environment: LAB_ID (default 5), CONVERGE_PEERS_VENV (Ansible's venv, default
# /var/cache/converge-lab/peers-venv; pyinfra>=3,<4 is pip-installed there if missing),
# BENCH_WORK (default /tmp/converge-bench$LAB_ID), BENCH_KEEP_LAB=1 (leave the last lab up),
# BENCH_TOOLS (a subset of "converge floor ansible pyinfra", e.g. "converge floor" to re-measure
# converge against the floor without Ansible's minutes; the others' cells then show "-").
set -euo pipefail

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

RUNS=5
COUNTS=()
while (($#)); do
    case $1 in
        --runs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; RUNS=$2; shift 2 ;;
        --runs=*) RUNS=${1#--runs=}; [[ $RUNS =~ ^[1-9][0-9]*$ ]] || usage; shift ;;
        -h|--help) usage ;;
        *) [[ $1 =~ ^[1-9][0-9]*$ ]] || usage; COUNTS+=("$1"); shift ;;
    esac
done
((${#COUNTS[@]})) || COUNTS=(2 10 50)

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH/../.." && pwd)
export LAB_ID=${LAB_ID:-5}
if ((LAB_ID == 0)); then LAB_DIR=/tmp/converge-lab; else LAB_DIR=/tmp/converge-lab$LAB_ID; fi
export LAB_DIR
LAB=$REPO/tests/lab/lab.sh
VENV=${CONVERGE_PEERS_VENV:-/var/cache/converge-lab/peers-venv}
WORK=${BENCH_WORK:-/tmp/converge-bench$LAB_ID}
BIN=$REPO/target/release/converge
KEX=curve25519-sha256

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "must run as root (the lab needs it)"

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------
if [[ ! -x $BIN ]]; then
    log "building converge (release)"
    (cd "$REPO" && cargo build --release --quiet)
fi
if [[ ! -x /usr/bin/time ]]; then
    log "installing GNU time"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
fi
[[ -x $VENV/bin/ansible-playbook ]] || die "no ansible-playbook in $VENV (run tests/setup.sh)"
if ! "$VENV/bin/pyinfra" --version 2>/dev/null | grep -q 'v3\.'; then
    log "installing pyinfra 3 into $VENV"
    "$VENV/bin/pip" install -q 'pyinfra>=3,<4'
fi

V_CONVERGE=$("$BIN" --version 2>/dev/null | sed -n 1p || echo "converge (no --version)")
V_ANSIBLE=$("$VENV/bin/ansible-playbook" --version 2>/dev/null | sed -n 1p || true)
V_PYINFRA=$("$VENV/bin/pyinfra" --version 2>&1 | sed -n 1p || true)
V_SSH=$(ssh -V 2>&1)

rm -rf "$WORK"
mkdir -p "$WORK"
: >"$WORK/ansible.cfg"    # an empty config: Ansible's defaults, whatever ~/.ansible.cfg says
TIMES=$WORK/times.tsv
printf 'hosts\trun\ttool\tseconds\trc\n' >"$TIMES"

cleanup() {
    if [[ ${BENCH_KEEP_LAB:-0} != 1 ]]; then
        "$LAB" down >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else if (b > 0) printf "%.2f", a / b; else print "nan" }'; }
TOOLS=${BENCH_TOOLS:-converge floor ansible pyinfra}
runs_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

# All hosts report changed=0 failed=0 unreachable=0 in an ansible-playbook-style recap?
recap_noop() { # LOG HOSTS
    local n
    n=$(sed -n '/^PLAY RECAP/,$p' "$1" | grep -cE ' : ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' || true)
    [[ $n -eq $2 ]]
}

# pyinfra's results table: nothing succeeded (= changed) and nothing failed on any host?
pyinfra_noop() { # LOG HOSTS
    awk '/Grand total/ { ok = ($4 == "-" && $5 == "-") } END { exit !ok }' "$1"
}

# ---------------------------------------------------------------------------------------------
# One host count
# ---------------------------------------------------------------------------------------------
ROWS=()
bench_hosts() {
    local n=$1 dir=$WORK/$1 i r tool t0 t1 rc
    mkdir -p "$dir"
    log "== $n hosts: lab up"
    "$LAB" up "$n" >"$dir/lab-up.log" 2>&1 || { cat "$dir/lab-up.log" >&2; die "lab up $n failed"; }
    # shellcheck disable=SC1091
    . "$LAB_DIR/env.sh"
    local -a addrs hosts
    read -r -a addrs <<<"$LAB_ADDRS"
    read -r -a hosts <<<"$LAB_HOSTS"
    local inv=$LAB_INVENTORY

    # pyinfra inventory: the lab's hosts, named h1.. like in the INI inventory.
    {
        echo "# generated by tests/bench/run.sh from $LAB_DIR"
        echo "lab = ("
        echo "    ["
        for i in "${!hosts[@]}"; do
            echo "        (\"${hosts[$i]}\", {\"ssh_hostname\": \"${addrs[$i]}\"}),"
        done
        echo "    ],"
        echo "    {"
        echo "        \"ssh_user\": \"root\","
        echo "        \"ssh_key\": \"$LAB_KEY\","
        echo "        \"ssh_known_hosts_file\": \"$LAB_KNOWN_HOSTS\","
        echo "        \"ssh_strict_host_key_checking\": \"yes\","
        echo "        \"bench_root\": \"/tmp/bench-pyinfra\","
        echo "    },"
        echo ")"
    } >"$dir/inventory.py"

    local -a ssh_opts
    read -r -a ssh_opts <<<"$LAB_SSH_OPTS"
    local R=/tmp/bench-converge
    local floor_cmd="test -d $R -a -d $R/conf -a -d $R/data -a -d $R/logs \
&& stat -c '%n %a %U %G' $R $R/conf $R/data $R/logs $R/conf/app.env $R/motd.txt $R/run.sh \
$R/conf/app.conf $R/conf/nginx.conf $R/conf/settings.ini $R/data/initialized $R/data/version.txt \
&& sha1sum $R/conf/app.env $R/motd.txt $R/run.sh $R/conf/app.conf $R/conf/nginx.conf $R/data/version.txt \
&& grep -q '^listen=0.0.0.0\$' $R/conf/settings.ini && grep -q '^port=8080\$' $R/conf/settings.ini \
&& grep -q '^workers=4\$' $R/conf/settings.ini && grep -q '^log_level=info\$' $R/conf/settings.ini \
&& grep -q '^timeout=30\$' $R/conf/settings.ini \
&& grep -q '^# BEGIN ANSIBLE MANAGED BLOCK\$' $R/conf/hosts.allow && grep -q '^app: ALL\$' $R/conf/hosts.allow \
&& test -e $R/data/initialized && test \"\$(readlink $R/current)\" = $R/conf"

    run_converge() { # LOG TIMEFILE
        /usr/bin/time -v -o "$2" env CONVERGE_KNOWN_HOSTS="$LAB_KNOWN_HOSTS" NO_COLOR=1 \
            "$BIN" "$BENCH/playbook.yml" -i "$inv" -e bench_root=/tmp/bench-converge >"$1" 2>&1
    }
    run_ansible() { # LOG RUN
        local cp=$dir/ansible-cp-$2 rc=0 s
        mkdir -p "$cp"
        (cd "$BENCH" && env ANSIBLE_PIPELINING=1 ANSIBLE_FORKS="$n" ANSIBLE_HOME="$dir/ansible-home" \
            ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=30s -o KexAlgorithms=$KEX" \
            ANSIBLE_SSH_CONTROL_PATH_DIR="$cp" ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_NOCOLOR=1 \
            ANSIBLE_HOST_KEY_CHECKING=1 ANSIBLE_CONFIG="$WORK/ansible.cfg" \
            "$VENV/bin/ansible-playbook" -i "$inv" -f "$n" playbook.yml -e bench_root=/tmp/bench-ansible) >"$1" 2>&1 || rc=$?
        for s in "$cp"/*; do
            [[ -S $s ]] && ssh -o ControlPath="$s" -O exit lab-host >/dev/null 2>&1 || true
        done
        return "$rc"
    }
    run_pyinfra() { # LOG
        (cd "$BENCH" && "$VENV/bin/pyinfra" -y --parallel "$n" "$dir/inventory.py" deploy.py) >"$1" 2>&1
    }
    run_floor() { # LOG
        local a pids=() rc=0 p
        for a in "${addrs[@]}"; do
            ssh "${ssh_opts[@]}" -o KexAlgorithms=$KEX "root@$a" "$floor_cmd" >"$1.$a" 2>&1 </dev/null &
            pids+=($!)
        done
        for p in "${pids[@]}"; do wait "$p" || rc=1; done
        return "$rc"
    }

    # The converging runs (not timed) and one floor warm-up.
    log "$n hosts: converging runs (not timed)"
    run_converge "$dir/converge-0.log" "$dir/converge-0.time" || die "converge's first run failed: $dir/converge-0.log"
    run_floor "$dir/floor-0.log" || die "the floor's checks fail on converge's result: $dir/floor-0.log.*"
    if runs_tool ansible; then
        run_ansible "$dir/ansible-0.log" 0 || die "ansible's first run failed: $dir/ansible-0.log"
    fi
    if runs_tool pyinfra; then
        run_pyinfra "$dir/pyinfra-0.log" || die "pyinfra's first run failed: $dir/pyinfra-0.log"
    fi

    local load_before load_after
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    for ((r = 1; r <= RUNS; r++)); do
        for tool in converge floor ansible pyinfra; do
            runs_tool "$tool" || continue
            rc=0
            t0=$(now)
            case $tool in
                converge) run_converge "$dir/converge-$r.log" "$dir/converge-$r.time" || rc=$? ;;
                floor) run_floor "$dir/floor-$r.log" || rc=$? ;;
                ansible) run_ansible "$dir/ansible-$r.log" "$r" || rc=$? ;;
                pyinfra) run_pyinfra "$dir/pyinfra-$r.log" || rc=$? ;;
            esac
            t1=$(now)
            # A timed run must be a clean no-op.
            case $tool in
                converge|ansible) recap_noop "$dir/$tool-$r.log" "$n" || { ((rc)) || rc=9; } ;;
                pyinfra) pyinfra_noop "$dir/pyinfra-$r.log" "$n" || { ((rc)) || rc=9; } ;;
            esac
            ((rc == 0)) || log "WARNING: $n hosts, run $r, $tool: rc=$rc (not a clean no-op; see $dir/$tool-$r.log)"
            printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$r" "$tool" "$(elapsed "$t0" "$t1")" "$rc" >>"$TIMES"
            log "$n hosts, run $r/$RUNS: $tool $(elapsed "$t0" "$t1") s"
        done
    done
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)

    local m_conv m_floor m_ans m_py rss
    med() { awk -F'\t' -v n="$n" -v t="$1" '$1 == n && $3 == t { print $4 }' "$TIMES" | median; }
    m_conv=$(med converge); m_floor=$(med floor); m_ans=$(med ansible); m_py=$(med pyinfra)
    rss=$(for ((r = 1; r <= RUNS; r++)); do
        awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/converge-$r.time"
    done | sort -n | tail -1)
    rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
    ROWS+=("| $n | $m_floor | $m_conv | $m_ans | $m_py | $(ratio "$m_conv" "$m_floor") | $(ratio "$m_ans" "$m_floor") | $(ratio "$m_py" "$m_floor") | $(ratio "$m_ans" "$m_conv") | $(ratio "$m_py" "$m_conv") | $rss | $load_before → $load_after |")
}

for n in "${COUNTS[@]}"; do
    bench_hosts "$n"
done

# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------
failed_runs=$(awk -F'\t' 'NR > 1 && $5 != 0' "$TIMES" | wc -l)
{
    echo
    echo "Median wall time of $RUNS no-change runs (seconds; 20-task playbook; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)):"
    echo
    echo "| hosts | floor (ssh) | converge | ansible | pyinfra | converge / floor | ansible / floor | pyinfra / floor | ansible / converge | pyinfra / converge | converge peak RSS (MB) | load avg (1/5/15 min) before → after |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Tools: $V_CONVERGE (release build); $V_ANSIBLE (ANSIBLE_PIPELINING=1, forks = hosts);"
    echo "$V_PYINFRA (--parallel = hosts, -y); $V_SSH; floor and Ansible with -o KexAlgorithms=$KEX."
    echo "Every timed run: $TIMES ($failed_runs not a clean no-op)."
} | tee "$WORK/table.md"
