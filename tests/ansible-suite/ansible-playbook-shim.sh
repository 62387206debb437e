#!/usr/bin/env bash
# tests/ansible-suite/ansible-playbook-shim.sh - `ansible-playbook` for Ansible's runme.sh targets,
# run by converge (tests/ansible-suite/runme.sh puts it first on PATH as `ansible-playbook`).
#
# Maps the options those scripts use onto converge's CLI (`converge PLAYBOOK... -i INV [options]`).
# An option converge does not have stops the run with exit 5 (ansible-playbook's "bad options")
# and a message naming it, so a target that needs it fails visibly instead of testing something
# else. Environment: CONVERGE_BIN (the converge binary).
set -uo pipefail
bin=${CONVERGE_BIN:?CONVERGE_BIN is not set}
args=() playbooks=()
unsupported() {
    echo "ansible-playbook (converge shim): converge has no $1" >&2
    exit 5
}
while (($#)); do
    a=$1
    shift
    case $a in
        # Options with a value, spelled apart or joined with `=`.
        -i | --inventory | --inventory-file | -e | --extra-vars | -t | --tags | --skip-tags | -l | --limit | \
            -f | --forks | -u | --user | --private-key | --key-file | -c | --connection | -T | --timeout | \
            --become-user)
            (($#)) || unsupported "value for $a"
            case $a in
                --inventory-file) a=--inventory ;;
                --key-file) a=--private-key ;;
            esac
            args+=("$a" "$1")
            shift
            ;;
        --inventory=* | --extra-vars=* | --tags=* | --skip-tags=* | --limit=* | --forks=* | --user=* | \
            --private-key=* | --connection=* | --timeout=* | --become-user=*)
            args+=("$a") ;;
        -i?* | -e?* | -t?* | -l?* | -f?* | -u?* | -c?* | -T?*)
            args+=("${a:0:2}" "${a:2}") ;;
        -v | -vv | -vvv | -vvvv | -vvvvv | -vvvvvv | --verbose) args+=("$a") ;;
        -C | --check | -D | --diff | --syntax-check | --list-tasks | --list-hosts | -b | --become)
            args+=("$a") ;;
        # converge keeps no fact cache between runs: there is nothing to flush.
        --flush-cache) ;;
        --) playbooks+=("$@"); break ;;
        -*) unsupported "${a%%=*} (used by this test)" ;;
        *) playbooks+=("$a") ;;
    esac
done
exec "$bin" "${playbooks[@]}" "${args[@]}" --no-history --color never
