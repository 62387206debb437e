#!/usr/bin/env bash
# tests/lab/lab.sh - converge's real-host test lab.
#
# Runs N isolated Debian bookworm "hosts" (h1..hN) on this one machine, each
# reachable over real SSH, so that converge (and Ansible, our speed peer) can
# be tested against real sshd, sudo, apt, users, files and services.
#
# A host is:
#   * a network namespace `cvlab-hN` joined by a veth pair to the bridge
#     `cvlab0` (198.18.0.1/16) on the controller; the host is 198.18.0.(10+N);
#   * an overlayfs root: lowerdir = a cached, read-only debootstrapped base,
#     upper/work = $LAB_DIR/hosts/hN/{upper,work}, mounted at .../hN/root;
#   * its own mount, PID and UTS namespaces; PID 1 there is this script's
#     `_init` (run from a copy in the host's root, /usr/local/sbin/converge-lab-helper)
#     which mounts proc/sys/cgroups/dev/run inside the root, makes that root the
#     root of its mount namespace (pivot_root; the controller's / is unmounted
#     there), starts `/usr/sbin/sshd -D -e` and then only reaps orphans.
#     (Not a mere chroot: setns() into the mount namespace -- nsenter -m,
#     `runc exec` = `docker exec` and Docker HEALTHCHECKs -- lands at the
#     namespace's root, which must be the host's, not the controller's.)
#
# Everything the lab uses stays inside 198.18.0.0/15 (RFC 2544 benchmarking
# range). See tests/lab/README.md for usage.
#
# Commands (run as root):
#   lab.sh up N [--docker-room] [--systemd] [--bare]
#                                 start h1..hN (tears down a running lab first);
#                                 --systemd: systemd is each host's PID 1
#   lab.sh down                   stop everything, remove all traces
#   lab.sh status                 show the running lab
#   lab.sh exec hN [CMD...]       run CMD inside hN (its namespaces and root)
#   lab.sh ssh [USER@]hN [CMD...] ssh into hN with the lab key / known_hosts
#   lab.sh kill-sshd hN           kill every sshd process of hN
#   lab.sh start-sshd hN          start hN's sshd again
#   lab.sh rekey hN               new host keys for hN + restart its sshd
#                                 (known_hosts is NOT updated, on purpose)
#   lab.sh base [--rebuild] [--systemd]
#                                 build (or check) the cached base only
#
# Environment:
#   LAB_DIR              where the lab's files go (default /tmp/converge-lab)
#   CONVERGE_LAB_CACHE   base cache dir (default /var/cache/converge-lab)
#   CONVERGE_LAB_PYTHON  1 (default) = python3 in the base, 0 = without
#   CONVERGE_LAB_MIRROR  Debian mirror URL (default: read from apt's config)
#   CONVERGE_LAB_RSA_BITS  hosts get an RSA host key of this size too
#                        (default 0 = none: ed25519 + ecdsa only; RSA key
#                        generation costs ~0.4 s of CPU per host here)
#   LAB_KEEP_ON_FAILURE  1 = leave a failed `up` running for inspection

set -euo pipefail

# ----------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------

# Bump this whenever base_recipe()/customize_base() change: the cached base
# is rebuilt when the recipe string stored in it differs.
readonly RECIPE_VERSION=3
readonly SUITE=bookworm

readonly CACHE=${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}
# Not readonly: `--systemd` points it at the systemd base (systemd_select_base).
BASE=$CACHE/base-$SUITE
LAB_SYSTEMD=0
readonly WITH_PYTHON=${CONVERGE_LAB_PYTHON:-1}
readonly RSA_BITS=${CONVERGE_LAB_RSA_BITS:-0}

# LAB_ID (0-99) lets several labs run side by side (one per developer or test run): lab 0
# is 198.18.0.0/16 as described above; lab K > 0 uses bridge cvlabK, 198.18.K.0/24 and its
# own state, lock and default LAB_DIR.
# Without LAB_ID, a LAB_DIR of a running lab names its lab (its env.sh lists 198.18.K.x
# addresses): `LAB_DIR=/tmp/converge-lab8 lab.sh kill-sshd h3` must act on lab 8, never on
# lab 0's h3.
if [[ -z ${LAB_ID:-} && -n ${LAB_DIR:-} && -s ${LAB_DIR}/env.sh ]]; then
    LAB_ID=$(sed -n "s/^export LAB_ADDRS=198\.18\.\([0-9]\{1,2\}\)\..*/\1/p" "$LAB_DIR/env.sh" | head -n 1)
fi
readonly LAB_ID=${LAB_ID:-0}
[[ $LAB_ID =~ ^[0-9]{1,2}$ ]] || { echo "lab.sh: LAB_ID must be 0-99" >&2; exit 2; }
if ((LAB_ID == 0)); then
    readonly ID_SUFFIX="" PREFIX_LEN=16
else
    readonly ID_SUFFIX=$LAB_ID PREFIX_LEN=24
fi
readonly BRIDGE=cvlab${LAB_ID}
readonly NET_PREFIX=198.18.${LAB_ID}     # hosts are $NET_PREFIX.(10+i)
readonly BRIDGE_ADDR=198.18.${LAB_ID}.1
readonly NET_CIDR=198.18.${LAB_ID}.0/${PREFIX_LEN}
readonly NS_PREFIX=cvlab${ID_SUFFIX}-        # network namespace names: cvlab-hN
readonly VETH_PREFIX=cvl${ID_SUFFIX}-        # controller side of the veth: cvl-hN
readonly MAX_HOSTS=240           # 198.18.0.11 .. 198.18.0.250
readonly IPT_TAG=converge-lab${ID_SUFFIX}    # iptables comment marking our rules
readonly READY_TIMEOUT=30        # seconds for every sshd to answer

# Which LAB_DIR is live is recorded here, so `down` finds the lab even when
# called with a different (or no) LAB_DIR in the environment.
readonly STATE_FILE=/run/converge-lab${ID_SUFFIX}.state
readonly LOCK_FILE=/run/converge-lab${ID_SUFFIX}.lock

# Clean environment for everything run inside a host.
readonly HOST_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# A host's PID 1 runs from this copy of lab.sh inside the host's own root (a path inside
# the host): after its pivot_root nothing of the controller's file system is left there.
readonly HOST_HELPER=/usr/local/sbin/converge-lab-helper

SELF=$(readlink -f "${BASH_SOURCE[0]}")
readonly SELF

# LAB_DIR: explicit env wins, else the running lab's, else the default.
if [[ -z ${LAB_DIR:-} && -s $STATE_FILE ]]; then
    LAB_DIR=$(<"$STATE_FILE")
fi
LAB_DIR=${LAB_DIR:-/tmp/converge-lab${ID_SUFFIX}}
export LAB_DIR

# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
# since T0 -> "12.3s"
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

host_addr() { echo "$NET_PREFIX.$((10 + $1))"; }
host_dir() { echo "$LAB_DIR/hosts/$1"; }
host_index() { # h7 -> 7 (validates the name)
    [[ $1 =~ ^h([1-9][0-9]*)$ ]] || die "bad host name '$1' (expected h1, h2, ...)"
    echo "${BASH_REMATCH[1]}"
}

