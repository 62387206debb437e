# pyinfra 3 equivalent of tests/bench/playbook.yml (run by tests/bench/run.sh from this directory):
# the same 20 steps, the same files, modes and contents. The root directory is the host data
# `bench_root` (run.sh's generated inventory sets /tmp/bench-pyinfra).
from io import StringIO

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files, server

root = host.data.get("bench_root", "/tmp/bench-pyinfra")
app_port = 8080
workers = 4
template_vars = dict(
    inventory_hostname=host.name,
    app_port=app_port,
    workers=workers,
    server_name="bench.example",
    peers=["alpha", "beta", "gamma"],
)

files.directory(name="root directory", path=root, mode="755")
files.directory(name="conf directory", path=f"{root}/conf", mode="750")
files.directory(name="data directory", path=f"{root}/data", mode="755")
files.directory(name="logs directory", path=f"{root}/logs", mode="700")
files.put(
    name="env file from content",
    src=StringIO(f"APP_PORT={app_port}\nWORKERS={workers}\n"),
    dest=f"{root}/conf/app.env",
    mode="644",
)
files.put(name="motd from a file", src="files/motd.txt", dest=f"{root}/motd.txt", mode="644")
files.put(name="start script from a file", src="files/run.sh", dest=f"{root}/run.sh", mode="755")
files.template(
    name="app config template",
    src="templates/app.conf.j2",
    dest=f"{root}/conf/app.conf",
    mode="640",
    **template_vars,
)
files.template(
    name="nginx config template",
    src="templates/nginx.conf.j2",
    dest=f"{root}/conf/nginx.conf",
    mode="644",
    **template_vars,
)
settings = f"{root}/conf/settings.ini"
files.line(name="setting 1", path=settings, line="^listen=.*$", replace="listen=0.0.0.0")
files.line(name="setting 2", path=settings, line="^port=.*$", replace=f"port={app_port}")
files.line(name="setting 3", path=settings, line="^workers=.*$", replace=f"workers={workers}")
files.line(name="setting 4", path=settings, line="^log_level=.*$", replace="log_level=info")
files.line(name="setting 5", path=settings, line="^timeout=.*$", replace="timeout=30")
files.block(
    name="access block",
    path=f"{root}/conf/hosts.allow",
    content="sshd: 198.18.0.0/255.254.0.0\napp: ALL",
)
# "stat the config": a fact, as a pyinfra deploy would read it.
app_conf = host.get_fact(File, path=f"{root}/conf/app.conf")
# "one-time initialisation": command with `creates`.
if not host.get_fact(File, path=f"{root}/data/initialized"):
    server.shell(name="one-time initialisation", commands=[f"touch {root}/data/initialized"])
files.file(name="initialisation marker mode", path=f"{root}/data/initialized", mode="600")
files.link(name="current link", path=f"{root}/current", target=f"{root}/conf")
files.put(name="version file", src=StringIO("1.4.2\n"), dest=f"{root}/data/version.txt", mode="644")
