"""
What the deploy asks of docker: the Docker Engine API on its unix socket (:class:`Engine`)
for everything but the pull, and the docker CLI (:class:`DockerCli`) for ``docker pull``
and the pre-switch run, because the CLI holds the registry credentials and helpers such as
ecr-login in its ``--config`` directory.

Why the API and not the CLI: each ``docker`` run is a new Go process (about 25 ms of a core
on an idle minion, several times that on a loaded one); an API request costs about 1 ms, and
one request lists the app's containers with their labels (the CLI needs ps + inspect). Why
not the Python ``docker`` library: it is not in Salt's Python on the minions, and this needs
eight endpoints.
"""

import http.client
import json
import os
import socket
import urllib.parse

from saltpipe_shared import COMMAND_TIMEOUT, LABEL_APP, LABEL_DIGEST, LABEL_SLOT, StepFailed


def cli_argv(cli, config_dir, *args):
    """The docker CLI's argv, with ``--config`` when registry credentials were written there."""
    argv = [cli]
    if config_dir and os.path.isfile(os.path.join(config_dir, "config.json")):
        argv += ["--config", config_dir]
    return argv + [str(a) for a in args]


class DockerCli:
    """The docker CLI through ``run(argv, timeout)`` (Salt's ``cmd.run_all``, no shell)."""

    def __init__(self, run, cli, config_dir, timeout=None):
        self.run = run
        self.cli = cli
        self.config_dir = config_dir
        # Every docker call is bounded: the master's claim on the deploy outlives the state run.
        self.timeout = timeout

    def argv(self, *args):
        return cli_argv(self.cli, self.config_dir, *args)

    def __call__(self, *args, timeout=None):
        return self.run(self.argv(*args), timeout=timeout or self.timeout)

    def must(self, what, *args, timeout=None):
        res = self(*args, timeout=timeout)
        if not res["ok"]:
            raise StepFailed(f"{what} failed: {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}")
        return res


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket (the Docker Engine API's own transport)."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def _quote(part):
    """A name or image reference as one URL path segment (the engine routes ``/images/{name:.*}``)."""
    return urllib.parse.quote(str(part), safe="/:@")


class Engine:
    """
    The Docker Engine API on its unix socket: what the deploy and its finisher ask of docker.
    Every request is bounded by ``timeout`` (per socket operation).
    """

    def __init__(self, socket_path, timeout=COMMAND_TIMEOUT):
        self.socket_path = socket_path
        self.timeout = timeout

    def request(self, method, path, query=None, body=None, timeout=None):
        """(status, decoded JSON, or the raw bytes when the answer is not JSON)."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        conn = _UnixHTTPConnection(self.socket_path, timeout or self.timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise StepFailed(f"docker engine {method} {path.split('?')[0]}: {type(exc).__name__}: {exc}"[:500]) from exc
        finally:
            conn.close()
        if "json" in (resp.getheader("Content-Type") or ""):
            try:
                return resp.status, json.loads(raw or b"null")
            except ValueError:
                pass
        return resp.status, raw

    def must(self, what, method, path, query=None, body=None, ok=(200, 201, 204), timeout=None):
        status, data = self.request(method, path, query, body, timeout)
        if status not in ok:
            message = data.get("message") if isinstance(data, dict) else bytes(data or b"").decode("utf-8", "replace")
            raise StepFailed(f"{what} failed ({status}): {str(message).strip()[:500]}")
        return data

    def containers(self, app):
        """``{name: {name, running, digest, slot}}`` of the app's containers (label ``saltpipe.app``)."""
        found = self.must("docker ps", "GET", "/containers/json",
                          {"all": "1", "filters": json.dumps({"label": [f"{LABEL_APP}={app}"]})})
        out = {}
        for item in found or []:
            labels = item.get("Labels") or {}
            for cname in (n.lstrip("/") for n in item.get("Names") or []):
                out[cname] = {
                    "name": cname,
                    "running": item.get("State") == "running",
                    "digest": labels.get(LABEL_DIGEST, ""),
                    "slot": labels.get(LABEL_SLOT, ""),
                }
        return out

    def image_present(self, ref):
        return self.request("GET", f"/images/{_quote(ref)}/json")[0] == 200

    def run(self, name, ref, port, host_ip, host_port, labels, env):
        """``docker run -d --name NAME --restart unless-stopped -p HOST_IP:HOST_PORT:PORT``: create, then start."""
        body = {
            "Image": ref,
            "Labels": labels,
            "Env": [f"{k}={v}" for k, v in sorted(env.items())],
            "ExposedPorts": {f"{port}/tcp": {}},
            "HostConfig": {
                "PortBindings": {f"{port}/tcp": [{"HostIp": host_ip, "HostPort": str(host_port)}]},
                "RestartPolicy": {"Name": "unless-stopped"},
            },
        }
        self.must(f"docker create {name}", "POST", "/containers/create", {"name": name}, body)
        self.must(f"docker start {name}", "POST", f"/containers/{_quote(name)}/start")

    def running(self, name):
        """True / False, or None when docker cannot tell (no such container, no answer)."""
        try:
            status, data = self.request("GET", f"/containers/{_quote(name)}/json")
        except StepFailed:
            return None
        return bool(((data or {}).get("State") or {}).get("Running")) if status == 200 and isinstance(data, dict) else None

    def logs(self, name, tail=20):
        """The last ``tail`` lines of stdout and stderr (the engine's multiplexed stream, read apart)."""
        try:
            status, raw = self.request("GET", f"/containers/{_quote(name)}/logs",
                                       {"stdout": "1", "stderr": "1", "tail": str(tail)})
        except StepFailed:
            return ""
        if status != 200 or not isinstance(raw, bytes):
            return ""
        out, at = [], 0
        while at + 8 <= len(raw) and raw[at] in (0, 1, 2) and raw[at + 1:at + 4] == b"\0\0\0":
            size = int.from_bytes(raw[at + 4:at + 8], "big")
            out.append(raw[at + 8:at + 8 + size])
            at += 8 + size
        text = b"".join(out) if out else raw  # a container with a TTY streams plain bytes
        return text.decode("utf-8", "replace")

    def remove(self, name):
        """``docker rm -f``; True when gone (also when it was not there)."""
        try:
            return self.request("DELETE", f"/containers/{_quote(name)}", {"force": "1"})[0] in (204, 404)
        except StepFailed:
            return False

    def stop(self, name, seconds, timeout):
        """``docker stop -t SECONDS`` (SIGTERM, then SIGKILL); bounded by ``timeout``."""
        status, _ = self.request("POST", f"/containers/{_quote(name)}/stop", {"t": str(int(seconds))}, timeout=timeout)
        return status in (204, 304, 404)

    def image_digests(self, image):
        """The digests of ``image``'s local images (``docker images --digests IMAGE``)."""
        found = self.must("docker images", "GET", "/images/json",
                          {"digests": "1", "filters": json.dumps({"reference": [image]})})
        return {d.split("@", 1)[1] for item in found or [] for d in item.get("RepoDigests") or []
                if d.split("@", 1)[0] == image and "@" in d}

    def remove_image(self, ref):
        return self.request("DELETE", f"/images/{_quote(ref)}")[0] == 200