need_root() { [[ $EUID -eq 0 ]] || die "must run as root"; }

# Install a Debian package if COMMAND is missing (apt-get update only if the
# first attempt fails, e.g. on empty package lists).
ensure_cmd() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    log "installing $pkg (for $cmd)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
    fi
    command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing $pkg"
}

# Run a command inside a root tree (no namespaces), with a clean environment.
in_root() {
    local root=$1; shift
    env -i PATH="$HOST_PATH" LANG=C.UTF-8 HOME=/root chroot "$root" "$@"
}

# Mount points at or below DIR, deepest first.
mounts_under() {
    local dir=${1%/}
    findmnt -rn -o TARGET | awk -v d="$dir" '$0 == d || index($0, d "/") == 1' | sort -r
}

# Unmount everything at/below DIR (lazily if a plain umount fails).
unmount_under() {
    local m
    while read -r m; do
        [[ -n $m ]] || continue
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
    done < <(mounts_under "$1")
}

# Remove a directory tree that may have mounts in it (never crossing into
# another file system).
discard_tree() {
    local dir=$1
    [[ -e $dir ]] || return 0
    unmount_under "$dir"
    rm -rf --one-file-system "$dir"
}

# Serialize up/down/base between concurrent invocations. fd 9 must not leak
# into long-running children (see start_host), or the lock would stay held.
take_lock() {
    exec 9>"$LOCK_FILE"
    flock -w 300 9 || die "another lab.sh up/down/base is still running"
}

# ----------------------------------------------------------------------------
# The base root file system (cached, read-only lower layer of every host)
# ----------------------------------------------------------------------------

base_packages() {
    local p=openssh-server,openssh-sftp-server,sudo,iproute2,procps,ca-certificates
    # python3-minimal lacks modules Ansible's modules import (json, zipfile,
    # ...). python3 (= python3-minimal + the standard library) is what Ansible
    # needs, and it is only a few MB more.
    [[ $WITH_PYTHON == 1 ]] && p+=,python3-minimal,python3
    ((LAB_SYSTEMD)) && p+=$(systemd_base_packages)
    echo "$p"
}

# The recipe string stored in the base; any change triggers a rebuild.
base_recipe() {
    printf 'converge-lab base recipe v%s; suite=%s; variant=minbase; include=%s; users=deploy(nopasswd sudo),pwuser(password, sudo group); no host keys\n' \
        "$RECIPE_VERSION" "$SUITE" "$(base_packages)"
    ((LAB_SYSTEMD)) && systemd_recipe
    return 0
}

base_is_current() {
    [[ -f $BASE/etc/converge-lab-base && "$(<"$BASE/etc/converge-lab-base")" == "$(base_recipe)" ]]
}

# The Debian mirror this machine's apt uses for $SUITE (never hard-coded):
# one-line sources (sources.list, *.list) and deb822 (*.sources) are read.
detect_mirror() {
    if [[ -n ${CONVERGE_LAB_MIRROR:-} ]]; then
        echo "$CONVERGE_LAB_MIRROR"; return 0
    fi
    local f uri=
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        uri=$(awk -v suite="$SUITE" '
            $1 == "deb" {
                i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$f")
        [[ -n $uri ]] && break
    done
    if [[ -z $uri ]]; then
        for f in /etc/apt/sources.list.d/*.sources; do
            [[ -f $f ]] || continue
            uri=$(awk -v suite="$SUITE" '
                BEGIN { RS = ""; FS = "\n" }
                {
                    t = ""; u = ""; s = ""; e = "yes"
                    for (i = 1; i <= NF; i++) {
                        if ($i ~ /^[ \t]*#/) continue
                        k = $i; sub(/:.*/, "", k); k = tolower(k)
                        v = $i; sub(/^[^:]*:[ \t]*/, "", v)
                        if (k == "types") t = v
                        else if (k == "uris") u = v
                        else if (k == "suites") s = v
                        else if (k == "enabled") e = tolower(v)
                    }
                    if (e != "no" && (" " t " ") ~ / deb / && (" " s " ") ~ (" " suite " ")) {
                        split(u, a, " "); print a[1]; exit
                    }
                }' "$f")
            [[ -n $uri ]] && break
        done
    fi
    [[ -n $uri ]] || die "no '$SUITE' Debian mirror found in /etc/apt/sources.list{,.d}; set CONVERGE_LAB_MIRROR"
    echo "${uri%/}"
}

