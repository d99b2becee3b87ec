"""
saltpipe_app: deploy one container image BY DIGEST, blue/green behind the host's nginx.

.. code-block:: yaml

    app-deploy-saltpipe-app-deployed:
      saltpipe_app.deployed:
        - name: app
        - image: 127.0.0.1:5000/saltpipe/app
        - digest: sha256:0123...
        - port: 8080
        - slots: {blue: 18081, green: 18082}
        - upstream_file: /etc/nginx/saltpipe/app-upstream.conf

What ``deployed`` does, in order. Docker is driven through the engine's API on its unix
socket (``docker_socket``; see :class:`_Engine`), except ``docker pull``, which runs the CLI
(it holds the registry credentials); every nginx call is an argv list, never a shell string;
every value that reaches docker or nginx is validated first:

1. Nothing to do when the upstream file says the container of this digest serves and it is
   running, with no leftover containers: *no changes* (a second apply of a digest is a no-op).
2. ``docker pull image@digest`` (skipped when the image is already present).
3. Create and start the new container in the free blue/green slot, beside the old one
   (``docker run -d --restart unless-stopped -p <bind_address>:<slot port>:<port>``).
4. Wait for ``GET http://<bind_address>:<slot port><health_path>`` to answer 2xx within
   ``health_timeout`` (one 2xx counts; the container exiting fails fast), probed every 10 ms
   at first, backing off to ``health_interval``.
   On failure: remove the new container, leave the old one serving, fail the state.
5. Rewrite the upstream file atomically, ``nginx -t``, ``nginx -s reload`` (restored and
   rolled back if either fails), then wait (up to 5 s, polling /proc) until every worker of
   the nginx master (``nginx_pid_file``) that accepts connections is one the reload started:
   the reload is only a signal, and until then a new connection may still reach an old
   worker, which proxies to the old container (nginx retires its old workers about 0.1 s
   after it started the new ones). With ``settle=False`` (a rollout's batches before its
   last) only until the new workers are up: the old container keeps running through the
   switch grace, and the next batch's own start takes longer than that handover.
6. Hand the old container to a detached finisher and return: after ``switch_grace_seconds``
   it stops it (``docker stop -t <drain_seconds>``: SIGTERM, the app drains in-flight
   requests), removes it and prunes images beyond the last ``keep_images`` deployed. The
   finisher holds the app's drain lock until it is done, and every deploy takes that lock
   first, so the next deploy on this minion waits for the drain instead of cutting it short.

``test=True`` reports what would change and changes nothing.

The container gets ``SALTPIPE_IMAGE_DIGEST=<digest>`` in its environment (an image cannot
know its own digest; the deployer does). With ``progress`` (a tag prefix such as
``saltpipe/deploy/dev/minion``) each step fires ``<progress>/<step>`` to the master's bus
for ``saltpipe watch``: ``pull``, ``start``, ``healthy``, ``switched``, ``draining`` (the old
containers handed to the detached finisher, which drains, removes and prunes after the state
returned; ``drained`` instead when it had to drain in the state), ``current`` (nothing to do)
or ``failed`` (with the reason). Events carry the summary only, never app output.
"""

import fcntl
import http.client
import inspect
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger(__name__)

__virtualname__ = "saltpipe_app"

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
# [registry-host[:port]/]path-component(/path-component)* as in the distribution reference grammar.
IMAGE_RE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
HEALTH_PATH_RE = re.compile(r"/[A-Za-z0-9/_.~-]*")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
LABEL_KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
ADDRESS_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
# Written here on every switch, read by the saltpipe_app execution module (_modules/).
MARKER = "# saltpipe-current: "
# Health probing: first gap, growth factor (up to health_interval), exited-container check period.
PROBE_FIRST_SECONDS = 0.01
PROBE_BACKOFF = 1.2
INSPECT_EVERY_SECONDS = 0.25
# Seconds a deploy waits, beyond drain_seconds + switch_grace_seconds, for the previous
# deploy's drain on this minion to end (see _drain_lock).
DRAIN_WAIT_MARGIN_SECONDS = 30
# After `nginx -s reload` (a signal only): how long, and how often, to watch the nginx
# master's workers until every one that accepts connections is one the reload started.
RELOAD_WAIT_SECONDS = 5
RELOAD_POLL_SECONDS = 0.01
# The Docker Engine API's unix socket (pillar app:docker_socket).
DOCKER_SOCKET = "/var/run/docker.sock"


def __virtual__():
    return __virtualname__


