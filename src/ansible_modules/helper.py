"""converge's helper for running Ansible's own modules (see docs/ansible-modules.md).

One process per converge run, started only when a playbook names a module converge has no
native version of. It reads one JSON request per line on stdin and answers one JSON line on
stdout. Ansible itself does the work: its plugin loader finds modules (routing, redirects,
collections, `library/` folders) and `module_common.modify_module` builds the AnsiballZ payload.

Requests:
  {"op": "hello"}
  {"op": "resolve", "name": "ini_file", "library": ["/play/library"]}
  {"op": "build", "name": "ini_file", "path": "/.../ini_file.py", "interpreter": "/usr/bin/python3",
   "args": {...}}   (args only matter when the answer is not "cacheable")
"""

import base64
import hashlib
import io
import json
import os
import re
import sys
import traceback
import zipfile

# Ansible may print warnings on stdout: keep stdout for answers only.
_OUT = sys.stdout
sys.stdout = sys.stderr

from ansible import constants as C  # noqa: E402
from ansible.release import __version__  # noqa: E402
from ansible.plugins.loader import action_loader, init_plugin_loader, module_loader  # noqa: E402
from ansible.utils.collection_loader import AnsibleCollectionConfig  # noqa: E402
from ansible.executor import module_common  # noqa: E402
from ansible.template import Templar  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402

init_plugin_loader()
_TEMPLAR = Templar(loader=DataLoader())
_LIBRARY_DIRS = set()

# The fixed time stamp of a cacheable payload's zip entries: the payload must not change from
# one build to the next, or its content hash (the name of its cache file on hosts) would.
_FIXED_DATE = "date_time=datetime.datetime(2020, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),"
_MAIN = '\nif __name__ == "__main__":\n'


def hello(_req):
    return {
        "version": __version__,
        "python": sys.executable,
        "module_paths": module_loader._get_paths(),
        "collection_paths": list(AnsibleCollectionConfig.collection_paths),
        "selinux_special_fs": list(C.DEFAULT_SELINUX_SPECIAL_FS),
    }


# Modules whose Ansible action plugin does real work on the controller, which converge does not
# run (docs/ansible-modules.md): when they cannot work on the host alone, a clear refusal.
# "always": never; "when": (argument, value, its default) with which the work is controller-side.
_CONTROLLER_SIDE = {
    "assemble": {"when": ["remote_src", False, True],
                 "msg": "assemble with remote_src: false assembles controller files in Ansible's "
                        "action plugin, which converge does not run; put the fragments on the host "
                        "(remote_src: true) or use template"},
    "synchronize": {"always": True,
                    "msg": "synchronize is Ansible's action plugin driving rsync from the "
                           "controller, which converge does not run; use copy or unarchive"},
    "fetch": {"always": True,
              "msg": "fetch is an Ansible action plugin (it copies host files to the controller), "
                     "which converge does not run; use slurp and copy with delegate_to: localhost"},
    "script": {"always": True,
               "msg": "script is an Ansible action plugin (it copies a controller file), which "
                      "converge does not run; use copy then command"},
}


def controller_side(ctx):
    """What converge should know about the module's action plugin, if it has one."""
    leaf = ctx.plugin_resolved_name.rsplit(".", 1)[-1]
    action = action_loader.find_plugin_with_context(ctx.redirect_list[-1], collection_list=None)
    has_action = bool(action.resolved) and not action.plugin_resolved_name.endswith("normal")
    return has_action, _CONTROLLER_SIDE.get(leaf) if has_action else None


def resolve(req):
    for d in req.get("library", []):
        if d not in _LIBRARY_DIRS and os.path.isdir(d):
            module_loader.add_directory(d)
            _LIBRARY_DIRS.add(d)
    ctx = module_loader.find_plugin_with_context(req["name"], collection_list=None)
    if not ctx.resolved or not ctx.plugin_resolved_path:
        return {
            "found": False,
            "searched": module_loader._get_paths(),
            "collection_paths": list(AnsibleCollectionConfig.collection_paths),
            "redirects": ctx.redirect_list,
        }
    has_action, refuse = controller_side(ctx)
    return {
        "found": True,
        "action_plugin": has_action,
        "refuse": refuse,
        "path": ctx.plugin_resolved_path,
        "collection": ctx.plugin_resolved_collection or None,
        "redirects": ctx.redirect_list,
    }


def build(req):
    task_vars = {"ansible_python_interpreter": req["interpreter"]}
    built = module_common.modify_module(
        module_name=req["name"],
        module_path=req["path"],
        module_args=req.get("args") or {},
        templar=_TEMPLAR,
        task_vars=task_vars,
    )
    data = built.b_module_data
    if built.module_style != "new" or not data.startswith(b"#!"):
        return {"style": built.module_style, "supported": False}
    script = data.decode("utf-8")
    cacheable = stdin_params(script)
    if cacheable is not None:
        script = cacheable
    return {
        "style": built.module_style,
        "supported": True,
        "cacheable": cacheable is not None,
        "script": script,
        "sha256": content_hash(script),
    }


def content_hash(script):
    """A hash of what the payload does: its text, with the embedded zip (rebuilt with new time
    stamps by every helper process) replaced by the names and contents of its files, so the same
    module and module_utils get the same name in hosts' caches from one run to the next."""
    h = hashlib.sha256()
    m = re.search(r"^zip_data='([A-Za-z0-9+/=]*)',$", script, re.M)
    if not m:
        h.update(script.encode("utf-8"))
        return h.hexdigest()
    h.update(script[:m.start()].encode("utf-8"))
    h.update(script[m.end():].encode("utf-8"))
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(m.group(1)))) as z:
        for info in sorted(z.infolist(), key=lambda i: i.filename):
            h.update(info.filename.encode("utf-8") + b"\0")
            h.update(hashlib.sha256(z.read(info)).digest())
    return h.hexdigest()


def stdin_params(script):
    """The AnsiballZ wrapper reading its arguments from stdin, with a fixed time stamp, or None
    when the wrapper's last lines are not the `key=value,` call this expects."""
    head, sep, call = script.rpartition(_MAIN)
    if not sep:
        return None
    lines = call.split("\n")
    seen = set()
    for i, line in enumerate(lines):
        if line.startswith("params="):
            lines[i] = "params=sys.stdin.read(),"
            seen.add("params")
        elif line.startswith("date_time="):
            lines[i] = _FIXED_DATE
            seen.add("date_time")
    if seen != {"params", "date_time"}:
        return None
    return head + sep + "    import sys\n" + "\n".join(lines)


OPS = {"hello": hello, "resolve": resolve, "build": build}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            answer = OPS[req["op"]](req)
            answer["ok"] = True
        except Exception as e:  # every failure is an answer, never a dead helper
            answer = {"ok": False, "error": "%s: %s" % (type(e).__name__, e),
                      "traceback": traceback.format_exc()}
        _OUT.write(json.dumps(answer) + "\n")
        _OUT.flush()


if __name__ == "__main__":
    main()