# Things every host shares: users, sudo rules; the base's own SSH host keys
# are deleted (each host generates its own at start).
customize_base() {
    local t=$1
    in_root "$t" useradd -m -s /bin/bash -c 'converge lab deploy user' deploy
    printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' >"$t/etc/sudoers.d/deploy"
    chmod 0440 "$t/etc/sudoers.d/deploy"
    # Password-auth test user; in group sudo, so sudo asks for the password
    # (for become-password tests).
    in_root "$t" useradd -m -s /bin/bash -G sudo -c 'converge lab password user' pwuser
    printf 'pwuser:pw-lab-secret\n' | in_root "$t" chpasswd
    rm -f "$t"/etc/ssh/ssh_host_*
    rm -f "$t"/var/cache/apt/archives/*.deb "$t"/var/cache/apt/*.bin
    if [[ $WITH_PYTHON == 1 ]]; then
        # Fail the build if the modules Ansible's module wrapper needs are absent.
        in_root "$t" python3 -c 'import json, zipfile, base64, tempfile, shutil, shlex, subprocess, locale, hashlib, datetime, grp, pwd, syslog, select, platform' \
            || die "python3 in the base lacks standard modules"
    fi
    ((LAB_SYSTEMD)) && systemd_customize_base "$t"
    return 0
}

# Build the base if missing or built from another recipe (or if forced).
# Built in a temp dir next to it and renamed into place, so an interrupted
# build never leaves a half base behind.
build_base() {
    local force=${1:-0}
    if [[ $force != 1 ]] && base_is_current; then
        return 0
    fi
    ensure_cmd debootstrap debootstrap
    local mirror t0 tmp old
    mirror=$(detect_mirror)
    mkdir -p "$CACHE"
    # Left-overs of interrupted builds (we hold the lab lock: none is running).
    for old in "$CACHE"/."${BASE##*/}".build.* "$CACHE"/."${BASE##*/}".old.*; do
        [[ -e $old ]] && { log "removing stale $old"; discard_tree "$old"; }
    done
    tmp=$CACHE/.${BASE##*/}.build.$$
    log "building base $BASE from $mirror ($(base_packages)); log: $CACHE/build.log"
    t0=$(now)
    # shellcheck disable=SC2064 # expand $tmp now
    trap "discard_tree '$tmp'" EXIT
    if ! debootstrap --variant=minbase --include="$(base_packages)" "$SUITE" "$tmp" "$mirror" >"$CACHE/build.log" 2>&1; then
        tail -n 30 "$CACHE/build.log" >&2
        die "debootstrap failed (full log: $CACHE/build.log)"
    fi
    customize_base "$tmp"
    base_recipe >"$tmp/etc/converge-lab-base"
    if [[ -e $BASE ]]; then
        old=$CACHE/.${BASE##*/}.old.$$
        mv "$BASE" "$old"
        mv "$tmp" "$BASE"
        discard_tree "$old"
    else
        mv "$tmp" "$BASE"
    fi
    trap - EXIT
    log "base built in $(since "$t0") ($(du -sh "$BASE" | cut -f1))"
}

# ----------------------------------------------------------------------------
# Host bring-up
# ----------------------------------------------------------------------------

# MTU of the controller's uplink (so hosts do not send frames its default
# route cannot carry); empty when there is no default route.
uplink_mtu() {
    local dev
    dev=$(ip -o route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    if [[ -n $dev ]]; then cat "/sys/class/net/$dev/mtu" 2>/dev/null || true; fi
}

setup_controller_net() {
    ip link add "$BRIDGE" type bridge
    ip addr add "$BRIDGE_ADDR/$PREFIX_LEN" dev "$BRIDGE"
    [[ -n $MTU ]] && ip link set "$BRIDGE" mtu "$MTU"
    ip link set "$BRIDGE" up
    # Hosts reach package registries through the controller (SNAT). Left at 1
    # by `down`: something else on the machine (dockerd) may rely on it.
    sysctl -qw net.ipv4.ip_forward=1
    iptables -t nat -A POSTROUTING -s "$NET_CIDR" ! -o "$BRIDGE" -m comment --comment "$IPT_TAG" -j MASQUERADE
    # If FORWARD's policy is DROP (e.g. dockerd on the controller), still let
    # lab traffic through (also host-to-host, with br_netfilter loaded).
    iptables -I FORWARD 1 -i "$BRIDGE" -m comment --comment "$IPT_TAG" -j ACCEPT
    iptables -I FORWARD 1 -o "$BRIDGE" -m comment --comment "$IPT_TAG" -j ACCEPT
}

# /etc/hosts lines for every lab host (written into each host).
lab_hosts_lines() {
    local i
    printf '%s lab-controller\n' "$BRIDGE_ADDR"
    for ((i = 1; i <= N; i++)); do
        printf '%s h%d\n' "$(host_addr "$i")" "$i"
    done
}

# Prepare host i's root and network, then start it. Runs in parallel for all
# hosts (in a background subshell).
start_host() {
    local i=$1 h="h$1" addr hd r ns uid gid k
    addr=$(host_addr "$i"); hd=$(host_dir "$h"); r=$hd/root; ns=$NS_PREFIX$h
    mkdir -p "$hd/upper" "$hd/work" "$r"
    # `volatile`: overlayfs skips every sync to the upper dir (a throwaway
    # host needs no durability; dpkg's many fsyncs and umount get cheap).
    mount -t overlay "converge-lab${ID_SUFFIX}-$h" -o "lowerdir=$BASE,upperdir=$hd/upper,workdir=$hd/work,volatile" "$r" 2>/dev/null \
        || mount -t overlay "converge-lab${ID_SUFFIX}-$h" -o "lowerdir=$BASE,upperdir=$hd/upper,workdir=$hd/work" "$r"

    # Identity: hostname, /etc/hosts, resolver of the controller.
    echo "$h" >"$r/etc/hostname"
    {
        printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n'
        printf 'ff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n\n# converge lab\n'
        cat "$LAB_DIR/hosts.lab"
    } >"$r/etc/hosts"
    cp -L --remove-destination /etc/resolv.conf "$r/etc/resolv.conf"

    # This host's own SSH host keys (generated from the controller, straight
    # into the overlay's upper dir).
    gen_host_keys "$h"

    # sshd settings for the lab (Debian's sshd_config includes
    # sshd_config.d/*.conf first; the first value of a keyword wins).
    cat >"$r/etc/ssh/sshd_config.d/00-converge-lab.conf" <<EOF
# Written by tests/lab/lab.sh for $h.
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
MaxSessions 100
MaxStartups 200
UseDNS no
EOF

    # Client keys authorized for root and deploy.
    install -d -m 700 "$r/root/.ssh"
    cat "$LAB_DIR"/id_ed25519.pub "$LAB_DIR"/id_rsa.pub "$LAB_DIR"/id_ecdsa.pub >"$r/root/.ssh/authorized_keys"
    chmod 600 "$r/root/.ssh/authorized_keys"
    uid=$(awk -F: '$1 == "deploy" { print $3 }' "$r/etc/passwd")
    gid=$(awk -F: '$1 == "deploy" { print $4 }' "$r/etc/passwd")
    install -d -m 700 -o "$uid" -g "$gid" "$r/home/deploy/.ssh"
    install -m 600 -o "$uid" -g "$gid" "$r/root/.ssh/authorized_keys" "$r/home/deploy/.ssh/authorized_keys"
    ((LAB_BARE)) && bare_strip_host "$r"

    if [[ $DOCKER_ROOM == 1 ]]; then
        # overlay2 does not work on an overlayfs root: give /var/lib/docker a
        # directory on the real disk (bind-mounted by _init), and keep
        # Docker's addresses inside 198.18.0.0/15.
        mkdir -p "$hd/docker" "$r/var/lib/docker" "$r/etc/docker"
        k=${MTU:-1500}
        cat >"$r/etc/docker/daemon.json" <<EOF
{
  "bip": "198.19.200.1/24",
  "default-address-pools": [{ "base": "198.19.128.0/18", "size": 24 }],
  "storage-driver": "overlay2",
  "mtu": $k
}
EOF
    fi

    # Network: veth pair, host end renamed eth0 inside the namespace.
    ip link add "$VETH_PREFIX$h" type veth peer name eth0 netns "$ns"
    [[ -n $MTU ]] && ip link set "$VETH_PREFIX$h" mtu "$MTU"
    [[ -n $MTU ]] && ip -n "$ns" link set eth0 mtu "$MTU"
    ip link set "$VETH_PREFIX$h" master "$BRIDGE" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/$PREFIX_LEN" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$BRIDGE_ADDR"

    # Start: new mount/PID/UTS namespaces inside the netns; PID 1 is `_init`,
    # run from a copy of this script in the host's root (see cmd_init).
    # setsid + closed fds: the host must not hold our terminal, pipes or lock.
    install -D -m 0755 "$SELF" "$r$HOST_HELPER"
    : >"$hd/log"
    rm -f "$hd/pid"
    if ((LAB_SYSTEMD)); then
        systemd_start_host "$h" "$ns" "$r" "$hd"
    else
        setsid ip netns exec "$ns" unshare --mount --pid --fork --uts --propagation private \
            "$r$HOST_HELPER" _init "$h" </dev/null >>"$hd/log" 2>&1 9>&- &
    fi
    # _init records its PID (as seen from the controller) in $hd/pid (30 s:
    # generous, for a machine busy with other work).
    for ((k = 0; k < 300; k++)); do
        [[ -s $hd/pid ]] && return 0
        sleep 0.1
    done
    cat "$hd/log" >&2
    die "$h: init did not start"
}

# New SSH host keys for host H, written into its root (i.e. its upper dir),
# plus an sshd drop-in naming exactly those keys.
gen_host_keys() {
    local h=$1 r t types=(ed25519 ecdsa)
    r=$(host_dir "$1")/root
    # RSA keys are by far the slowest to generate (~0.4 s of CPU each on this
    # machine kind, 20 s for 50 hosts): only when asked for.
    [[ $RSA_BITS != 0 ]] && types+=(rsa)
    rm -f "$r"/etc/ssh/ssh_host_*
    echo "# Written by tests/lab/lab.sh: this host's own keys." >"$r/etc/ssh/sshd_config.d/01-converge-lab-hostkeys.conf"
    for t in "${types[@]}"; do
        case $t in
            ed25519) ssh-keygen -q -N '' -C "root@$h" -t ed25519 -f "$r/etc/ssh/ssh_host_ed25519_key" ;;
            ecdsa) ssh-keygen -q -N '' -C "root@$h" -t ecdsa -b 256 -f "$r/etc/ssh/ssh_host_ecdsa_key" ;;
            rsa) ssh-keygen -q -N '' -C "root@$h" -t rsa -b "$RSA_BITS" -f "$r/etc/ssh/ssh_host_rsa_key" ;;
        esac
        echo "HostKey /etc/ssh/ssh_host_${t}_key" >>"$r/etc/ssh/sshd_config.d/01-converge-lab-hostkeys.conf"
    done
}