class _Fail(Exception):
    """A deploy step failed; the message is the state's comment, ``detail`` app output."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail


# Between a comment's summary and its detail (app output: log tails, pre-switch output). The
# master keeps the detail to itself (saltpipe_core/results.py): events, the audit and
# notifications get the summary only.
DETAIL_MARK = "\n--- output ---\n"


def _with_detail(summary, detail):
    return f"{summary}{DETAIL_MARK}{detail}" if detail else summary


def _validate(name, image, digest, port, health_path, slots, bind_address, env, labels, nginx_pid_file=""):
    errors = []
    if not isinstance(nginx_pid_file, str) or (nginx_pid_file and not os.path.isabs(nginx_pid_file)):
        errors.append(f"invalid nginx_pid_file {nginx_pid_file!r} (want an absolute path, or '' to skip the reload wait)")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        errors.append(f"invalid app name {name!r}")
    if not isinstance(image, str) or not IMAGE_RE.fullmatch(image):
        errors.append(f"invalid image reference {image!r}")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        errors.append(f"invalid digest {digest!r} (want sha256:<64 hex>)")
    if not isinstance(health_path, str) or not HEALTH_PATH_RE.fullmatch(health_path):
        errors.append(f"invalid health path {health_path!r}")
    if not isinstance(bind_address, str) or not ADDRESS_RE.fullmatch(bind_address):
        errors.append(f"invalid bind address {bind_address!r}")
    ports = [port] + list((slots or {}).values())
    for value in ports:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            errors.append(f"invalid port {value!r}")
    if not isinstance(slots, dict) or len(slots) != 2:
        errors.append("slots must map exactly two slot names to host ports")
    else:
        for slot in slots:
            if not isinstance(slot, str) or not NAME_RE.fullmatch(slot):
                errors.append(f"invalid slot name {slot!r}")
        if len(set(slots.values())) != 2:
            errors.append("the two slots need different ports")
    for key, value in (env or {}).items():
        if not ENV_KEY_RE.fullmatch(str(key)) or "\n" in str(value) or "\x00" in str(value):
            errors.append(f"invalid environment entry {key!r}")
    for key, value in (labels or {}).items():
        if not LABEL_KEY_RE.fullmatch(str(key)) or "\n" in str(value) or len(str(value)) > 256:
            errors.append(f"invalid label {key!r}")
        if str(key).startswith("saltpipe.") and key in ("saltpipe.app", "saltpipe.digest", "saltpipe.slot"):
            errors.append(f"label {key!r} is reserved")
    return errors


def _run(argv, ok_codes=(0,), timeout=None):
    res = __salt__["cmd.run_all"](
        [str(a) for a in argv],
        python_shell=False,
        ignore_retcode=True,
        output_loglevel="debug",
        **({"timeout": int(timeout)} if timeout else {}),
    )
    res["ok"] = res.get("retcode") in ok_codes
    return res


class _Docker:
    """The docker CLI, for ``docker pull`` only (and the pre-switch run): it holds the
    registry credentials and helpers such as ecr-login in its ``--config`` directory.
    Everything else goes to the engine's API (:class:`_Engine`)."""

    def __init__(self, cli, config_dir, timeout=None):
        self.cli = cli
        self.config_dir = config_dir
        # Every docker call is bounded: the master's claim on the deploy outlives the state run.
        self.timeout = timeout

    def argv(self, *args):
        """The CLI with ``--config`` when registry credentials were written there."""
        argv = [self.cli]
        if self.config_dir and os.path.isfile(os.path.join(self.config_dir, "config.json")):
            argv += ["--config", self.config_dir]
        return argv + [str(a) for a in args]

    def __call__(self, *args, timeout=None):
        return _run(self.argv(*args), timeout=timeout or self.timeout)

    def must(self, what, *args, timeout=None):
        res = self(*args, timeout=timeout)
        if not res["ok"]:
            raise _Fail(f"{what} failed: {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}")
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


