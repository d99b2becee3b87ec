"""
The proxy switch of a deploy: the nginx upstream file (with the marker naming the serving
container, the one format every reader shares), the config test and reload (argv lists,
never a shell string; the old file restored when either fails), and the wait until nginx
really serves the new upstream.

The reload is only a signal: until every worker of the nginx master that accepts
connections is one the reload started, a new connection may still reach an old worker,
which proxies to the old container (nginx retires its old workers about 0.1 s after it
started the new ones). So the switch watches the master's workers in /proc.
"""

import json
import os
import time

from saltpipe_shared import MARKER, StepFailed, write_atomic

# After `nginx -s reload`: how long, and how often, to watch the nginx master's workers
# until every one that accepts connections is one the reload started.
RELOAD_WAIT_SECONDS = 5
RELOAD_POLL_SECONDS = 0.01


def upstream_text(app, server, current):
    return (
        "# File managed by Salt (saltpipe app.deploy); rewritten on every switch.\n"
        f"{MARKER}{json.dumps(current, sort_keys=True)}\n"
        f"upstream {app} {{\n"
        f"    server {server};\n"
        "    keepalive 16;\n"
        "}\n"
    )


def read_marker(upstream_file):
    """The marker of the upstream file: {container, digest, slot, port}; {} when there is none."""
    try:
        with open(upstream_file, encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(MARKER):
                    return json.loads(line[len(MARKER):])
    except (OSError, ValueError):
        pass
    return {}


def serving_container(upstream_file):
    """The container the upstream file names now, or None."""
    try:
        return (read_marker(upstream_file) or {}).get("container")
    except AttributeError:
        return None


def accepting_workers(pid_file):
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


def await_reload(pid_file, before, bound=RELOAD_WAIT_SECONDS, settle=True):
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
        now = accepting_workers(pid_file)
        if now is None or (now and not now & before):
            time.sleep(RELOAD_POLL_SECONDS)  # the retitle comes just before the close
            return True
        if not settle and len(now - before) >= max(1, len(before)):
            return True
        time.sleep(RELOAD_POLL_SECONDS)
    return False


def current_text(upstream_file):
    """The upstream file's text, or None when there is none yet."""
    if not os.path.exists(upstream_file):
        return None
    with open(upstream_file, encoding="utf-8") as fh:
        return fh.read()


def revert(run, upstream_file, previous_text, reload_cmd):
    """Put the upstream back as it was before a switch (or remove a new one), and reload."""
    if previous_text is not None:
        write_atomic(upstream_file, previous_text)
    elif os.path.exists(upstream_file):
        os.unlink(upstream_file)
    run(list(reload_cmd))


def switch(run, upstream_file, text, test_cmd, reload_cmd, pid_file, settle=True):
    """
    Point nginx at a new upstream: write ``text`` to ``upstream_file`` atomically, run the
    config test and the reload through ``run(argv)`` (a result with ``ok``), then wait for
    the workers (:func:`await_reload`). Either command failing puts the previous file back
    (or removes a new one), reloads again and raises :class:`StepFailed`. Returns whether
    the workers were seen renewed within the bound.
    """
    previous_text = current_text(upstream_file)
    write_atomic(upstream_file, text)
    old_workers = accepting_workers(pid_file)
    for what, cmd in (("nginx config test", test_cmd), ("nginx reload", reload_cmd)):
        res = run(list(cmd))
        if not res["ok"]:
            revert(run, upstream_file, previous_text, reload_cmd)
            raise StepFailed(f"{what} failed: {(res.get('stderr') or res.get('stdout') or '').strip()[:500]}")
    return await_reload(pid_file, old_workers, settle=settle)