# PID 1 of a host (runs in the host's namespaces, at first with the
# controller's / as root). Mounts the host's kernel file systems inside its
# root, pivots into that root, starts sshd, then stays alive reaping orphans,
# so sshd can be killed/restarted while the host (and, e.g., its dockerd)
# keeps running.
cmd_init() {
    local h=$1 hd r d name hier enabled ctrls=() fd
    hd=$(host_dir "$h"); r=$hd/root
    # Only stdin/out/err (the log) and bash's own script fd survive into the
    # host: no descriptor of whoever ran `up` stays reachable there via /proc/1/fd.
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd < 255)) && eval "exec $fd>&-"
    done
    # The controller's /proc is still mounted here: /proc/self is our PID in
    # the controller's PID namespace (what down/exec need).
    local mypid _rest
    read -r mypid _rest </proc/self/stat
    echo "$mypid" >"$hd/pid.tmp"
    mv "$hd/pid.tmp" "$hd/pid"
    echo "$h" >/proc/sys/kernel/hostname
    [[ -e $hd/systemd ]] && LAB_SYSTEMD=1

    mount -t proc proc "$r/proc"
    mount -t sysfs sysfs "$r/sys"
    ((LAB_SYSTEMD)) && mount -o remount,bind,ro "$r/sys"   # see systemd_start_host
    # cgroup v1: a tmpfs with every enabled controller hierarchy (grouped as
    # the kernel has them, per /proc/cgroups) plus name=systemd. A failing
    # controller is logged and skipped.
    mount -t tmpfs -o mode=755,nosuid,nodev,noexec cgroup "$r/sys/fs/cgroup"
    declare -A groups=()
    while read -r name hier _ enabled; do
        [[ $name == \#* || $hier == 0 || $enabled != 1 ]] && continue
        groups[$hier]+=${groups[$hier]:+,}$name
    done </proc/cgroups
    for hier in "${!groups[@]}"; do ctrls+=("${groups[$hier]}"); done
    for d in "${ctrls[@]}"; do
        mkdir -p "$r/sys/fs/cgroup/$d"
        if mount -t cgroup -o "$d" cgroup "$r/sys/fs/cgroup/$d"; then
            if [[ $d == *,* ]]; then # co-mounted: cpu,cpuacct -> cpu, cpuacct links
                for name in ${d//,/ }; do ln -s "$d" "$r/sys/fs/cgroup/$name"; done
            fi
        else
            echo "[init $h] cgroup controller '$d' could not be mounted (ignored)"
            rmdir "$r/sys/fs/cgroup/$d"
        fi
    done
    mkdir -p "$r/sys/fs/cgroup/systemd"
    mount -t cgroup -o none,name=systemd cgroup "$r/sys/fs/cgroup/systemd" \
        || echo "[init $h] cgroup name=systemd could not be mounted (ignored)"
    # (Left writable: Debian's /etc/init.d/docker runs cgroupfs-mount, which
    # mkdirs a directory for every controller and aborts if it cannot.)

    if ((LAB_SYSTEMD)); then systemd_mount_dev "$r"; else mount --rbind /dev "$r/dev"; fi
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$r/run"
    install -d -m 755 "$r/run/sshd"
    install -d -m 1777 "$r/run/lock"
    if [[ -d $hd/docker ]]; then
        mount --bind "$hd/docker" "$r/var/lib/docker"
    fi

    # The host's root becomes the root of its mount namespace (not a chroot:
    # whatever enters the namespace with setns() -- `lab.sh exec`, `runc exec`
    # for `docker exec` and HEALTHCHECKs -- starts at the namespace's root).
    # The controller's / is then unmounted from this namespace.
    mkdir -p "$r/.lab-oldroot"
    cd "$r"
    pivot_root . .lab-oldroot || { echo "[init $h] pivot_root failed"; exit 1; }
    cd /
    PATH=$HOST_PATH     # from here on, the host's own programs
    umount -l /.lab-oldroot || { echo "[init $h] could not unmount the controller's root"; exit 1; }
    rmdir /.lab-oldroot 2>/dev/null || true

    ((LAB_SYSTEMD)) && systemd_exec_init "$h" "$mypid"
    ( setsid env -i PATH="$HOST_PATH" LANG=C.UTF-8 /usr/sbin/sshd -D -e </dev/null & )
    echo "[init $h] up (pid $mypid on the controller), root pivoted"
    # Go on as the host's own bash (its exe, libraries and script then all
    # live in the host's root), with a clean environment.
    exec /usr/bin/env -i PATH="$HOST_PATH" LANG=C.UTF-8 /bin/bash "$HOST_HELPER" _init "$h" --reap
}

# The rest of a host's PID 1: reap orphans (bash reaps any child, known job
# or not, on SIGCHLD) until killed.
init_reap() {
    trap 'exit 0' TERM
    while :; do
        sleep 3600 &
        wait $! || true
    done
}

# ----------------------------------------------------------------------------
# Helpers for a running lab
# ----------------------------------------------------------------------------

# Controller PID of host H's PID 1; dies if the host is not running.
host_pid1() {
    local h=$1 hd pid
    hd=$(host_dir "$h")
    [[ -s $hd/pid ]] || die "$h is not part of the lab in $LAB_DIR"
    pid=$(<"$hd/pid")
    host_pid_is_init "$pid" "$h" || die "$h is not running (pid $pid gone)"
    echo "$pid"
}

# Is PID (controller view) still host H's `_init`? (guards against PID reuse)
host_pid_is_init() {
    local args=()
    mapfile -d '' args 2>/dev/null <"/proc/$1/cmdline" || return 1
    [[ " ${args[*]} " == *" _init $2 "* ]] || systemd_pid_is_init "$1" "$2"
}

# ENTER = the command prefix that runs a command inside host H (PID 1 =
# PID): its namespaces and root, a clean environment. A host started by this
# lab.sh has its root as its mount namespace's root, where nsenter -m lands;
# one started by an older lab.sh (PID 1's root is still the controller's /)
# only chroot'ed, so it needs the chroot here too.
host_enter_cmd() {
    local h=$1 pid=$2
    ENTER=(nsenter -t "$pid" -n -m -p -u --)
    if [[ /proc/$pid/root -ef / ]]; then
        ENTER+=(chroot "$(host_dir "$h")/root")
    fi
    ENTER+=(/usr/bin/env -i PATH="$HOST_PATH" HOME=/root LANG=C.UTF-8)
}

ssh_opts() {
    printf '%s\n' -F /dev/null -i "$LAB_DIR/id_ed25519" \
        -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o GlobalKnownHostsFile=/dev/null \
        -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR
}

# Does ADDR:22 answer with an SSH banner?
ssh_banner_ok() {
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/22" && head -c 4 <&3' _ "$1" 2>/dev/null | grep -q '^SSH-'
}

# PIDs (controller view) of all processes in H's network namespace.
host_all_pids() { ip netns pids "$NS_PREFIX$1" 2>/dev/null || true; }

host_sshd_pids() {
    local p
    for p in $(host_all_pids "$1"); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == sshd ]] && echo "$p"
    done
    return 0
}

