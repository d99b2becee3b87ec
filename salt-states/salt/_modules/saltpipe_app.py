"""
saltpipe_app execution module: what app container serves on this minion, the rollout's
pre-pull, and the direct deploy of a planned digest.

``saltpipe_app.running`` is the cheap check the master uses for convergence and status:
one ``docker inspect`` of the container the upstream file names (the marker written by the
``saltpipe_app.deployed`` state) and one GET of the health path through the proxy.

.. code-block:: bash

    salt minion-1 saltpipe_app.running

``saltpipe_app.pull`` (the rollout's pre-pull): ``docker pull <image>@<digest>`` of the
app's image, skipped when present, so the batches find it there; bounded by the same
``app:deploy:pull_timeout`` as the deploy state's pull. Best effort: the deploy state pulls
(and fails) on its own when this did not work.

``saltpipe_app.deploy <digest>`` (every deploy the runner makes): the
``saltpipe_app.deployed`` state called directly with the arguments planned on this minion
(``write_plan``: ``app.prepare`` and ``app.deploy`` plan), returned like a ``state.sls``
return. One module call instead of a pillar compile, a module sync and an SLS render.
With ``generation`` (the master's fingerprint of its states and pillar), a plan made under
that same generation and these same grains is rebased onto the new digest (the digest and
its labels are all a new push changes): a push then costs one module call. Any other plan
is refused and nothing changes (``{NO_PLAN: why}``): the runner runs the
whole ``state.sls app.deploy`` for that minion, which plans afresh.

``saltpipe_app.prepare <digest>`` (the rollout's prepare round, several batches): the same
rebase, written as the plan of the new digest, and its image pulled.

What it shares with the deploy state (the marker, labels, the plan's file, defaults) is
``_utils/saltpipe_shared.py``: Salt puts the synced utils directory on ``sys.path`` while it
loads this module, so a minion needs ``saltutil.sync_utils`` with ``sync_modules``.
"""

import hashlib
import json
import os
import shutil
import time
import traceback
import urllib.error
import urllib.request

from saltpipe_docker import cli_argv
from saltpipe_proxy import read_marker
from saltpipe_shared import (
    COMMAND_TIMEOUT, DEPLOY_KEY, DIGEST_RE, DOCKER_CLI, LABEL_DIGEST, LABEL_EVENT_ID, LABEL_TAG, NO_PLAN, PULL_TIMEOUT,
    plan_path, prepull_log_path,
)

__virtualname__ = "saltpipe_app"

# What ``running`` asks ``docker inspect``: the container's state and the digest it was deployed with.
INSPECT_FORMAT = '{{json .State}}|{{index .Config.Labels "%s"}}' % LABEL_DIGEST
# The last pre-pulls kept in the app's pre-pull log (what the drain finisher reads).
PULL_LOG_KEEP = 20


def __virtual__():
    return __virtualname__


def marker(upstream_file):
    """The marker the ``saltpipe_app.deployed`` state writes into the upstream file: {container, digest, slot, port}."""
    return read_marker(upstream_file)


