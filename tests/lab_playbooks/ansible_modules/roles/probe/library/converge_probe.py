#!/usr/bin/python
# A tiny module in a role's library/ folder, for tests/lab_ansible_modules.rs: puts `content`
# in `path`, with check mode, a diff, and a fact.
from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(path=dict(type="path", required=True), content=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    path, content = module.params["path"], module.params["content"]
    before = open(path).read() if os.path.exists(path) else ""
    changed = before != content
    if changed and not module.check_mode:
        with open(path, "w") as f:
            f.write(content)
    module.exit_json(
        changed=changed,
        path=path,
        uid=os.getuid(),
        probe_env=os.environ.get("CONVERGE_PROBE"),
        diff=dict(before=before, after=content, before_header=path, after_header=path),
        ansible_facts=dict(converge_probe_path=path),
    )


if __name__ == "__main__":
    main()
