#!/usr/bin/env python3
"""dnmonster: deterministic SVG identicons (Python 3 standard library only).

GET /monster/<name>?size=N   an N x N SVG (default 80, 16..1024) derived from sha256(name)
GET /health                  200 "ok"

A 5x5, left-right mirrored grid: the hash's first three bytes give the colour, the next
fifteen bits which cells are filled. Same name, same picture.
"""
import hashlib
import os
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(os.environ.get("PORT", "8080"))


def identicon(name, size):
    h = hashlib.sha256(name.encode()).digest()
    colour = "#%02x%02x%02x" % (h[0], h[1], h[2])
    bits = int.from_bytes(h[3:5], "big")
    cell = size / 6  # 5 cells + half a cell of margin on each side
    rects = []
    for row in range(5):
        for col in range(3):  # columns 0..2; 3 and 4 mirror 1 and 0
            if bits >> (row * 3 + col) & 1:
                for c in {col, 4 - col}:
                    rects.append(f'<rect x="{(c + 0.5) * cell:.2f}" y="{(row + 0.5) * cell:.2f}" '
                                 f'width="{cell:.2f}" height="{cell:.2f}"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}">'
            f'<rect width="{size}" height="{size}" fill="#f0f0f0"/>'
            f'<g fill="{colour}">{"".join(rects)}</g></svg>\n')


class Handler(BaseHTTPRequestHandler):
    server_version = "dnmonster"

    def send(self, code, body, ctype="text/plain; charset=utf-8"):
        body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/monster/") and len(url.path) > len("/monster/"):
            name = urllib.parse.unquote(url.path[len("/monster/"):])
            try:
                size = int(urllib.parse.parse_qs(url.query).get("size", ["80"])[0])
            except ValueError:
                return self.send(400, "size must be an integer\n")
            self.send(200, identicon(name, max(16, min(size, 1024))), "image/svg+xml")
        elif url.path == "/health":
            self.send(200, "ok\n")
        else:
            self.send(404, "not found\n")


class Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True


def main():
    server = Server(("0.0.0.0", PORT), Handler)

    def stop(signum, _frame):
        print(f"dnmonster: {signal.Signals(signum).name}, stopping", file=sys.stderr, flush=True)
        threading.Thread(target=server.shutdown).start()  # shutdown() waits for serve_forever

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"dnmonster listening on 0.0.0.0:{PORT}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()  # finish in-flight requests
    return 0


if __name__ == "__main__":
    sys.exit(main())
