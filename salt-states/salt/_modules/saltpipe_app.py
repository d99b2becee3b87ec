"""
saltpipe_app execution module: what app container serves on this minion (read-only).

``saltpipe_app.running`` is the cheap check the master uses for convergence and status:
one ``docker inspect`` of the container the upstream file names (the marker written by the
``saltpipe_app.deployed`` state) and one GET of the health path through the proxy.

.. code-block:: bash

    salt minion-1 saltpipe_app.running
"""

import json
import os
import shutil
import urllib.error
import urllib.request

__virtualname__ = "saltpipe_app"

MARKER = "# saltpipe-current: "


def __virtual__():
    return __virtualname__


def marker(upstream_file):
    """The marker the ``saltpipe_app.deployed`` state writes into the upstream file: {container, digest, slot, port}."""
    try:
        with open(upstream_file, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(MARKER):
                    return json.loads(line[len(MARKER):])
    except (OSError, ValueError):
        pass
    return {}


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
    docker_cli = docker_cli or app.get("docker_cli", "/usr/bin/docker")
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
            [docker_cli, "inspect", "--format", "{{json .State}}|{{index .Config.Labels \"saltpipe.digest\"}}", current["container"]],
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
