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

What ``deployed`` does, in order (every docker/nginx call is an argv list, never a shell
string, and every value that reaches an argv is validated first):

1. Nothing to do when the upstream file says the container of this digest serves and it is
   running, with no leftover containers: *no changes* (a second apply of a digest is a no-op).
2. ``docker pull image@digest`` (skipped when the image is already present).
3. ``docker run`` the new container in the free blue/green slot, beside the old one.
4. Wait for ``GET http://<bind_address>:<slot port><health_path>`` to answer 2xx within
   ``health_timeout`` (one 2xx counts; the container exiting fails fast).
   On failure: remove the new container, leave the old one serving, fail the state.
5. Rewrite the upstream file atomically, ``nginx -t``, ``nginx -s reload`` (restored and
   rolled back if either fails).
6. Stop the old container with ``docker stop -t <drain_seconds>`` (SIGTERM: the app drains
   in-flight requests) and remove it; prune images beyond the last ``keep_images`` deployed.

``test=True`` reports what would change and changes nothing.

The container gets ``SALTPIPE_IMAGE_DIGEST=<digest>`` in its environment (an image cannot
know its own digest; the deployer does). With ``progress`` (a tag prefix such as
``saltpipe/deploy/dev/minion``) each step fires ``<progress>/<step>`` to the master's bus
for ``saltpipe watch``: ``pull``, ``start``, ``healthy``, ``switched``, ``drained``,
``current`` (nothing to do) or ``failed`` (with the reason).
"""

import json
import logging
import os
import re
import shutil
import tempfile
import time
import urllib.error
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


def _validate(name, image, digest, port, health_path, slots, bind_address, env, labels):
    errors = []
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

    def containers(self, app):
        res = self("ps", "-a", "--filter", f"label=saltpipe.app={app}", "--format", "{{.Names}}")
        if not res["ok"]:
            raise _Fail(f"docker ps failed: {res.get('stderr', '').strip()[:300]}")
        names = [n for n in res["stdout"].split() if n]
        out = {}
        if not names:
            return out
        res = self.must("docker inspect", "inspect", *names)
        for item in json.loads(res["stdout"] or "[]"):
            labels = (item.get("Config") or {}).get("Labels") or {}
            cname = item.get("Name", "").lstrip("/")
            out[cname] = {
                "name": cname,
                "running": bool((item.get("State") or {}).get("Running")),
                "digest": labels.get("saltpipe.digest", ""),
                "slot": labels.get("saltpipe.slot", ""),
            }
        return out


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


def _wait_healthy(docker, container, url, timeout, interval):
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, min(5.0, interval * 5))) as resp:
                if 200 <= resp.status < 300:
                    return True, f"{url} answered {resp.status}"
                last = f"{url} answered {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"{url} answered {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = f"{url}: {getattr(exc, 'reason', exc)}"
        state = docker("inspect", "--format", "{{.State.Running}}", container)
        if state["ok"] and state["stdout"].strip() == "false":
            return False, f"container {container} exited; last probe: {last}"
        if time.monotonic() >= deadline:
            return False, f"no 2xx from {url} within {timeout}s; last probe: {last}"
        time.sleep(interval)


def _progress(tag, step, **data):
    """One progress event (best effort: an event that cannot be sent never fails a deploy)."""
    if not tag or "event.fire_master" not in __salt__:
        return
    try:
        __salt__["event.fire_master"](dict(data, step=step), f"{tag}/{step}")
    except Exception:  # pylint: disable=broad-except
        log.debug("progress event %s not sent", step, exc_info=True)


def _history_path(app):
    return os.path.join(__opts__["cachedir"], "saltpipe", f"{app}-history.json")


def _local_digests(docker, image):
    """Repository digests of the local images of ``image`` (a repository, no tag)."""
    res = docker("images", "--digests", "--no-trunc", "--format", "{{.Digest}}", image)
    lines = (res.get("stdout") or "").split() if res["ok"] else []
    return sorted({d for d in lines if d.startswith("sha256:")})


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
    docker_cli="/usr/bin/docker",
    docker_config_dir="",
    env=None,
    labels=None,
    progress="",
    pull_timeout=120,
    command_timeout=60,
):
    """
    Make ``image@digest`` the container that serves app ``name`` behind nginx.
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    slots = dict(slots or {"blue": 18081, "green": 18082})
    env = dict(env or {})
    labels = {k: str(v) for k, v in (labels or {}).items()}
    errors = _validate(name, image, digest, port, health_path, slots, bind_address, env, labels)
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    env["SALTPIPE_IMAGE_DIGEST"] = digest
    ref = f"{image}@{digest}"
    test = bool(__opts__.get("test"))
    progress = "" if test else str(progress or "")
    docker = _Docker(docker_cli, docker_config_dir, command_timeout)

    if not shutil.which(docker_cli) and not os.path.isfile(docker_cli):
        ret["result"] = None if test else False
        ret["comment"] = f"docker CLI {docker_cli} not found" + (f"; would deploy {ref}" if test else "")
        return ret
    try:
        containers = docker.containers(name)
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
            _progress(progress, "current", digest=digest, container=cur["name"])
            return ret
        if test:
            ret["result"] = None
            ret["changes"] = {"removed": leftovers}
            ret["comment"] = f"{name} serves {digest}; would remove leftover containers"
            return ret
        for leftover in leftovers:
            docker("rm", "-f", leftover)
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
        present = docker("image", "inspect", ref)["ok"]
        if not present:
            docker.must(f"docker pull {ref}", "pull", ref, timeout=pull_timeout)
        _progress(progress, "pull", digest=digest, image=ref, present=present, seconds=round(time.monotonic() - started, 1))
        if new_name in containers:
            docker("rm", "-f", new_name)
        argv = [
            "run", "-d", "--name", new_name, "--restart", "unless-stopped",
            "-p", f"{bind_address}:{new_port}:{port}",
            "--label", f"saltpipe.app={name}",
            "--label", f"saltpipe.digest={digest}",
            "--label", f"saltpipe.slot={new_slot}",
        ]
        for key in sorted(labels):
            argv += ["--label", f"{key}={labels[key]}"]
        for key in sorted(env):
            argv += ["-e", f"{key}={env[key]}"]
        argv.append(ref)
        new_started = True
        docker.must(f"docker run {new_name}", *argv)
        _progress(progress, "start", digest=digest, container=new_name, slot=new_slot, port=new_port)

        url = f"http://{bind_address}:{new_port}{health_path}"
        healthy, detail = _wait_healthy(docker, new_name, url, health_timeout, health_interval)
        if not healthy:
            logs = docker("logs", "--tail", "20", new_name)
            tail = ((logs.get("stdout") or "") + (logs.get("stderr") or "")).strip()[-800:]
            raise _Fail(f"health check failed: {detail}", f"container log tail:\n{tail}" if tail else "")
        _progress(progress, "healthy", digest=digest, container=new_name, detail=detail)

        previous_text = None
        if os.path.exists(upstream_file):
            with open(upstream_file, encoding="utf-8") as fh:
                previous_text = fh.read()
        _write_atomic(upstream_file, _upstream_text(name, f"{bind_address}:{new_port}", new))
        for what, cmd in (("nginx config test", nginx_test_cmd), ("nginx reload", nginx_reload_cmd)):
            res = _run(list(cmd))
            if not res["ok"]:
                if previous_text is not None:
                    _write_atomic(upstream_file, previous_text)
                else:
                    os.unlink(upstream_file)
                _run(list(nginx_reload_cmd))
                raise _Fail(f"{what} failed: {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}")
        _progress(progress, "switched", digest=digest, container=new_name, upstream=f"{bind_address}:{new_port}")
    except _Fail as exc:
        _progress(progress, "failed", digest=digest, container=new_name, reason=str(exc)[:500])
        if new_started:
            docker("rm", "-f", new_name)
        ret["changes"] = {"rolled_back": new}
        ret["comment"] = _with_detail(
            f"{exc}; removed {new_name}; "
            + (f"{old['container']} ({old['digest']}) keeps serving" if old else "nothing was serving"),
            exc.detail,
        )
        return ret

    # Switched: give nginx's workers a moment to pick up the reload, then let the old
    # container drain (SIGTERM, then SIGKILL after drain_seconds) and remove it.
    if switch_grace_seconds:
        time.sleep(switch_grace_seconds)
    stopped = []
    for cname in sorted(n for n in containers if n != new_name):
        docker("stop", "-t", str(int(drain_seconds)), cname, timeout=int(drain_seconds) + 30)
        docker("rm", "-f", cname)
        stopped.append(cname)
    _progress(progress, "drained", digest=digest, stopped=stopped, drain_seconds=int(drain_seconds))

    history = _record_history(name, digest, keep_images)
    retained = set(history[: max(1, int(keep_images))])
    pruned = []
    # Every local image of the repository outside the last deployed ones goes, including
    # images pulled for a deploy that failed (health check, pre-switch step).
    for old_digest in _local_digests(docker, image):
        if old_digest not in retained and docker("rmi", f"{image}@{old_digest}")["ok"]:
            pruned.append(old_digest)

    ret["result"] = True
    ret["changes"] = {"old": old, "new": new, "stopped": stopped}
    if pruned:
        ret["changes"]["pruned_images"] = pruned
    ret["comment"] = (
        f"{name} now serves {digest} from {new_name} ({bind_address}:{new_port}) "
        f"after {time.monotonic() - started:.1f}s"
    )
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


def absent(name, docker_cli="/usr/bin/docker"):
    """
    Remove every container of app ``name`` (label ``saltpipe.app=<name>``).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        ret["comment"] = f"invalid app name {name!r}"
        return ret
    if not shutil.which(docker_cli) and not os.path.isfile(docker_cli):
        ret["result"] = True
        ret["comment"] = "docker CLI not installed; nothing to remove"
        return ret
    docker = _Docker(docker_cli, "")
    try:
        names = sorted(docker.containers(name))
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
        docker("rm", "-f", cname)
    ret["result"] = True
    ret["changes"] = {"removed": names}
    return ret