# ----------------------------------------------------------------------------
# systemd hosts (`up N --systemd`): systemd is each host's PID 1
# ----------------------------------------------------------------------------
# The host is made as usual (overlay root on its own base, netns, mount/PID/
# UTS namespaces, `_init` mounts and pivot_root), with these differences:
#   * base: base-bookworm-systemd = the default packages + systemd,
#     systemd-sysv, dbus; units that would reach the controller's kernel or
#     console are masked (systemd_customize_base);
#   * cgroups: the host gets its own cgroup (a child of the caller's) in every
#     hierarchy the controller mounts (v1 ones and v2), and its own cgroup
#     namespace, so its systemd sees that cgroup as `/` and hosts never share
#     a unit's cgroup;
#   * /sys is read-only and /dev is private (a tmpfs with a few nodes, own
#     devpts): systemd creates links and mounts under /dev, which on the
#     controller's /dev (the default hosts' rbind) would land on the controller;
#   * `_init` ends with `exec systemd` (env container=lab), which then starts
#     sshd as ssh.service; its logs are in the host's journal
#     (`lab.sh exec hN journalctl`), not in hosts/hN/log.

# Bump when systemd_base_packages/systemd_customize_base change (rebuilds the systemd base).
readonly SYSTEMD_RECIPE_VERSION=1

# Units masked in the systemd base. getty/console: the lab has no consoles;
# sysctl, modules-load, binfmt: would change the controller's (shared) kernel
# settings; udev: would trigger uevents for the controller's devices; audit:
# not available in a network namespace; kernel file systems: /sys is read-only.
readonly SYSTEMD_MASKED=(
    getty.target getty@.service serial-getty@.service console-getty.service container-getty@.service
    systemd-ask-password-console.path systemd-ask-password-wall.path
    systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service
    systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
    systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service
    systemd-journald-audit.socket systemd-pstore.service systemd-firstboot.service
    sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount sys-fs-fuse-connections.mount
    dev-hugepages.mount
)

# `--systemd` (up and base): use (and build, if needed) the systemd base.
systemd_select_base() {
    LAB_SYSTEMD=1
    BASE=$CACHE/base-$SUITE-systemd
}

systemd_base_packages() { echo ",systemd,systemd-sysv,dbus"; }

systemd_recipe() {
    printf 'systemd base v%s: PID 1 = systemd (container=lab); default.target = multi-user; journald ReadKMsg=no; masked: %s\n' \
        "$SYSTEMD_RECIPE_VERSION" "${SYSTEMD_MASKED[*]}"
}

systemd_customize_base() {
    local t=$1 u
    for u in "${SYSTEMD_MASKED[@]}"; do ln -sf /dev/null "$t/etc/systemd/system/$u"; done
    ln -sf /lib/systemd/system/multi-user.target "$t/etc/systemd/system/default.target"
    # The controller's kernel log is not the host's.
    mkdir -p "$t/etc/systemd/journald.conf.d"
    printf '[Journal]\nReadKMsg=no\n' >"$t/etc/systemd/journald.conf.d/converge-lab.conf"
    # Every host gets its own machine id at `up` (systemd_start_host).
    : >"$t/etc/machine-id"
    [[ -L $t/etc/systemd/system/multi-user.target.wants/ssh.service ]] \
        || die "systemd base: ssh.service is not enabled"
}

# Start host H with systemd as PID 1 (called from start_host, in the host's
# background subshell): its own cgroups, then the usual namespaces plus a
# cgroup namespace rooted at them.
systemd_start_host() {
    local h=$1 ns=$2 r=$3 hd=$4
    : >"$hd/systemd"   # tells `_init` (and down, status) this is a systemd host
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
    echo >>"$r/etc/machine-id"
    (
        systemd_join_cgroups "$hd"
        exec setsid ip netns exec "$ns" unshare --cgroup --mount --pid --fork --uts --propagation private \
            "$r$HOST_HELPER" _init "$h"
    ) </dev/null >>"$hd/log" 2>&1 9>&- &
}

