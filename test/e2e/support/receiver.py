"""
A notification receiver for the end-to-end tests, run inside the master's host container
(so the master reaches it on 127.0.0.1 and nothing leaves the project's containers).

  python3 receiver.py PORT LOG answer   answers 204 and appends each request to LOG
  python3 receiver.py PORT LOG hang     accepts connections and never answers (a dead receiver)

Each line of LOG is JSON: the path, the X-Saltpipe-* headers and the raw body (base64), so
the test checks the signature itself, on the exact bytes that arrived.
"""

import base64
import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, LOG, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entry = {
            "path": self.path,
            "at": time.time(),
            "headers": {k: v for k, v in self.headers.items() if k.lower().startswith("x-saltpipe-")},
            "content_type": self.headers.get("Content-Type", ""),
            "body": base64.b64encode(body).decode(),
        }
        with open(LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def hang():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", PORT))
    server.listen(64)
    held = []
    while True:
        conn, _ = server.accept()
        held.append(conn)  # never read, never answered, never closed


if MODE == "hang":
    hang()
else:
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
