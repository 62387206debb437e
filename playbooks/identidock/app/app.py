#!/usr/bin/env python3
"""identidock: a name -> identicon web app (Python 3 standard library only).

GET /                 HTML page with a form and the identicon of ?name=
GET /monster/<name>   the identicon (SVG), fetched from dnmonster, cached in redis
GET /health           200 "ok" when redis answers PING, else 503
GET /slow?seconds=N   answers after N seconds (max 30): for drain / graceful-stop tests

Every response carries X-App-Version. SIGTERM/SIGINT: stop accepting, finish in-flight
requests, exit 0. Every handled signal (TERM, INT, HUP, USR1, USR2) is logged with a
timestamp to $SIGNAL_LOG.
"""
import datetime
import html
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "9090"))
DNMONSTER_URL = os.environ.get("DNMONSTER_URL", "http://dnmonster:8080").rstrip("/")
REDIS_HOST = os.environ.get("REDIS_HOST", "redis")
REDIS_PORT = int(os.environ.get("REDIS_PORT", "6379"))
SIGNAL_LOG = os.environ.get("SIGNAL_LOG", "/var/log/app/signals.log")
CACHE_TTL = int(os.environ.get("CACHE_TTL", "3600"))  # seconds; 0 = no expiry


def app_version():
    """$APP_VERSION, else the VERSION file next to this script, else "dev"."""
    v = os.environ.get("APP_VERSION")
    if v:
        return v
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION")) as f:
            return f.read().strip() or "dev"
    except OSError:
        return "dev"


VERSION = app_version()


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def log(msg):
    print(f"{now()} {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- redis (RESP) client

class RedisError(Exception):
    pass


def redis(*args, timeout=2.0):
    """Send one command, return its reply (bytes, int, str, list or None)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=timeout) as s:
            s.sendall(b"".join(out))
            return _read_reply(s.makefile("rb"))
    except OSError as e:
        raise RedisError(f"{REDIS_HOST}:{REDIS_PORT}: {e}") from e


def _read_reply(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        if len(data) != n + 2:
            raise RedisError("short read")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RedisError(f"bad reply {line!r}")


# ---------------------------------------------------------------- HTTP

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>identidock</title></head>
<body>
<h1>identidock</h1>
<form method="get" action="/">
  <label>Name <input type="text" name="name" value="{name}"></label>
  <input type="submit" value="Show">
</form>
<p>You look like a:</p>
<img src="/monster/{quoted}" alt="identicon of {name}" width="160" height="160">
<p><small>identidock version {version}</small></p>
</body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "identidock"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing idles at shutdown

    def send(self, code, body, ctype="text/plain; charset=utf-8", headers=()):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App-Version", VERSION)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/":
            name = query.get("name", ["Joe Bloggs"])[0][:100]
            page = PAGE.format(name=html.escape(name), quoted=urllib.parse.quote(name, safe=""),
                               version=html.escape(VERSION))
            self.send(200, page, "text/html; charset=utf-8")
        elif url.path.startswith("/monster/") and len(url.path) > len("/monster/"):
            self.monster(urllib.parse.unquote(url.path[len("/monster/"):])[:100])
        elif url.path == "/health":
            if os.environ.get("APP_HEALTHY", "1") == "0":
                # An image built with HEALTHY=0: the rollback example of the playbook's tests.
                self.send(503, "this build is broken on purpose (HEALTHY=0)\n")
                return
            try:
                ok = redis("PING") == "PONG"
                self.send(200 if ok else 503, "ok\n" if ok else "redis: unexpected PING reply\n")
            except RedisError as e:
                self.send(503, f"redis unavailable: {e}\n")
        elif url.path == "/slow":
            seconds = min(float(query.get("seconds", ["5"])[0]), 30.0)
            time.sleep(seconds)
            self.send(200, f"slept {seconds:g}s\n")
        else:
            self.send(404, "not found\n")

    def monster(self, name):
        key = f"monster:{name}"
        cache = "MISS"
        try:
            image = redis("GET", key)
            if image is not None:
                cache = "HIT"
        except RedisError as e:
            log(f"cache read failed: {e}")
            image, cache = None, "BYPASS"
        if image is None:
            src = f"{DNMONSTER_URL}/monster/{urllib.parse.quote(name, safe='')}?size=80"
            try:
                with urllib.request.urlopen(src, timeout=5) as r:
                    image = r.read()
            except OSError as e:
                self.send(502, f"dnmonster unavailable: {e}\n")
                return
            if cache == "MISS":
                try:
                    redis("SET", key, image, *(("EX", CACHE_TTL) if CACHE_TTL > 0 else ()))
                except RedisError as e:
                    log(f"cache write failed: {e}")
        self.send(200, image, "image/svg+xml", [("X-Cache", cache)])

    def log_message(self, fmt, *args):
        log(f"{self.client_address[0]} {fmt % args}")


class Server(ThreadingHTTPServer):
    daemon_threads = False   # request threads are joined ...
    block_on_close = True    # ... by server_close(): in-flight requests finish
    allow_reuse_address = True


# ---------------------------------------------------------------- signals, main

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
stopping = threading.Event()


def on_signal(signum, _frame):
    name = signal.Signals(signum).name
    line = f"{now()} {socket.gethostname()} {name}\n"
    try:
        os.makedirs(os.path.dirname(SIGNAL_LOG) or ".", exist_ok=True)
        with open(SIGNAL_LOG, "a") as f:
            f.write(line)
    except OSError as e:
        log(f"cannot write {SIGNAL_LOG}: {e}")
    log(f"received {name}")
    if signum in (signal.SIGTERM, signal.SIGINT):
        stopping.set()


def main():
    for s in HANDLED:
        signal.signal(s, on_signal)
    server = Server(("0.0.0.0", PORT), Handler)
    http = threading.Thread(target=server.serve_forever, name="http")
    http.start()
    log(f"identidock {VERSION} listening on 0.0.0.0:{PORT} (pid {os.getpid()}), "
        f"redis {REDIS_HOST}:{REDIS_PORT}, dnmonster {DNMONSTER_URL}")
    while not stopping.wait(60):
        pass
    log("stopping: no new connections, finishing in-flight requests")
    server.shutdown()       # serve_forever returns: nothing new is accepted
    server.server_close()   # close the listener, join the request threads
    http.join()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