# Move this (sub)shell into a new child cgroup of its current one in every
# cgroup hierarchy the controller has mounted (v1 ones and the v2 one, which
# systemd mounts at /sys/fs/cgroup/unified in the host), except cpuset (a new
# cpuset cgroup has no CPUs until configured; systemd does not use it on v1).
# The directories are listed in $hd/cgroups for `down`.
systemd_join_cgroups() {
    local hd=$1 line ctrls path mnt dir name lines=()
    name=${NS_PREFIX}${hd##*/}
    : >"$hd/cgroups"
    # Read once: /proc/self/cgroup changes under a reader as we move.
    mapfile -t lines </proc/self/cgroup
    for line in "${lines[@]}"; do
        IFS=: read -r _ ctrls path <<<"$line"
        [[ $ctrls == *cpuset* ]] && continue
        if [[ -z $ctrls ]]; then   # "0::/path" is cgroup v2
            mnt=$(findmnt -rn -t cgroup2 -o TARGET | head -n 1)
        else                       # the v1 mount whose options name exactly these controllers
            mnt=$(findmnt -rn -t cgroup -o TARGET,OPTIONS | awk -v c="$ctrls" '
                { n = split($2, o, ","); want = split(c, w, ","); hit = 0
                  for (i = 1; i <= want; i++) for (j = 1; j <= n; j++) if (o[j] == w[i]) hit++
                  if (hit == want) { print $1; exit } }')
        fi
        [[ -n $mnt ]] || continue
        dir=$mnt${path%/}/$name
        mkdir -p "$dir"
        echo "$dir" >>"$hd/cgroups"
        echo "$BASHPID" >"$dir/cgroup.procs"
    done
    grep -q '/systemd/' "$hd/cgroups" || { echo "[lab] no name=systemd cgroup hierarchy on the controller"; exit 1; }
}

# A private /dev for a systemd host (inside `_init`, before pivot_root): the
# basic character devices, its own devpts and shm, and a "console" that is
# /dev/null (systemd would otherwise take the controller's console).
systemd_mount_dev() {
    local d=$1/dev n maj min
    mount -t tmpfs -o mode=755,nosuid,size=16m devtmpfs "$d"
    for n in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 console:1:3 net/tun:10:200 fuse:10:229; do
        IFS=: read -r n maj min <<<"$n"
        mkdir -p "$(dirname "$d/$n")"
        mknod -m 666 "$d/$n" c "$maj" "$min"
    done
    chmod 600 "$d/console"
    mkdir -p "$d/pts" "$d/shm" "$d/mqueue"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$d/pts"
    ln -s pts/ptmx "$d/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d/shm"
    ln -s /proc/self/fd "$d/fd"
    ln -s /proc/self/fd/0 "$d/stdin"
    ln -s /proc/self/fd/1 "$d/stdout"
    ln -s /proc/self/fd/2 "$d/stderr"
}

# The end of a systemd host's `_init` (after pivot_root): become systemd.
systemd_exec_init() {
    echo "[init $1] up (pid $2 on the controller), root pivoted; exec systemd (logs: journalctl)"
    exec /usr/bin/env -i PATH="$HOST_PATH" LANG=C.UTF-8 container=lab /lib/systemd/systemd
}

# Is PID (controller view) host H's PID 1, now systemd? (`_init` exec'd it,
# and a daemon-reexec replaces its command line.)
systemd_pid_is_init() {
    local pid=$1 h=$2
    [[ -e $(host_dir "$h")/systemd && "$(cat "/proc/$pid/comm" 2>/dev/null)" == systemd ]] \
        && [[ /proc/$pid/ns/net -ef /run/netns/$NS_PREFIX$h ]]
}

# Is H a host booted with systemd?
systemd_host() { [[ -e $(host_dir "$1")/systemd ]]; }

# kill-sshd on a systemd host: SIGKILL every process of ssh.service (listener
# and sessions: without logind they stay in the unit's cgroup), then stop the
# unit, or systemd would restart it (Restart=on-failure). cmd_kill_sshd then
# kills any sshd left outside the unit.
systemd_stop_ssh_unit() {
    local h=$1
    host_enter_cmd "$h" "$(host_pid1 "$h")"
    "${ENTER[@]}" systemctl kill --signal=SIGKILL ssh.service </dev/null 9>&- || true
    "${ENTER[@]}" systemctl stop ssh.service </dev/null 9>&- || die "$h: could not stop ssh.service"
}

# `down`: remove the hosts' cgroups (deepest first: systemd made its units'
# cgroups below them) once their processes are gone.
systemd_remove_cgroups() {
    local f dir try
    for f in "$LAB_DIR"/hosts/*/cgroups; do
        [[ -s $f ]] || continue
        while read -r dir; do
            [[ -d $dir ]] || continue
            for try in 1 2 3 4 5 6 7 8 9 10; do
                find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
                [[ -d $dir ]] || break
                sleep 0.2
            done
            [[ -d $dir ]] && log "warning: could not remove cgroup $dir"
        done <"$f"
    done
    return 0
}

# ----------------------------------------------------------------------------
# Commands
# ----------------------------------------------------------------------------

# ----------------------------------------------------------------------------
# The "bare" flavour (`up N --bare`): hosts as a fresh Debian install leaves them, without the
# lab's own accounts and sudo rules (deploy, pwuser, /etc/sudoers.d/deploy): root over SSH only.
# Removed from the host's overlay at `up`; the cached base keeps them for the other flavours.
# ----------------------------------------------------------------------------

bare_strip_host() {
    local r=$1 u
    for u in deploy pwuser; do
        in_root "$r" userdel --remove "$u" 2>/dev/null || true
        if in_root "$r" id "$u" >/dev/null 2>&1; then die "bare: cannot remove user $u"; fi
    done
    rm -f "$r/etc/sudoers.d/deploy"
}

lab_is_up() {
    [[ -e $STATE_FILE ]] || ip link show "$BRIDGE" >/dev/null 2>&1 \
        || ip netns list 2>/dev/null | grep -q "^$NS_PREFIX"
}

cmd_up() {
    local n='' arg i t0 t1 failed=0 pids=() h
    DOCKER_ROOM=0
    LAB_BARE=0
    for arg in "$@"; do
        case $arg in
            --docker-room) DOCKER_ROOM=1 ;;
            --bare) LAB_BARE=1 ;;
            --systemd) systemd_select_base ;;
            [0-9]*) n=$arg ;;
            *) die "up: unknown argument '$arg'" ;;
        esac
    done
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || ((n > MAX_HOSTS)); then
        die "usage: lab.sh up N [--docker-room] [--systemd] [--bare]  (1 <= N <= $MAX_HOSTS)"
    fi
    N=$n
    need_root
    t0=$(now)
    take_lock
    # Tear down a running lab, and clear a stale lab dir (e.g. after a reboot)
    # so no old upper dir is reused.
    lab_is_up && log "a lab is up: tearing it down first"
    do_down
    ensure_cmd iptables iptables
    ensure_cmd ssh-keygen openssh-client
    build_base
    MTU=$(uplink_mtu)

    t1=$(now)
    [[ -e $LAB_DIR && ! -e $LAB_DIR/.converge-lab ]] && [[ -n "$(ls -A "$LAB_DIR")" ]] \
        && die "$LAB_DIR exists and is not a lab directory; refusing to use it"
    mkdir -p "$LAB_DIR/hosts"
    : >"$LAB_DIR/.converge-lab"
    echo "$LAB_DIR" >"$STATE_FILE"
    # From here on, a failure tears the half-built lab down again.
    trap 'up_failed' EXIT

    # Client keys (new for every lab; the RSA one in the background while
    # the controller's network is set up).
    rm -f "$LAB_DIR"/id_ed25519* "$LAB_DIR"/id_rsa* "$LAB_DIR"/id_ecdsa*
    ssh-keygen -q -N '' -C converge-lab -t rsa -b 3072 -f "$LAB_DIR/id_rsa" &
    i=$!
    ssh-keygen -q -N '' -C converge-lab -t ed25519 -f "$LAB_DIR/id_ed25519"
    ssh-keygen -q -N '' -C converge-lab -t ecdsa -b 256 -f "$LAB_DIR/id_ecdsa"
    lab_hosts_lines >"$LAB_DIR/hosts.lab"

    setup_controller_net
    wait "$i" || die "ssh-keygen (client RSA key) failed"
    # Namespaces one by one (concurrent first `ip netns add` calls race on
    # setting up /run/netns), the rest of every host in parallel.
    for ((i = 1; i <= N; i++)); do ip netns add "${NS_PREFIX}h$i"; done
    for ((i = 1; i <= N; i++)); do
        start_host "$i" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { log "h$((i + 1)): start failed"; failed=1; }
    done
    ((failed == 0)) || die "some hosts failed to start"
    log "$N host(s) started in $(since "$t1"); waiting for sshd"

    write_lab_files
    wait_ready
    trap - EXIT
    log "lab up: $N host(s) in $(since "$t0") (hosts started + ready in $(since "$t1"))"
    log "inventory: $LAB_DIR/inventory.ini   env: . $LAB_DIR/env.sh"
}

up_failed() {
    local rc=$?
    ((rc == 0)) && return 0
    if [[ ${LAB_KEEP_ON_FAILURE:-0} == 1 ]]; then
        log "up failed; lab left running for inspection (LAB_KEEP_ON_FAILURE=1): run '$SELF down'"
    else
        log "up failed; tearing the lab down (LAB_KEEP_ON_FAILURE=1 keeps it)"
        do_down || true
    fi
    exit "$rc"
}

write_lab_files() {
    local i h addr py='' hostsv='' addrsv=''
    [[ -x $BASE/usr/bin/python3 ]] && py=" ansible_python_interpreter=/usr/bin/python3"
    : >"$LAB_DIR/known_hosts"
    {
        echo "# converge lab: written by tests/lab/lab.sh up $N on $(date -Is)"
        echo "[lab]"
    } >"$LAB_DIR/inventory.ini"
    for ((i = 1; i <= N; i++)); do
        h=h$i; addr=$(host_addr "$i")
        awk -v names="$addr,$h" '{ print names, $1, $2 }' \
            "$(host_dir "$h")"/root/etc/ssh/ssh_host_*_key.pub >>"$LAB_DIR/known_hosts"
        echo "$h ansible_host=$addr ansible_user=root ansible_ssh_private_key_file=$LAB_DIR/id_ed25519$py" >>"$LAB_DIR/inventory.ini"
        hostsv+=${hostsv:+ }$h; addrsv+=${addrsv:+ }$addr
    done
    {
        echo
        echo "[lab:vars]"
        echo "ansible_ssh_common_args='-o UserKnownHostsFile=$LAB_DIR/known_hosts -o StrictHostKeyChecking=yes'"
    } >>"$LAB_DIR/inventory.ini"
    {
        echo "# converge lab: source me (written by tests/lab/lab.sh up $N)"
        printf 'export LAB_DIR=%q\n' "$LAB_DIR"
        printf 'export LAB_ID=%q\n' "$LAB_ID"
        printf 'export LAB_HOSTS=%q\n' "$hostsv"
        printf 'export LAB_ADDRS=%q\n' "$addrsv"
        printf 'export LAB_INVENTORY=%q\n' "$LAB_DIR/inventory.ini"
        printf 'export LAB_KEY=%q\n' "$LAB_DIR/id_ed25519"
        printf 'export LAB_KNOWN_HOSTS=%q\n' "$LAB_DIR/known_hosts"
        printf 'export LAB_SSH_OPTS=%q\n' "$(ssh_opts | tr '\n' ' ' | sed 's/ $//')"
        printf 'export LAB_PYTHON=%q\n' "$([[ -n $py ]] && echo 1 || echo 0)"
        printf 'export LAB_DOCKER_ROOM=%q\n' "$DOCKER_ROOM"
        printf 'export LAB_BARE=%q\n' "$LAB_BARE"
        printf 'export LAB_SYSTEMD=%q\n' "$LAB_SYSTEMD"
        printf 'export LAB_HOST_KEY_TYPES=%q\n' "ed25519 ecdsa$([[ $RSA_BITS != 0 ]] && echo " rsa")"
    } >"$LAB_DIR/env.sh"
}

# Wait (in parallel) until every host's sshd answers: first its banner (a
# cheap TCP probe), then a real `ssh root@host true` with strict host key
# checking against the lab's known_hosts. The check uses the curve25519 key
# exchange: OpenSSH 9's default (sntrup761x25519) costs ~0.1 s of CPU per
# side per connection here, which adds up with 50 hosts on 2 cores.
wait_ready() {
    local i pids=() failed=0 opts
    mapfile -t opts < <(ssh_opts)
    for ((i = 1; i <= N; i++)); do
        (
            addr=$(host_addr "$i")
            end=$((SECONDS + READY_TIMEOUT))
            until ssh_banner_ok "$addr"; do
                ((SECONDS < end)) || exit 1
                sleep 0.1
            done
            while ((SECONDS < end)); do
                ssh "${opts[@]}" -o ConnectTimeout=5 -o KexAlgorithms=curve25519-sha256 \
                    "root@$addr" true </dev/null 2>/dev/null && exit 0
                sleep 0.2
            done
            exit 1
        ) &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        if ! wait "${pids[$i]}"; then
            failed=1
            log "h$((i + 1)) ($(host_addr $((i + 1)))): sshd did not answer within ${READY_TIMEOUT}s; its log:"
            sed 's/^/    /' "$(host_dir "h$((i + 1))")/log" >&2 || true
        fi
    done
    ((failed == 0)) || die "not every host came up"
}

cmd_down() {
    need_root
    local t0
    t0=$(now)
    take_lock
    do_down
    log "lab down in $(since "$t0")"
}

# Tear everything down; safe when nothing (or only part of a lab) is up.
do_down() {
    local f pid ns p m n end
    # 1. Processes: SIGKILL each host's PID 1 (the kernel then kills its whole
    #    PID namespace), then anything else left in the lab's netns.
    for f in "$LAB_DIR"/hosts/*/pid; do
        [[ -s $f ]] || continue
        pid=$(<"$f")
        n=${f%/pid}
        if host_pid_is_init "$pid" "${n##*/}"; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    mapfile -t nss < <(ip netns list 2>/dev/null | awk -v p="$NS_PREFIX" 'index($1, p) == 1 { print $1 }')
    end=$((SECONDS + 10))
    while :; do
        n=0
        for ns in "${nss[@]}"; do
            for p in $(ip netns pids "$ns" 2>/dev/null); do
                kill -KILL "$p" 2>/dev/null || true
                n=$((n + 1))
            done
        done
        ((n == 0)) && break
        ((SECONDS < end)) || { log "warning: $n process(es) in lab namespaces would not die"; break; }
        sleep 0.1
    done
    systemd_remove_cgroups
    # 2. Links and namespaces (one `ip -batch` each: fewer processes).
    ip -o link show 2>/dev/null \
        | awk -F': ' -v p="$VETH_PREFIX" '{ sub(/@.*/, "", $2) } index($2, p) == 1 { print "link del " $2 }' \
        | ip -force -batch - 2>/dev/null || true
    ip link del "$BRIDGE" 2>/dev/null || true
    if ((${#nss[@]} > 0)); then
        printf 'netns del %s\n' "${nss[@]}" | ip -force -batch - 2>/dev/null \
            || log "warning: could not delete every lab netns"
    fi
    # 3. Mounts: host roots (and anything below the lab dir), deepest first.
    while read -r m; do
        [[ -n $m ]] || continue
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "warning: could not unmount $m"
    done < <({ mounts_under "$LAB_DIR"; findmnt -rn -t overlay -o TARGET,SOURCE | awk -v src="converge-lab${ID_SUFFIX}-" 'index($2, src) == 1 { print $1 }'; } | sort -ru)
    # 4. Our iptables rules (found by their comment).
    if command -v iptables >/dev/null 2>&1; then
        local table chain rule
        for table in nat:POSTROUTING filter:FORWARD; do
            chain=${table#*:}; table=${table%%:*}
            while read -r rule; do
                [[ -n $rule ]] || continue
                read -ra words <<<"${rule/#-A /-D }"
                iptables -t "$table" "${words[@]}" 2>/dev/null || true
            done < <(iptables -t "$table" -S "$chain" 2>/dev/null | grep -- "--comment $IPT_TAG " || true)
        done
    fi
    # 5. Files: only a directory we created, and only with nothing mounted.
    if [[ -e $LAB_DIR/.converge-lab ]]; then
        if [[ -n "$(mounts_under "$LAB_DIR")" ]]; then
            log "warning: mounts remain under $LAB_DIR; not deleting it"
        else
            rm -rf --one-file-system "$LAB_DIR"
        fi
    fi
    rm -f "$STATE_FILE"
}

cmd_status() {
    local f h hd pid addr st ssh_st n=0
    if [[ ! -e $STATE_FILE ]] && ! lab_is_up; then
        echo "no lab is up"; return 0
    fi
    echo "lab dir: $LAB_DIR  bridge: $BRIDGE ($(ip -br addr show "$BRIDGE" 2>/dev/null | awk '{ print $2, $3 }'))"
    for f in "$LAB_DIR"/hosts/h*; do
        [[ -d $f ]] || continue
        h=${f##*/}; hd=$f; addr=$(host_addr "$(host_index "$h")")
        pid=$(cat "$hd/pid" 2>/dev/null || echo -)
        if [[ $pid != - ]] && host_pid_is_init "$pid" "$h"; then
            st=running
        else
            st=stopped
        fi
        if ssh_banner_ok "$addr"; then ssh_st="sshd ok"; else ssh_st="sshd DOWN"; fi
        printf '%-4s %-14s pid1=%-8s %-8s %s\n' "$h" "$addr" "$pid" "$st" "$ssh_st"
        n=$((n + 1))
    done | sort -V
    [[ -s $LAB_DIR/env.sh ]] && echo "env: . $LAB_DIR/env.sh"
    return 0
}

cmd_exec() {
    [[ $# -ge 1 ]] || die "usage: lab.sh exec hN [CMD...]"
    local h=$1 pid; shift
    host_index "$h" >/dev/null
    pid=$(host_pid1 "$h")
    [[ $# -gt 0 ]] || set -- /bin/bash -l
    host_enter_cmd "$h" "$pid"
    exec "${ENTER[@]}" TERM="${TERM:-dumb}" "$@"
}

cmd_ssh() {
    [[ $# -ge 1 ]] || die "usage: lab.sh ssh [USER@]hN [CMD...]"
    local target=$1 user=root h opts; shift
    if [[ $target == *@* ]]; then user=${target%@*}; h=${target#*@}; else h=$target; fi
    mapfile -t opts < <(ssh_opts)
    exec ssh "${opts[@]}" "$user@$(host_addr "$(host_index "$h")")" "$@"
}

cmd_kill_sshd() {
    [[ $# -eq 1 ]] || die "usage: lab.sh kill-sshd hN"
    local h=$1 p end
    host_pid1 "$h" >/dev/null
    systemd_host "$h" && systemd_stop_ssh_unit "$h"
    # Every sshd process: the listener and per-connection ones, so open
    # sessions drop too (like a host losing its SSH service mid-run).
    end=$((SECONDS + 5))
    while :; do
        mapfile -t p < <(host_sshd_pids "$h")
        ((${#p[@]} == 0)) && break
        kill -KILL "${p[@]}" 2>/dev/null || true
        ((SECONDS < end)) || die "$h: sshd would not die"
        sleep 0.1
    done
    log "$h: sshd killed"
}

cmd_start_sshd() {
    [[ $# -eq 1 ]] || die "usage: lab.sh start-sshd hN"
    local h=$1 pid addr end hd
    pid=$(host_pid1 "$h")
    addr=$(host_addr "$(host_index "$h")")
    hd=$(host_dir "$h")
    if ssh_banner_ok "$addr"; then
        log "$h: sshd already running"; return 0
    fi
    # Detached: `setsid -f` (the host's) forks sshd and exits, so sshd is
    # re-parented to the host's PID 1. Its output goes to the host's log.
    host_enter_cmd "$h" "$pid"
    if systemd_host "$h"; then
        "${ENTER[@]}" systemctl start ssh.service </dev/null 9>&- || die "$h: could not start ssh.service"
    else
        "${ENTER[@]}" setsid -f /usr/sbin/sshd -D -e </dev/null >>"$hd/log" 2>&1 9>&- \
            || die "$h: could not start sshd"
    fi
    end=$((SECONDS + 10))
    until ssh_banner_ok "$addr"; do
        ((SECONDS < end)) || { tail -n 20 "$(host_dir "$h")/log" >&2; die "$h: sshd did not come back"; }
        sleep 0.1
    done
    log "$h: sshd started"
}

cmd_rekey() {
    [[ $# -eq 1 ]] || die "usage: lab.sh rekey hN"
    local h=$1
    host_pid1 "$h" >/dev/null
    gen_host_keys "$h"
    cmd_kill_sshd "$h"
    cmd_start_sshd "$h"
    log "$h: new host keys (known_hosts NOT updated): $(ssh-keygen -lf "$(host_dir "$h")/root/etc/ssh/ssh_host_ed25519_key.pub")"
}

cmd_base() {
    need_root
    local force=0 arg
    for arg in "$@"; do
        case $arg in
            --rebuild) force=1 ;;
            --systemd) systemd_select_base ;;
            *) die "base: unknown argument '$arg'" ;;
        esac
    done
    take_lock
    if [[ $force == 1 ]] && lab_is_up; then
        die "a lab is up (its hosts use the base): run 'lab.sh down' first"
    fi
    build_base "$force"
    log "base: $BASE"
    log "recipe: $(<"$BASE/etc/converge-lab-base")"
}

usage() {
    sed -n '/^# Commands/,/^# *LAB_KEEP_ON_FAILURE/p' "$SELF" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-help}
    [[ $# -gt 0 ]] && shift
    case $cmd in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        status) cmd_status ;;
        exec) cmd_exec "$@" ;;
        ssh) cmd_ssh "$@" ;;
        kill-sshd) cmd_kill_sshd "$@" ;;
        start-sshd) cmd_start_sshd "$@" ;;
        rekey) cmd_rekey "$@" ;;
        base) cmd_base "$@" ;;
        _init)                               # internal: a host's PID 1
            if [[ ${2:-} == --reap ]]; then init_reap; else cmd_init "$@"; fi ;;
        help | -h | --help) usage ;;
        *) usage >&2; exit 2 ;;
    esac
}

main "$@"
