#!/usr/bin/python
# A module without check mode support, for tests/lab_ansible_modules.rs: creates `path`.
from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True)))
    path = module.params["path"]
    if os.path.exists(path):
        module.exit_json(changed=False, path=path)
    open(path, "w").close()
    module.exit_json(changed=True, path=path)


if __name__ == "__main__":
    main()
