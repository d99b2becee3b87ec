"""A fake Docker Engine API on a unix socket, for the deploy state's tests: the endpoints the
state and its drain finisher call, over real HTTP on a real socket (the finisher runs in its
own process and reaches it the same way). Every request is recorded as a CLI-like list
(``["stop", "-t", "7", "app-blue"]``) so the tests read like the docker commands they stand
for. No Docker."""

import json
import os
import socketserver
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler


class FakeEngine:
    """Containers and images in memory; ``delays`` (``stop``, ``images``) slow those calls."""

    def __init__(self, directory, images=(), delays=None, logs="a log line"):
        self.path = os.path.join(directory, "docker.sock")
        self.containers = {}  # name -> {digest, slot, running}
        self.present = set()  # image references the engine holds (``image inspect`` answers 200)
        self.images = list(images)  # what ``GET /images/json`` lists: RepoDigests entries
        self.delays = dict(delays or {})
        self.logs = logs
        self.calls = []
        self.lock = threading.Lock()
        engine = self

        class Handler(_Handler):
            owner = engine

        self.server = socketserver.ThreadingUnixStreamServer(self.path, Handler)
        self.server.daemon_threads = True
        # A client that gave up (the bounded-call tests) leaves a broken pipe: not an error here.
        self.server.handle_error = lambda request, address: None
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def ops(self, *kinds):
        """The recorded calls (only those of ``kinds`` when given)."""
        with self.lock:
            return [c for c in self.calls if not kinds or c[0] in kinds]

    def add(self, name, digest, slot, running=True):
        self.containers[name] = {"digest": digest, "slot": slot, "running": running}


class _Handler(BaseHTTPRequestHandler):
    owner = None
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "unix"

    def _reply(self, status, body=None, raw=None, content_type="application/json"):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        path = urllib.parse.unquote(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        engine = self.owner
        parts = path.strip("/").split("/")
        with engine.lock:
            op = _op(method, parts, query)
            engine.calls.append(op)
        if op[0] in engine.delays:
            time.sleep(engine.delays[op[0]])
        return self._answer(engine, op, parts, query, body)

    def _answer(self, engine, op, parts, query, body):  # pylint: disable=too-many-return-statements
        kind = op[0]
        if kind == "ps":
            wanted = json.loads(query.get("filters", "{}")).get("label", [])
            out = [
                {"Names": ["/" + n], "State": "running" if c["running"] else "exited",
                 "Labels": {"saltpipe.app": n.rsplit("-", 1)[0], "saltpipe.digest": c["digest"], "saltpipe.slot": c["slot"]}}
                for n, c in engine.containers.items()
                if all(label == f"saltpipe.app={n.rsplit('-', 1)[0]}" for label in wanted)
            ]
            return self._reply(200, out)
        if kind == "image-inspect":
            return self._reply(200, {"Id": "x"}) if op[1] in engine.present else self._reply(404, {"message": "No such image"})
        if kind == "create":
            labels = body.get("Labels") or {}
            engine.add(query["name"], labels.get("saltpipe.digest", ""), labels.get("saltpipe.slot", ""), running=False)
            engine.last_create = body
            return self._reply(201, {"Id": query["name"]})
        name = op[-1]
        if kind in ("start", "inspect", "logs", "stop") and name not in engine.containers:
            return self._reply(404, {"message": f"No such container: {name}"})
        if kind == "start":
            engine.containers[name]["running"] = True
            return self._reply(204)
        if kind == "inspect":
            return self._reply(200, {"State": {"Running": engine.containers[name]["running"]}})
        if kind == "logs":
            text = engine.logs.encode()
            return self._reply(200, raw=b"\x01\x00\x00\x00" + len(text).to_bytes(4, "big") + text,
                               content_type="application/vnd.docker.multiplexed-stream")
        if kind == "stop":
            engine.containers[name]["running"] = False
            return self._reply(204)
        if kind == "rm":
            return self._reply(204 if engine.containers.pop(name, None) else 404)
        if kind == "images":
            return self._reply(200, [{"RepoDigests": [d]} for d in engine.images])
        if kind == "rmi":
            return self._reply(200, [{"Deleted": op[1]}])
        return self._reply(404, {"message": f"fake engine: no route {op}"})

    def do_GET(self):  # noqa: N802
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    def do_DELETE(self):  # noqa: N802
        self._route("DELETE")


def _op(method, parts, query):
    """The CLI-like record of one request."""
    if method == "GET" and parts == ["containers", "json"]:
        return ["ps"]
    if method == "GET" and parts == ["images", "json"]:
        return ["images"]
    if parts[0] == "images" and method == "GET":
        return ["image-inspect", "/".join(parts[1:-1])]
    if parts[0] == "images" and method == "DELETE":
        return ["rmi", "/".join(parts[1:])]
    if parts == ["containers", "create"]:
        return ["create", query.get("name", "")]
    if method == "DELETE":
        return ["rm", "-f", parts[1]]
    verb = parts[2] if len(parts) > 2 else ""
    if verb == "stop":
        return ["stop", "-t", query.get("t", ""), parts[1]]
    return {"start": ["start"], "json": ["inspect"], "logs": ["logs"]}.get(verb, [f"{method} {'/'.join(parts)}"]) + [parts[1]]
