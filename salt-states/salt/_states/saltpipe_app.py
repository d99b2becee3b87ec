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
socket (``docker_socket``; see ``_utils/saltpipe_docker.py``), except ``docker pull``, which
runs the CLI (it holds the registry credentials); every nginx call is an argv list, never a
shell string; every value that reaches docker or nginx is validated first:

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
   rolled back if either fails), then wait (up to 5 s) until every nginx worker that accepts
   connections is one the reload started (``_utils/saltpipe_proxy.py``); with
   ``settle=False`` (a rollout's batches before its last) only until the new workers are up.
6. Hand the old containers to a detached finisher and return (``_utils/saltpipe_drain.py``):
   after ``switch_grace_seconds`` it stops them (``docker stop -t <drain_seconds>``: the app
   drains in-flight requests), removes them and prunes images beyond the last
   ``keep_images`` deployed, holding the app's drain lock, which every deploy takes first.

``test=True`` reports what would change and changes nothing.

The container gets ``SALTPIPE_IMAGE_DIGEST=<digest>`` in its environment (an image cannot
know its own digest; the deployer does). With ``progress`` (a tag prefix such as
``saltpipe/deploy/dev/minion``) each step fires ``<progress>/<step>`` to the master's bus
for ``saltpipe watch``: ``pull``, ``start``, ``healthy``, ``switched``, ``draining`` (the old
containers handed to the detached finisher, which drains, removes and prunes after the state
returned; ``drained`` instead when it had to drain in the state), ``current`` (nothing to do)
or ``failed`` (with the reason). Events carry the summary only, never app output.

The docker client, the health gate, the proxy switch, the drain finisher, the progress
events and the names shared with the execution module are ``_utils/saltpipe_*.py``: Salt
puts the synced utils directory on ``sys.path`` while it loads this module.
"""

import dataclasses
import inspect
import logging
import os
import re
import time
from typing import Optional

import saltpipe_drain
import saltpipe_proxy
from saltpipe_docker import DockerCli, Engine
from saltpipe_health import wait_healthy
from saltpipe_progress import Progress
from saltpipe_shared import (
    COMMAND_TIMEOUT, DEFAULT_SLOTS, DIGEST_ENV, DOCKER_CLI, DOCKER_SOCKET, LABEL_APP, LABEL_DIGEST, LABEL_PRESWITCH,
    LABEL_SLOT, NAME_RE, PULL_TIMEOUT, StepFailed, with_detail,
)
from saltpipe_validate import command_errors, deploy_errors

log = logging.getLogger(__name__)

__virtualname__ = "saltpipe_app"

# Seconds a deploy waits, beyond drain_seconds + switch_grace_seconds, for the previous
# deploy's drain on this minion to end (see _utils/saltpipe_drain.py).
DRAIN_WAIT_MARGIN_SECONDS = 30
# After the switch, one 2xx through the minion's own proxy within this bound (probed as often).
PROXY_PROBE_SECONDS = 5
PROXY_PROBE_INTERVAL = 0.2
PROXY_URL_RE = re.compile(r"http://127\.0\.0\.1:[0-9]{1,5}/[A-Za-z0-9._~/-]*")


def __virtual__():
    return __virtualname__


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


@dataclasses.dataclass
class _Deploy:  # pylint: disable=too-many-instance-attributes
    """One run of ``deployed``: its validated arguments, the clients it drives, and the
    app's drain lock while it holds it (``lock_fd``, handed to the finisher after the switch)."""

    name: str
    image: str
    digest: str
    port: int
    health_path: str
    health_timeout: float
    health_interval: float
    drain_seconds: float
    switch_grace_seconds: float
    keep_images: int
    slots: dict
    bind_address: str
    upstream_file: str
    nginx_test_cmd: tuple
    nginx_reload_cmd: tuple
    nginx_pid_file: str
    env: dict
    labels: dict
    pull_timeout: int
    settle: bool
    test: bool
    docker: DockerCli
    engine: Engine
    progress: Progress
    proxy_health_url: str = ""
    lock_fd: Optional[int] = None

    @property
    def ref(self):
        return f"{self.image}@{self.digest}"


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
    docker_cli=DOCKER_CLI,
    docker_config_dir="",
    env=None,
    labels=None,
    progress="",
    pull_timeout=PULL_TIMEOUT,
    command_timeout=COMMAND_TIMEOUT,
    docker_socket=DOCKER_SOCKET,
    settle=True,
    proxy_health_url="",
):
    """
    Make ``image@digest`` the container that serves app ``name`` behind nginx. ``settle``
    (default): return once no old nginx worker accepts connections; False (a rollout's
    batches before its last): once the new workers serve (see ``saltpipe_proxy.await_reload``).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    slots = dict(slots or DEFAULT_SLOTS)
    env = dict(env or {})
    labels = {k: str(v) for k, v in (labels or {}).items()}
    errors = deploy_errors(name, image, digest, port, health_path, slots, bind_address, env, labels, nginx_pid_file)
    if not isinstance(proxy_health_url, str) or (proxy_health_url and not PROXY_URL_RE.fullmatch(proxy_health_url)):
        errors.append(f"invalid proxy_health_url {proxy_health_url!r} (want http://127.0.0.1:<port>/<path>, or '')")
    if not isinstance(docker_socket, str) or not os.path.isabs(docker_socket):
        errors.append(f"invalid docker_socket {docker_socket!r} (want the absolute path of the engine's unix socket)")
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    env[DIGEST_ENV] = digest
    test = bool(__opts__.get("test"))
    deploy = _Deploy(
        name=name, image=image, digest=digest, port=port, health_path=health_path, health_timeout=health_timeout,
        health_interval=health_interval, drain_seconds=drain_seconds, switch_grace_seconds=switch_grace_seconds,
        keep_images=keep_images, slots=slots, bind_address=bind_address, upstream_file=upstream_file,
        nginx_test_cmd=nginx_test_cmd, nginx_reload_cmd=nginx_reload_cmd, nginx_pid_file=nginx_pid_file,
        env=env, labels=labels, pull_timeout=pull_timeout, settle=bool(settle), test=test,
        proxy_health_url=proxy_health_url,
        docker=DockerCli(_run, docker_cli, docker_config_dir, command_timeout),
        engine=Engine(docker_socket, command_timeout),
        progress=Progress("" if test else progress, __opts__, __salt__),
    )
    # The app's drain lock: wait for a previous deploy's detached drain on this minion
    # before looking at the containers; handed to this deploy's own finisher after the
    # switch, released on every other way out.
    if not test:
        try:
            deploy.lock_fd = saltpipe_drain.lock(
                __opts__["cachedir"], name, float(drain_seconds) + float(switch_grace_seconds) + DRAIN_WAIT_MARGIN_SECONDS
            )
        except (StepFailed, OSError) as exc:
            ret["comment"] = str(exc)
            return ret
    try:
        return _deploy_locked(deploy, ret)
    finally:
        deploy.progress.close()
        if deploy.lock_fd is not None:
            os.close(deploy.lock_fd)


def _deploy_locked(d, ret):
    """The body of ``deployed`` (holding the drain lock unless ``d.test``)."""
    would = f"; would deploy {d.ref}" if d.test else ""
    if not os.path.exists(d.engine.socket_path):
        ret["result"] = None if d.test else False
        ret["comment"] = f"docker engine socket {d.engine.socket_path} not found (is docker running?)" + would
        return ret
    try:
        containers = d.engine.containers(d.name)
        current = saltpipe_proxy.read_marker(d.upstream_file) or {}
    except StepFailed as exc:
        ret["result"] = None if d.test else False
        ret["comment"] = f"{exc}" + would
        return ret

    cur = containers.get(current.get("container", ""))
    if cur and cur["running"] and cur["digest"] == d.digest and d.slots.get(cur["slot"]) == current.get("port"):
        return _serving(d, ret, cur, containers)

    slot_names = sorted(d.slots)
    new_slot = slot_names[0]
    if cur and cur["slot"] in d.slots:
        new_slot = slot_names[1] if cur["slot"] == slot_names[0] else slot_names[0]
    new = {"container": f"{d.name}-{new_slot}", "digest": d.digest, "slot": new_slot, "port": d.slots[new_slot]}
    old = {"container": cur["name"], "digest": cur["digest"]} if cur else None

    if d.test:
        ret["result"] = None
        ret["changes"] = {"old": old, "new": new}
        ret["comment"] = f"would deploy {d.ref} as {new['container']} and switch the proxy to {d.bind_address}:{new['port']}"
        return ret

    started = time.monotonic()
    new_started = []
    try:
        _start_and_switch(d, new, containers, new_started)
    except StepFailed as exc:
        d.progress("failed", digest=d.digest, container=new["container"], reason=str(exc)[:500])
        if new_started:
            d.engine.remove(new["container"])
        ret["changes"] = {"rolled_back": new}
        ret["comment"] = with_detail(
            f"{exc}; removed {new['container']}; "
            + (f"{old['container']} ({old['digest']}) keeps serving" if old else "nothing was serving"),
            exc.detail,
        )
        return ret

    draining = sorted(n for n in containers if n != new["container"])
    mode = _hand_over_drain(d, draining)
    ret["result"] = True
    # "stopped": the old containers, drained and removed by the finisher (every local image
    # of the repository outside the last keep_images deployed goes too, including images
    # pulled for a deploy that failed).
    ret["changes"] = {"old": old, "new": new, "stopped": draining, "drain": mode}
    ret["comment"] = (
        f"{d.name} now serves {d.digest} from {new['container']} ({d.bind_address}:{new['port']}) "
        f"after {time.monotonic() - started:.1f}s"
        + (f"; {'draining' if mode == 'detached' else 'drained'} {', '.join(draining)}" if draining else "")
    )
    return ret


def _serving(d, ret, cur, containers):
    """The digest already serves: nothing to do, or only the leftover containers to remove."""
    leftovers = sorted(n for n in containers if n != cur["name"])
    if not leftovers:
        ret["result"] = True
        ret["comment"] = f"{d.name} already serves {d.digest} from {cur['name']}"
        d.progress("current", digest=d.digest, container=cur["name"])
        return ret
    ret["changes"] = {"removed": leftovers}
    if d.test:
        ret["result"] = None
        ret["comment"] = f"{d.name} serves {d.digest}; would remove leftover containers"
        return ret
    for leftover in leftovers:
        d.engine.remove(leftover)
    ret["result"] = True
    ret["comment"] = f"{d.name} serves {d.digest}; removed leftover containers"
    return ret


def _start_and_switch(d, new, containers, new_started):
    """Steps 2 to 5: pull, start ``new``, gate on its health, switch the proxy to it. Raises
    :class:`StepFailed`; ``new_started`` gets an entry once the new container may exist."""
    started = time.monotonic()
    name = new["container"]
    present = d.engine.image_present(d.ref)
    if not present:
        d.docker.must(f"docker pull {d.ref}", "pull", d.ref, timeout=d.pull_timeout)
    d.progress("pull", digest=d.digest, image=d.ref, present=present, seconds=round(time.monotonic() - started, 1))
    if name in containers:
        d.engine.remove(name)
    new_started.append(name)
    labels = dict(d.labels, **{LABEL_APP: d.name, LABEL_DIGEST: d.digest, LABEL_SLOT: new["slot"]})
    d.engine.run(name, d.ref, d.port, d.bind_address, new["port"], labels, d.env)
    d.progress("start", digest=d.digest, container=name, slot=new["slot"], port=new["port"])

    url = f"http://{d.bind_address}:{new['port']}{d.health_path}"
    healthy, detail = wait_healthy(d.engine, name, url, d.health_timeout, d.health_interval)
    if not healthy:
        tail = d.engine.logs(name).strip()[-800:]
        raise StepFailed(f"health check failed: {detail}", f"container log tail:\n{tail}" if tail else "")
    d.progress("healthy", digest=d.digest, container=name, detail=detail)

    server = f"{d.bind_address}:{new['port']}"
    text = saltpipe_proxy.upstream_text(d.name, server, new)
    previous = saltpipe_proxy.current_text(d.upstream_file)
    if not saltpipe_proxy.switch(_run, d.upstream_file, text, d.nginx_test_cmd, d.nginx_reload_cmd, d.nginx_pid_file, d.settle):
        log.warning("saltpipe: nginx workers of %s not renewed %ss after the reload", d.nginx_pid_file, saltpipe_proxy.RELOAD_WAIT_SECONDS)
    if d.proxy_health_url:
        # What the load balancer sees: a proxy that cannot reach the slot (SELinux, a bad
        # site config) fails the deploy here, with the old upstream put back.
        reached, why = wait_healthy(d.engine, name, d.proxy_health_url, PROXY_PROBE_SECONDS, PROXY_PROBE_INTERVAL)
        if not reached:
            saltpipe_proxy.revert(_run, d.upstream_file, previous, d.nginx_reload_cmd)
            raise StepFailed(f"the proxy does not reach the new container: {why}; the previous upstream is back")
    d.progress("switched", digest=d.digest, container=name, upstream=server)


def _hand_over_drain(d, draining):
    """
    Step 6: the switch grace, the drain of ``draining`` (SIGTERM, then SIGKILL after
    drain_seconds), their removal and the image pruning go to the detached finisher, which
    takes over the drain lock; the state returns now. The finisher's docker calls are
    bounded as the state's are (stop: drain_seconds + 30 s, the others: command_timeout), and
    it never stops the container the upstream names. Returns how it drained.
    """
    cachedir = __opts__["cachedir"]
    history = saltpipe_drain.record_history(cachedir, d.name, d.digest)
    job = {
        "app": d.name, "socket": d.engine.socket_path, "grace": float(d.switch_grace_seconds or 0),
        "drain": int(d.drain_seconds), "stop": draining, "image": d.image,
        "retained": sorted(set(history[: max(1, int(d.keep_images))])),
        "command_timeout": int(d.engine.timeout or COMMAND_TIMEOUT), "upstream_file": d.upstream_file,
        "planned_at": round(time.time(), 3), "cachedir": cachedir,
    }
    lock_fd, d.lock_fd = d.lock_fd, None  # the hand-over owns it from here
    entry = saltpipe_drain.hand_over(lock_fd, job)
    if entry is not None:
        d.progress("drained", digest=d.digest, stopped=entry["stopped"], drain_seconds=int(d.drain_seconds))
        return "in the state"
    d.progress("draining", digest=d.digest, stopped=draining, drain_seconds=int(d.drain_seconds), detached=True)
    return "detached"


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
    errors = deploy_errors(
        name, args.get("image"), args.get("digest"), args.get("port"), args.get("health_path", "/healthz"),
        dict(args.get("slots") or DEFAULT_SLOTS), args.get("bind_address", "127.0.0.1"),
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
    docker_cli=DOCKER_CLI,
    docker_config_dir="",
    env=None,
    pull_timeout=PULL_TIMEOUT,
):
    """
    Run ``command`` (an argv list: it replaces the image's CMD, its ENTRYPOINT applies) once
    in a throw-away container of the NEW ``image@digest``, before any traffic moves - e.g.
    database migrations. Exit 0 passes; anything else, or ``timeout`` seconds, fails the
    state (and so the deploy: the rollout has not touched a serving container yet).
    """
    ret = {"name": name, "changes": {}, "result": False, "comment": ""}
    env = dict(env or {})
    errors = deploy_errors(name, image, digest, 1, "/", {"a": 1, "b": 2}, "127.0.0.1", env, {})
    errors += command_errors(command)
    if errors:
        ret["comment"] = "; ".join(errors)
        return ret
    ref = f"{image}@{digest}"
    if __opts__.get("test"):
        ret["result"] = None
        ret["comment"] = f"would run {command!r} from {ref}"
        return ret
    docker = DockerCli(_run, docker_cli, docker_config_dir, COMMAND_TIMEOUT)
    container = f"{name}-preswitch"
    try:
        if not docker("image", "inspect", ref)["ok"]:
            docker.must(f"docker pull {ref}", "pull", ref, timeout=pull_timeout)
    except StepFailed as exc:
        ret["comment"] = str(exc)
        return ret
    docker("rm", "-f", container)
    args = ["run", "--rm", "--name", container, "--label", f"{LABEL_PRESWITCH}={name}"]
    env[DIGEST_ENV] = digest
    for key in sorted(env):
        args += ["-e", f"{key}={env[key]}"]
    argv = docker.argv(*args, ref, *command)
    started = time.monotonic()
    res = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True, timeout=int(timeout), output_loglevel="debug")
    output = ((res.get("stdout") or "") + (res.get("stderr") or "")).strip()[-800:]
    if res.get("retcode") != 0:
        docker("rm", "-f", container)
        ret["comment"] = with_detail(
            f"pre-switch command exited {res.get('retcode')} after {time.monotonic() - started:.1f}s", output
        )
        return ret
    ret["result"] = True
    ret["changes"] = {"ran": command, "image": ref}
    ret["comment"] = with_detail(f"pre-switch command passed in {time.monotonic() - started:.1f}s", output[-300:])
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
    engine = Engine(docker_socket)
    try:
        names = sorted(engine.containers(name))
    except StepFailed as exc:
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