def _probe(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return {"ok": 200 <= resp.status < 300, "status": resp.status, "url": url}
    except urllib.error.HTTPError as exc:
        return {"ok": False, "status": exc.code, "url": url}
    except (urllib.error.URLError, OSError) as exc:
        return {"ok": False, "status": None, "url": url, "error": str(getattr(exc, "reason", exc))[:200]}


def running(name=None, upstream_file=None, docker_cli=None):
    """
    ``{digest, serving, container, since, os, salt_version, proxy: {ok, status, url}}``.

    ``serving`` is True only when the container the proxy points at runs the digest it was
    deployed with: a container removed or stopped by hand reads as not serving.
    """
    # __pillar__, not pillar.get: Salt 3008 masks pillar.get's values outside templates.
    app = __pillar__.get("app") or {}
    site = (__pillar__.get("proxy") or {}).get("site") or {}
    name = name or app.get("name", "app")
    upstream_file = upstream_file or app.get("upstream_file", f"/etc/nginx/saltpipe/{name}-upstream.conf")
    docker_cli = docker_cli or app.get("docker_cli", DOCKER_CLI)
    out = {
        "os": f"{__grains__.get('os', '')} {__grains__.get('osrelease', '')}".strip(),
        "salt_version": __grains__.get("saltversion"),
        "digest": None,
        "serving": False,
        "container": None,
        "since": None,
        "proxy": None,
    }
    current = marker(upstream_file)
    if not current.get("container"):
        return out
    out["container"] = current["container"]
    out["digest"] = current.get("digest")
    if shutil.which(docker_cli) or os.path.isfile(docker_cli):
        res = __salt__["cmd.run_all"](
            [docker_cli, "inspect", "--format", INSPECT_FORMAT, current["container"]],
            python_shell=False, ignore_retcode=True, output_loglevel="quiet",
        )
        if res.get("retcode") == 0:
            state_json, _, label = res["stdout"].strip().partition("|")
            state = json.loads(state_json or "{}")
            out["serving"] = bool(state.get("Running")) and label == out["digest"]
            out["since"] = state.get("StartedAt")
    port = site.get("listen_port")
    if port:
        out["proxy"] = _probe(f"http://127.0.0.1:{int(port)}{app.get('health_path', '/healthz')}")
    return out


def _record_pull(app, digest):
    """Note the pre-pull in ``<cachedir>/saltpipe/<app>-prepull.log`` (the last 20 kept): a
    drain finisher planned before it does not prune this image (_utils/saltpipe_drain.py)."""
    path = prepull_log_path(__opts__["cachedir"], app)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()[-(PULL_LOG_KEEP - 1):]
        except OSError:
            lines = []
        lines.append(json.dumps({"at": round(time.time(), 3), "digest": digest}, sort_keys=True))
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # best effort: at worst a finisher prunes the image and the batch pulls it again


def pull(digest, timeout=None):
    """
    Pull the app's image by ``digest`` (pillar ``app:registry``) unless it is present:
    the rollout runs this on every target minion at once before its first batch, while the
    old version serves. ``{result, pulled, seconds, comment}``; never raises.

    Bounded like the deploy state's pull: ``timeout`` or pillar ``app:deploy:pull_timeout``
    (default 120 s, as ``salt/app/parameters/defaults.yaml``); the presence check by 60 s.

    .. code-block:: bash

        salt minion-1 saltpipe_app.pull sha256:0123...
    """
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        return {"result": False, "pulled": False, "seconds": 0, "comment": f"invalid digest {str(digest)[:100]!r}"}
    # __pillar__, not pillar.get: Salt 3008 masks pillar.get's values outside templates.
    app = __pillar__.get("app") or {}
    registry = app.get("registry") or {}
    repository = registry.get("repository") or ""
    if not repository:
        return {"result": False, "pulled": False, "seconds": 0, "comment": "no app:registry:repository in pillar"}
    image = (registry["server"] + "/" if registry.get("server") else "") + repository
    try:
        limit = int(timeout if timeout is not None else (app.get("deploy") or {}).get("pull_timeout", PULL_TIMEOUT))
    except (TypeError, ValueError):
        limit = PULL_TIMEOUT
    limit = max(1, limit)
    argv = cli_argv(app.get("docker_cli", DOCKER_CLI), app.get("docker_config_dir", "/etc/saltpipe/docker"))
    ref = f"{image}@{digest}"
    started = time.monotonic()

    def docker(*args, timeout):
        return __salt__["cmd.run_all"](
            argv + list(args), python_shell=False, ignore_retcode=True, output_loglevel="quiet", timeout=timeout
        )

    # Noted first, present or not: a drain finisher planned earlier must keep it either way.
    _record_pull(app.get("name", "app"), digest)
    if docker("image", "inspect", "--format", "{{.Id}}", ref, timeout=COMMAND_TIMEOUT).get("retcode") == 0:
        return {"result": True, "pulled": False, "seconds": round(time.monotonic() - started, 3), "comment": f"{ref} present"}
    res = docker("pull", "-q", ref, timeout=limit)
    ok = res.get("retcode") == 0
    return {
        "result": ok,
        "pulled": ok,
        "seconds": round(time.monotonic() - started, 3),
        "comment": f"pulled {ref}" if ok else f"docker pull {ref} failed: {(res.get('stderr') or '').strip()[:300]}",
    }


def _plan_path():
    return plan_path(__opts__["cachedir"])


# The grains a plan depends on (map.jinja's os_family/os lookups, the pillar top's targeting);
# the whole grains dict is not stable between a state run and a module call.
PLAN_GRAINS = ("id", "os", "os_family", "osfinger", "osmajorrelease", "osrelease", "environment", "roles", "saltversion")


def _grains_key():
    """A fingerprint of the grains this minion's plan was rendered with."""
    picked = {k: __grains__.get(k) for k in PLAN_GRAINS}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()


def write_plan(digest, args, generation="", rendered_at=None):
    """Keep ``args`` (the validated arguments of ``saltpipe_app.deployed``) as the plan for
    ``digest``, made under the master's ``generation`` and these grains: mode 0600 (the
    app's environment is in it), written atomically. ``rendered_at``: when a state rendered
    ``args`` (now, unless a rebased plan keeps its own)."""
    path = _plan_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    now = round(time.time(), 3)
    plan = {
        "digest": digest, "at": now, "rendered_at": rendered_at or now, "args": args,
        "generation": str(generation or ""), "grains": _grains_key(),
    }
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(plan, fh, sort_keys=True)
    os.replace(tmp, path)
    return True


def _read_plan():
    """The plan kept here, or None when there is none (or it is unreadable)."""
    try:
        with open(_plan_path(), encoding="utf-8") as fh:
            plan = json.load(fh)
    except (OSError, ValueError):
        return None
    return plan if isinstance(plan, dict) and isinstance(plan.get("args"), dict) else None


def _plan_for(digest, generation="", event_id="", tag=""):
    """(the ``deployed`` arguments for ``digest``, None) or (None, why not).

    Without ``generation``: only a plan made for this very digest. With it: a plan made
    under that generation and these grains, rebased onto ``digest`` and its labels."""
    plan = _read_plan()
    if plan is None:
        return None, "no readable deploy plan on this minion"
    args = plan["args"]
    if not generation:
        if plan.get("digest") == digest and args.get("digest") == digest:
            return args, None
        return None, f"no deploy plan for {digest} on this minion"
    if plan.get("generation") != generation:
        return None, "the deploy plan was made under other states or pillar"
    if plan.get("grains") != _grains_key():
        return None, "the deploy plan was made with other grains"
    labels = {LABEL_EVENT_ID: str(event_id or ""), LABEL_TAG: str(tag or "")}
    return dict(args, digest=digest, labels=labels), None


def prepare(digest, generation, event_id="", tag=""):
    """
    The rollout's prepare round as one call: the plan made under ``generation`` rebased onto
    ``digest`` and kept as its plan, and the image pulled (best effort, as ``app.prepare``).
    ``{result, comment}``, or ``{NO_PLAN: why}`` (then ``state.sls
    app.prepare`` plans afresh).

    .. code-block:: bash

        salt minion-1 saltpipe_app.prepare sha256:0123... <generation>
    """
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        return {"result": False, "comment": f"invalid digest {str(digest)[:100]!r}"}
    if not generation:
        return {NO_PLAN: "no generation given"}
    args, why = _plan_for(digest, generation, event_id, tag)
    if args is None:
        return {NO_PLAN: why}
    write_plan(digest, args, generation, rendered_at=(_read_plan() or {}).get("rendered_at"))
    pulled = pull(digest, timeout=args.get("pull_timeout"))
    return {"result": True, "comment": f"planned {digest}; {pulled.get('comment', '')}"}


def _deployed_state(test):
    """The ``saltpipe_app.deployed`` state function, from a state loader of this job (cheap:
    the loader is lazy) whose ``test`` is the caller's, not the minion config's."""
    import salt.loader  # pylint: disable=import-outside-toplevel

    opts = dict(__opts__, test=bool(test))
    states = salt.loader.states(opts, __salt__, __utils__, salt.loader.serializers(opts), context=__context__)
    return states["saltpipe_app.deployed"]


def deploy(digest, test=False, generation="", event_id="", tag="", settle=True):
    """
    Deploy ``digest`` with the plan made here (``_plan_for``): the same
    ``saltpipe_app.deployed`` state, the same arguments, the same health gate, switch and
    detached drain; the return is shaped like ``state.sls app.deploy``'s
    (``{<state key>: {result, changes, comment, duration}}``). Without a usable plan it
    changes nothing and returns ``{NO_PLAN: why}`` (the runner then runs
    ``state.sls app.deploy``, which plans afresh). ``settle=False`` (the rollout's batches
    before its last): return once the new nginx workers serve, not after the old ones stop.

    .. code-block:: bash

        salt minion-1 saltpipe_app.deploy sha256:0123...
    """
    name = str((__pillar__.get("app") or {}).get("name") or "app")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        return {DEPLOY_KEY.format(name=name): {"result": False, "changes": {}, "duration": 0, "comment": f"invalid digest {str(digest)[:100]!r}"}}
    args, why = _plan_for(digest, generation, event_id, tag)
    if args is None:
        return {NO_PLAN: f"{why}; nothing changed"}
    started = time.monotonic()
    try:
        ret = _deployed_state(test)(**dict(args, settle=bool(settle)))
    except Exception:  # pylint: disable=broad-except
        # As the state system reports a state that raised: the rollout puts the minion back.
        ret = {"result": False, "changes": {}, "comment": f"An exception occurred in saltpipe_app.deploy:\n{traceback.format_exc()[-1500:]}"}
    ret["duration"] = round((time.monotonic() - started) * 1000, 3)
    return {DEPLOY_KEY.format(name=args["name"]): ret}