class _Engine:
    """
    The Docker Engine API on its unix socket: what the deploy and its finisher ask of docker.
    Why not the CLI: each ``docker`` run is a new Go process (about 25 ms of a core on an idle
    minion, several times that on a loaded one); an API request costs about 1 ms, and one
    request lists the app's containers with their labels (the CLI needed ps + inspect). Why
    not the Python ``docker`` library: it is not in Salt's Python on the minions, and this
    needs eight endpoints. Every request is bounded by ``timeout`` (per socket operation).
    """

    def __init__(self, socket_path, timeout=60):
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
            raise _Fail(f"docker engine {method} {path.split('?')[0]}: {type(exc).__name__}: {exc}"[:500]) from exc
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
            raise _Fail(f"{what} failed ({status}): {str(message).strip()[:500]}")
        return data

    def containers(self, app):
        """``{name: {name, running, digest, slot}}`` of the app's containers (label ``saltpipe.app``)."""
        found = self.must("docker ps", "GET", "/containers/json",
                          {"all": "1", "filters": json.dumps({"label": [f"saltpipe.app={app}"]})})
        out = {}
        for item in found or []:
            labels = item.get("Labels") or {}
            for cname in (n.lstrip("/") for n in item.get("Names") or []):
                out[cname] = {
                    "name": cname,
                    "running": item.get("State") == "running",
                    "digest": labels.get("saltpipe.digest", ""),
                    "slot": labels.get("saltpipe.slot", ""),
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
        except _Fail:
            return None
        return bool(((data or {}).get("State") or {}).get("Running")) if status == 200 and isinstance(data, dict) else None

    def logs(self, name, tail=20):
        """The last ``tail`` lines of stdout and stderr (the engine's multiplexed stream, read apart)."""
        try:
            status, raw = self.request("GET", f"/containers/{_quote(name)}/logs",
                                       {"stdout": "1", "stderr": "1", "tail": str(tail)})
        except _Fail:
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
        except _Fail:
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


def _quote(part):
    """A name or image reference as one URL path segment (the engine routes ``/images/{name:.*}``)."""
    return urllib.parse.quote(str(part), safe="/:@")


def _read_current(upstream_file):
    """The serving container's marker, read by the execution module (one reader of the format)."""
    if "saltpipe_app.marker" not in __salt__:
        raise _Fail("the saltpipe_app execution module is not synced (saltutil.sync_modules, or sync_mods=modules)")
    return __salt__["saltpipe_app.marker"](upstream_file)


def _upstream_text(app, server, current):
    return (
        "# File managed by Salt (saltpipe app.deploy); rewritten on every switch.\n"
        f"{MARKER}{json.dumps(current, sort_keys=True)}\n"
        f"upstream {app} {{\n"
        f"    server {server};\n"
        "    keepalive 16;\n"
        "}\n"
    )


def _write_atomic(path, text):
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".saltpipe-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _accepting_workers(pid_file):
    """
    PIDs of the nginx master's workers that still accept connections, or None when no
    master is found (no pid file: nothing to wait for). A worker told to stop by a reload
    retitles itself "worker process is shutting down" and closes its listen sockets.
    """
    try:
        with open(pid_file, encoding="ascii") as fh:
            master = int(fh.read().strip())
    except (OSError, ValueError):
        return None
    workers = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            if ppid != master:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                title = fh.read()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile, or not readable
        if b"worker process" in title and b"shutting down" not in title:
            workers.add(int(entry))
    return workers


def _await_reload(pid_file, before, bound=RELOAD_WAIT_SECONDS, settle=True):
    """
    After the reload signal: with ``settle``, wait until every accepting worker is new (none
    of ``before``): from then on each new connection gets the new upstream. Without it, only
    until the new workers are up (as many as there were): the new upstream serves, and the
    old workers take connections for nginx's own handover (it tells them to stop about 0.1 s
    after it started the new ones) - their requests still reach the old container, which
    runs through the switch grace. True when seen, False when ``bound`` s passed first.
    """
    if before is None:
        return True
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        now = _accepting_workers(pid_file)
        if now is None or (now and not now & before):
            time.sleep(RELOAD_POLL_SECONDS)  # the retitle comes just before the close
            return True
        if not settle and len(now - before) >= max(1, len(before)):
            return True
        time.sleep(RELOAD_POLL_SECONDS)
    return False


def _wait_healthy(engine, container, url, timeout, interval):
    """
    One 2xx from ``url`` within ``timeout`` s. Probed every 10 ms at first, backing off
    (x1.2) to ``interval`` (the longest gap, 1 s by default): the app's first healthy answer
    is seen within about 10 ms of it, as a bare ``curl`` loop would. Whether the container
    exited is asked of the engine every 0.25 s (an exited app fails the gate at once).
    """
    started = time.monotonic()
    deadline = started + timeout
    last = "no answer yet"
    pause = min(PROBE_FIRST_SECONDS, interval)
    next_inspect = started + INSPECT_EVERY_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, min(5.0, interval * 5))) as resp:
                if 200 <= resp.status < 300:
                    return True, f"{url} answered {resp.status}"
                last = f"{url} answered {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"{url} answered {exc.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            last = f"{url}: {getattr(exc, 'reason', exc)}"
        now = time.monotonic()
        if now >= next_inspect:
            next_inspect = now + INSPECT_EVERY_SECONDS
            if engine.running(container) is False:
                return False, f"container {container} exited; last probe: {last}"
        if time.monotonic() >= deadline:
            return False, f"no 2xx from {url} within {timeout}s; last probe: {last}"
        time.sleep(pause)
        pause = min(interval, pause * PROBE_BACKOFF)


class _Progress:
    """
    The deploy's progress events (``<tag>/<step>``), best effort: an event that cannot be
    sent never fails a deploy. On a minion they go through one connection to its event bus
    for the whole deploy (``event.fire_master`` opens and closes one per event, a few ms
    each on the deploy's path); elsewhere (no minion bus), through ``event.fire_master``.
    """

    def __init__(self, tag):
        self.tag = str(tag or "")
        self.bus = None
        self.tried = False

    def _open(self):
        self.tried = True
        if __opts__.get("__role") != "minion" or not __opts__.get("sock_dir"):
            return
        try:
            import salt.utils.event  # pylint: disable=import-outside-toplevel

            self.bus = salt.utils.event.MinionEvent(__opts__, listen=False)
        except Exception:  # pylint: disable=broad-except
            log.debug("no minion event bus for progress events", exc_info=True)

    def __call__(self, step, **data):
        if not self.tag:
            return
        if not self.tried:
            self._open()
        payload, tag = dict(data, step=step), f"{self.tag}/{step}"
        try:
            if self.bus is not None:
                # What event.fire_master sends: the minion forwards it to the master.
                self.bus.fire_event({"data": payload, "tag": tag, "events": None, "pretag": None}, "fire_master")
            elif "event.fire_master" in __salt__:
                __salt__["event.fire_master"](payload, tag)
        except Exception:  # pylint: disable=broad-except
            log.debug("progress event %s not sent", step, exc_info=True)

    def close(self):
        if self.bus is not None:
            try:
                self.bus.destroy()
            except Exception:  # pylint: disable=broad-except
                log.debug("progress event bus not closed cleanly", exc_info=True)
            self.bus = None


def _history_path(app):
    return os.path.join(__opts__["cachedir"], "saltpipe", f"{app}-history.json")


def _record_history(app, digest, keep):
    path = _history_path(app)
    try:
        with open(path, encoding="utf-8") as fh:
            history = json.load(fh)
    except (OSError, ValueError):
        history = []
    history = [digest] + [d for d in history if d != digest]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write_atomic(path, json.dumps(history[:50]))
    return history


# -- drain and prune off the critical path ------------------------------------------
# The old container's drain (SIGTERM, in-flight requests finish, SIGKILL after drain_seconds),
# its removal and the image pruning used to run inside the state, so every batch of a rollout
# waited for them (~2 s: the switch grace, `docker stop`, `docker rm`, `docker images` and
# `rmi`). Now the state switches the proxy, then hands them to a detached finisher (this same
# file run as a script, see the bottom) and returns: the next batch starts as soon as this
# minion's new container is healthy and serving. Nothing is skipped: the finisher holds this
# app's drain lock (flock, handed over as an open descriptor, so there is no gap between the
# state and the finisher) until the old container stopped and the images were pruned, and
# every deploy of the app on this minion takes that lock before it looks at the containers:
# a following deploy (the next push, a rollback of this minion) waits for the drain, never
# cuts it short. The finisher logs one JSON line per drain to <cachedir>/saltpipe/<app>-drain.log.
def _drain_paths(app):
    base = os.path.join(__opts__["cachedir"], "saltpipe")
    return os.path.join(base, f"{app}-drain.lock"), os.path.join(base, f"{app}-drain.log")


def _drain_lock(app, wait):
    """The app's drain lock (an open, locked descriptor); waits at most ``wait`` s for a previous drain."""
    lock_path, _ = _drain_paths(app)
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise _Fail(f"the previous deploy's drain of {app} on this minion did not end within {wait:.0f}s")
            time.sleep(0.05)


def _spawn_drain(lock_fd, plan):
    """Start the detached finisher with the locked descriptor; it releases the lock when done."""
    _, log_path = _drain_paths(plan["app"])
    plan = dict(plan, lock_fd=lock_fd, log=log_path)
    subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, os.path.abspath(__file__), "--drain", json.dumps(plan)],
        pass_fds=(lock_fd,),
        start_new_session=True,  # outlives the minion's job process
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )


def _pulled_since(cachedir, app, since):
    """Digests ``saltpipe_app.pull`` (the next rollout's pre-pull, _modules/) started
    pulling at or after ``since`` (epoch s), from its ``<cachedir>/saltpipe/<app>-prepull.log``:
    a finisher planned before them must not prune them."""
    path = os.path.join(cachedir, "saltpipe", f"{app}-prepull.log")
    out = set()
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and float(entry.get("at") or 0) >= since and DIGEST_RE.fullmatch(str(entry.get("digest"))):
                    out.add(entry["digest"])
    except OSError:
        pass
    return out


def _serving_container(upstream_file):
    """The container the upstream file names now (the marker; the finisher has no Salt loader
    for ``saltpipe_app.marker``, so it reads the same line itself)."""
    try:
        with open(upstream_file, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(MARKER):
                    return (json.loads(line[len(MARKER):]) or {}).get("container")
    except (OSError, ValueError, AttributeError):
        pass
    return None


def _drain_main(plan):
    """
    The finisher: switch grace, stop (drain) + remove the old containers, prune images; then
    release the drain lock. Every engine call is bounded (``docker stop``: drain + 30 s, the
    others: ``command_timeout``). Fencing on the minion: a container the upstream file names
    when its turn comes is never stopped (only a deploy moves the upstream, and every deploy
    waits for this lock), and an image a later pre-pull fetched is never pruned.
    """
    engine = _Engine(plan["socket"], int(plan.get("command_timeout") or 60))
    errors = []

    def attempt(what, call, *args, **kwargs):
        try:
            if call(*args, **kwargs):
                return True
            errors.append(f"{what}: refused")
        except _Fail as exc:
            errors.append(f"{what}: {exc}"[:300])
        return False

    started = time.time()
    stopped, kept, pruned = [], [], []
    try:
        if plan.get("grace"):
            time.sleep(float(plan["grace"]))  # nginx's workers pick up the reload
        drain = int(plan["drain"])
        for cname in plan["stop"]:
            if plan.get("upstream_file") and _serving_container(plan["upstream_file"]) == cname:
                kept.append(cname)
                continue
            attempt("docker stop", engine.stop, cname, drain, timeout=drain + 30)
            attempt("docker rm", engine.remove, cname)
            stopped.append(cname)
        keep = set(plan["retained"])
        if plan.get("cachedir"):
            keep |= _pulled_since(plan["cachedir"], plan["app"], float(plan.get("planned_at") or started))
        try:
            digests = engine.image_digests(plan["image"])
        except _Fail as exc:
            errors.append(f"docker images: {exc}"[:300])
            digests = set()
        for old_digest in sorted(d for d in digests if DIGEST_RE.fullmatch(d)):
            if old_digest not in keep and attempt("docker rmi", engine.remove_image, f"{plan['image']}@{old_digest}"):
                pruned.append(old_digest)
        entry = {"at": round(started, 3), "took": round(time.time() - started, 3), "stopped": stopped, "pruned_images": pruned}
        if kept:
            entry["kept_serving"] = kept
        if errors:
            entry["errors"] = errors[:20]
        try:
            with open(plan["log"], "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
        except OSError:
            pass
        return entry
    finally:
        if plan.get("lock_fd") is not None:
            os.close(int(plan["lock_fd"]))


def deployed(
    name,
    image,
    digest,
    port,
    health_path="/healthz",
    health_timeout=30,
    health_interval=1,
    drain_seconds=10,
    switch_grace_seconds=1,
    keep_images=3,
    slots=None,
    bind_address="127.0.0.1",
    upstream_file="/etc/nginx/saltpipe/app-upstream.conf",
    nginx_test_cmd=("nginx", "-t", "-q"),
    nginx_reload_cmd=("nginx", "-s", "reload"),
    nginx_pid_file="/run/nginx.pid",
    docker_cli="/usr/bin/docker",
    docker_config_dir="",
    env=None,
    labels=None,
    progress="",
    pull_timeout=120,
    command_timeout=60,
    docker_socket=DOCKER_SOCKET,
    settle=True,
):
    """
    Make ``image@digest`` the container that serves app ``name`` behind nginx. ``settle``
    (default): return once no old nginx worker accepts connections; False (a rollout's
    batches before its last): once the new workers serve (see ``_await_reload``).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    slots = dict(slots or {"blue": 18081, "green": 18082})
    env = dict(env or {})
    labels = {k: str(v) for k, v in (labels or {}).items()}
    errors = _validate(name, image, digest, port, health_path, slots, bind_address, env, labels, nginx_pid_file)
    if not isinstance(docker_socket, str) or not os.path.isabs(docker_socket):
        errors.append(f"invalid docker_socket {docker_socket!r} (want the absolute path of the engine's unix socket)")
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    env["SALTPIPE_IMAGE_DIGEST"] = digest
    ref = f"{image}@{digest}"
    test = bool(__opts__.get("test"))
    progress = _Progress("" if test else progress)
    docker = _Docker(docker_cli, docker_config_dir, command_timeout)
    engine = _Engine(docker_socket, command_timeout)

    # The app's drain lock (see _drain_paths): wait for a previous deploy's detached
    # drain on this minion before looking at the containers; handed to this deploy's own
    # finisher after the switch, released on every other way out.
    hold = {"fd": None}
    if not test:
        try:
            hold["fd"] = _drain_lock(name, float(drain_seconds) + float(switch_grace_seconds) + DRAIN_WAIT_MARGIN_SECONDS)
        except (_Fail, OSError) as exc:
            ret["comment"] = str(exc)
            return ret
    try:
        return _deploy_locked(
            ret, hold, name, image, digest, port, ref, test, docker, engine, health_path, health_timeout,
            health_interval, drain_seconds, switch_grace_seconds, keep_images, slots, bind_address,
            upstream_file, nginx_test_cmd, nginx_reload_cmd, nginx_pid_file, env, labels,
            progress, pull_timeout, bool(settle),
        )
    finally:
        progress.close()
        if hold["fd"] is not None:
            os.close(hold["fd"])


def _deploy_locked(
    ret, hold, name, image, digest, port, ref, test, docker, engine, health_path, health_timeout,
    health_interval, drain_seconds, switch_grace_seconds, keep_images, slots, bind_address,
    upstream_file, nginx_test_cmd, nginx_reload_cmd, nginx_pid_file, env, labels,
    progress, pull_timeout, settle,
):  # pylint: disable=too-many-arguments
    """The body of ``deployed`` (holding the drain lock unless ``test``)."""
    if not os.path.exists(engine.socket_path):
        ret["result"] = None if test else False
        ret["comment"] = f"docker engine socket {engine.socket_path} not found (is docker running?)" + (
            f"; would deploy {ref}" if test else ""
        )
        return ret
    try:
        containers = engine.containers(name)
        current = _read_current(upstream_file) or {}
    except _Fail as exc:
        ret["result"] = None if test else False
        ret["comment"] = f"{exc}" + (f"; would deploy {ref}" if test else "")
        return ret

    cur = containers.get(current.get("container", ""))
    serving = bool(
        cur
        and cur["running"]
        and cur["digest"] == digest
        and slots.get(cur["slot"]) == current.get("port")
    )
    if serving:
        leftovers = sorted(n for n in containers if n != cur["name"])
        if not leftovers:
            ret["result"] = True
            ret["comment"] = f"{name} already serves {digest} from {cur['name']}"
            progress("current", digest=digest, container=cur["name"])
            return ret
        if test:
            ret["result"] = None
            ret["changes"] = {"removed": leftovers}
            ret["comment"] = f"{name} serves {digest}; would remove leftover containers"
            return ret
        for leftover in leftovers:
            engine.remove(leftover)
        ret["result"] = True
        ret["changes"] = {"removed": leftovers}
        ret["comment"] = f"{name} serves {digest}; removed leftover containers"
        return ret

    slot_names = sorted(slots)
    new_slot = slot_names[0]
    if cur and cur["slot"] in slots:
        new_slot = slot_names[1] if cur["slot"] == slot_names[0] else slot_names[0]
    new_name = f"{name}-{new_slot}"
    new_port = slots[new_slot]
    old = {"container": cur["name"], "digest": cur["digest"]} if cur else None
    new = {"container": new_name, "digest": digest, "slot": new_slot, "port": new_port}

    if test:
        ret["result"] = None
        ret["changes"] = {"old": old, "new": new}
        ret["comment"] = f"would deploy {ref} as {new_name} and switch the proxy to {bind_address}:{new_port}"
        return ret

    started = time.monotonic()
    new_started = False
    try:
        present = engine.image_present(ref)
        if not present:
            docker.must(f"docker pull {ref}", "pull", ref, timeout=pull_timeout)
        progress("pull", digest=digest, image=ref, present=present, seconds=round(time.monotonic() - started, 1))
        if new_name in containers:
            engine.remove(new_name)
        new_started = True
        engine.run(
            new_name, ref, port, bind_address, new_port,
            dict(labels, **{"saltpipe.app": name, "saltpipe.digest": digest, "saltpipe.slot": new_slot}), env,
        )
        progress("start", digest=digest, container=new_name, slot=new_slot, port=new_port)

        url = f"http://{bind_address}:{new_port}{health_path}"
        healthy, detail = _wait_healthy(engine, new_name, url, health_timeout, health_interval)
        if not healthy:
            tail = engine.logs(new_name).strip()[-800:]
            raise _Fail(f"health check failed: {detail}", f"container log tail:\n{tail}" if tail else "")
        progress("healthy", digest=digest, container=new_name, detail=detail)

        previous_text = None
        if os.path.exists(upstream_file):
            with open(upstream_file, encoding="utf-8") as fh:
                previous_text = fh.read()
        _write_atomic(upstream_file, _upstream_text(name, f"{bind_address}:{new_port}", new))
        old_workers = _accepting_workers(nginx_pid_file)
        for what, cmd in (("nginx config test", nginx_test_cmd), ("nginx reload", nginx_reload_cmd)):
            res = _run(list(cmd))
            if not res["ok"]:
                if previous_text is not None:
                    _write_atomic(upstream_file, previous_text)
                else:
                    os.unlink(upstream_file)
                _run(list(nginx_reload_cmd))
                raise _Fail(f"{what} failed: {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}")
        if not _await_reload(nginx_pid_file, old_workers, settle=settle):
            log.warning("saltpipe: nginx workers of %s not renewed %ss after the reload", nginx_pid_file, RELOAD_WAIT_SECONDS)
        progress("switched", digest=digest, container=new_name, upstream=f"{bind_address}:{new_port}")
    except _Fail as exc:
        progress("failed", digest=digest, container=new_name, reason=str(exc)[:500])
        if new_started:
            engine.remove(new_name)
        ret["changes"] = {"rolled_back": new}
        ret["comment"] = _with_detail(
            f"{exc}; removed {new_name}; "
            + (f"{old['container']} ({old['digest']}) keeps serving" if old else "nothing was serving"),
            exc.detail,
        )
        return ret

    # Switched. The switch grace, the old container's drain (SIGTERM, then SIGKILL
    # after drain_seconds), its removal and the image pruning run in the detached finisher,
    # which takes over the drain lock (see _drain_paths): the state returns now. The
    # finisher's docker calls are bounded as the state's are (stop: drain_seconds + 30 s,
    # the others: command_timeout), and it never stops the container the upstream names.
    history = _record_history(name, digest, keep_images)
    retained = sorted(set(history[: max(1, int(keep_images))]))
    draining = sorted(n for n in containers if n != new_name)
    plan = {
        "app": name, "socket": engine.socket_path, "grace": float(switch_grace_seconds or 0),
        "drain": int(drain_seconds), "stop": draining, "image": image, "retained": retained,
        "command_timeout": int(engine.timeout or 60), "upstream_file": upstream_file,
        "planned_at": round(time.time(), 3), "cachedir": __opts__["cachedir"],
    }
    mode = "detached"
    try:
        _spawn_drain(hold["fd"], plan)
    except OSError as exc:
        mode = "in the state"
        # No finisher: drain here, as before (the old container must not keep running).
        log.warning("saltpipe: detached drain of %s not started (%s); draining in the state", name, exc)
        lock_fd, hold["fd"] = hold["fd"], None
        entry = _drain_main(dict(plan, lock_fd=lock_fd, log=_drain_paths(name)[1]))
        progress("drained", digest=digest, stopped=entry["stopped"], drain_seconds=int(drain_seconds))
    else:
        os.close(hold["fd"])  # the finisher holds its own copy of the locked descriptor
        hold["fd"] = None
        # Progress: the old containers are handed to the finisher (no app output in events).
        progress("draining", digest=digest, stopped=draining, drain_seconds=int(drain_seconds), detached=True)

    ret["result"] = True
    # "stopped": the old containers, drained and removed by the finisher (every local image
    # of the repository outside the last keep_images deployed goes too, including images
    # pulled for a deploy that failed).
    ret["changes"] = {"old": old, "new": new, "stopped": draining, "drain": mode}
    ret["comment"] = (
        f"{name} now serves {digest} from {new_name} ({bind_address}:{new_port}) "
        f"after {time.monotonic() - started:.1f}s"
        + (f"; {'draining' if mode == 'detached' else 'drained'} {', '.join(draining)}" if draining else "")
    )
    return ret


def planned(name, generation="", pull=True, **kwargs):
    """
    Plan the deploy that ``deployed`` would make with the same arguments, and (``pull``)
    pull its image: the rollout's prepare round (``app.prepare``) on every target at once,
    before its first batch, while the old version serves; and the first step of
    ``app.deploy`` (``pull: false``: ``deployed`` pulls next). The plan (the validated
    arguments, the master's ``generation`` of states and pillar it was rendered under, and a
    fingerprint of the grains) goes to ``<cachedir>/saltpipe/deploy-plan.json`` (mode 0600,
    one plan: the newest); the next deploy is then one ``saltpipe_app.deploy`` call, which
    calls ``deployed`` with it - no pillar compile, no render, no sync. Touches no container
    and no proxy. The pull is best effort (``saltpipe_app.pull``, noted for the drain
    finisher): ``deployed`` pulls again, and fails, when it did not work.
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    args = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    args["name"] = name
    unknown = sorted(set(args) - set(inspect.signature(deployed).parameters))
    if unknown:
        ret["comment"] = f"unknown argument(s) of saltpipe_app.deployed: {', '.join(unknown)}"
        return ret
    errors = _validate(
        name, args.get("image"), args.get("digest"), args.get("port"), args.get("health_path", "/healthz"),
        dict(args.get("slots") or {"blue": 18081, "green": 18082}), args.get("bind_address", "127.0.0.1"),
        dict(args.get("env") or {}), {k: str(v) for k, v in (args.get("labels") or {}).items()},
        args.get("nginx_pid_file", ""),
    )
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    digest = args["digest"]
    if __opts__.get("test"):
        ret["result"] = None
        ret["comment"] = f"would plan the deploy of {digest}" + (" and pull it" if pull else "")
        return ret
    __salt__["saltpipe_app.write_plan"](digest, args, generation)
    ret["result"] = True
    ret["comment"] = f"planned {digest}"
    if not pull:
        return ret
    pulled = __salt__["saltpipe_app.pull"](digest, timeout=args.get("pull_timeout"))
    ret["comment"] += f"; {pulled.get('comment', '')}"
    if pulled.get("pulled"):
        ret["changes"] = {"pulled": f"{args['image']}@{digest}"}
    return ret


def pre_switched(
    name,
    image,
    digest,
    command,
    timeout=600,
    docker_cli="/usr/bin/docker",
    docker_config_dir="",
    env=None,
    pull_timeout=120,
):
    """
    Run ``command`` (an argv list: it replaces the image's CMD, its ENTRYPOINT applies) once
    in a throw-away container of the NEW ``image@digest``, before any traffic moves - e.g.
    database migrations. Exit 0 passes; anything else, or ``timeout`` seconds, fails the
    state (and so the deploy: the orchestration has not touched a serving container yet).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    env = dict(env or {})
    errors = _validate(name, image, digest, 1, "/", {"a": 1, "b": 2}, "127.0.0.1", env, {})
    if not isinstance(command, list) or not command or len(command) > 64 or not all(
        isinstance(a, str) and a and len(a) <= 4096 and "\0" not in a for a in command
    ):
        errors.append("command must be a non-empty list of strings (an argv, no shell)")
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    ref = f"{image}@{digest}"
    if __opts__.get("test"):
        ret["result"] = None
        ret["comment"] = f"would run {command!r} from {ref}"
        return ret
    docker = _Docker(docker_cli, docker_config_dir, 60)
    container = f"{name}-preswitch"
    try:
        if not docker("image", "inspect", ref)["ok"]:
            docker.must(f"docker pull {ref}", "pull", ref, timeout=pull_timeout)
    except _Fail as exc:
        ret["comment"] = str(exc)
        return ret
    docker("rm", "-f", container)
    args = ["run", "--rm", "--name", container, "--label", f"saltpipe.preswitch={name}"]
    env["SALTPIPE_IMAGE_DIGEST"] = digest
    for key in sorted(env):
        args += ["-e", f"{key}={env[key]}"]
    argv = docker.argv(*args, ref, *command)
    started = time.monotonic()
    res = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True, timeout=int(timeout), output_loglevel="debug")
    output = ((res.get("stdout") or "") + (res.get("stderr") or "")).strip()[-800:]
    if res.get("retcode") != 0:
        docker("rm", "-f", container)
        ret["comment"] = _with_detail(
            f"pre-switch command exited {res.get('retcode')} after {time.monotonic() - started:.1f}s", output
        )
        return ret
    ret["result"] = True
    ret["changes"] = {"ran": command, "image": ref}
    ret["comment"] = _with_detail(f"pre-switch command passed in {time.monotonic() - started:.1f}s", output[-300:])
    return ret


def absent(name, docker_socket=DOCKER_SOCKET):
    """
    Remove every container of app ``name`` (label ``saltpipe.app=<name>``).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        ret["comment"] = f"invalid app name {name!r}"
        return ret
    if not isinstance(docker_socket, str) or not os.path.exists(docker_socket):
        ret["result"] = True
        ret["comment"] = "no docker engine (socket not found); nothing to remove"
        return ret
    engine = _Engine(docker_socket)
    try:
        names = sorted(engine.containers(name))
    except _Fail as exc:
        ret["comment"] = str(exc)
        return ret
    if not names:
        ret["result"] = True
        ret["comment"] = f"no containers of {name}"
        return ret
    if __opts__.get("test"):
        ret["result"] = None
        ret["changes"] = {"removed": names}
        return ret
    for cname in names:
        engine.remove(cname)
    ret["result"] = True
    ret["changes"] = {"removed": names}
    return ret


if __name__ == "__main__":
    # The detached drain finisher started by _spawn_drain (not a Salt entry point).
    if len(sys.argv) == 3 and sys.argv[1] == "--drain":
        _drain_main(json.loads(sys.argv[2]))
        sys.exit(0)
    sys.exit(2)
