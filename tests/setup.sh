#!/usr/bin/env bash
# Install what the tests need on a fresh Debian machine (idempotent): the lab's tools, an
# OpenSSH client, and the peers converge is compared with (Ansible) in a virtualenv.
set -euo pipefail
need=()
for cmd_pkg in debootstrap:debootstrap ssh:openssh-client ssh-keygen:openssh-client ip:iproute2 \
    iptables:iptables sudo:sudo python3:python3 curl:curl zip:zip unzip:unzip chromium:chromium \
    gpg:gpg; do
    cmd=${cmd_pkg%%:*}
    pkg=${cmd_pkg#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# The keyring modules/tests/system.rs reads (apt_key), and curl as a package (apt check mode).
[ -e /usr/share/keyrings/debian-archive-bookworm-stable.gpg ] || need+=(debian-archive-keyring)
dpkg-query -W -f='${Status}' curl 2>/dev/null | grep -q ' installed$' || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
rustup component add clippy rustfmt >/dev/null 2>&1 || true

# Ansible, for the differential tests, in a virtualenv outside the repository.
cache=${CONVERGE_LAB_CACHE:-/var/cache/converge-lab}
venv="$cache/peers-venv"
if [ ! -x "$venv/bin/ansible-playbook" ]; then
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check 'ansible-core>=2.17,<2.20'
fi
# Ansible's collections (community.general, ansible.posix, ...), for the modules converge runs as
# Ansible's own (tests/lab_ansible_modules.rs). ansible 12.x is the one that pins ansible-core 2.19.
if ! "$venv/bin/python" -c 'import ansible_collections.community.general' 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check 'ansible>=12,<13' 'ansible-core>=2.19,<2.20'
fi
"$venv/bin/ansible-playbook" --version | head -1

# Ansible's own integration targets (GPL-3.0: read where unpacked, never committed), from the
# ansible-core 2.19 source distribution on PyPI, for tests/ansible-suite/.
src="$cache/ansible-src"
if ! ls -d "$src"/ansible_core-2.19.*/test/integration/targets >/dev/null 2>&1; then
    mkdir -p "$src"
    "$venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-binary :all: \
        -d "$src" 'ansible-core==2.19.*'
    tar -xzf "$(ls "$src"/ansible_core-2.19.*.tar.gz | tail -n 1)" -C "$src" --wildcards \
        '*/test/integration/targets/*'
fi
ls -d "$src"/ansible_core-2.19.*/test/integration/targets
