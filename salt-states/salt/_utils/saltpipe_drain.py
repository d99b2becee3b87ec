"""
The drain of the old containers, off the deploy's critical path.

Once the proxy serves the new container, the deploy state hands the old ones to a detached
finisher (this file run as a script, see the bottom) and returns, so the next batch of a
rollout starts as soon as this minion's new container is healthy and serving. The finisher
waits the switch grace, stops each old container (SIGTERM: the app drains its in-flight
requests; SIGKILL after the drain seconds), removes it and prunes the app's images beyond
the last ones deployed.

Nothing is cut short: the finisher holds the app's drain lock (flock, handed over as an open
descriptor, so there is no gap between the state and the finisher) until it is done, and
every deploy of the app on this minion takes that lock before it looks at the containers:
a following deploy (the next push, a rollback of this minion) waits for the drain. Fencing
on the minion: a container the upstream file names when its turn comes is never stopped
(only a deploy moves the upstream, and every deploy waits for this lock), and an image a
later pre-pull fetched is never pruned. The finisher logs one JSON line per drain to
``<cachedir>/saltpipe/<app>-drain.log``.
"""

import fcntl
import json
import logging
import os
import subprocess
import sys
import time

from saltpipe_docker import Engine
from saltpipe_proxy import serving_container
from saltpipe_shared import COMMAND_TIMEOUT, DIGEST_RE, StepFailed, drain_paths, history_path, prepull_log_path, write_atomic

log = logging.getLogger(__name__)
# Digests kept in an app's deploy history.
HISTORY_KEEP = 50


def record_history(cachedir, app, digest):
    """``digest`` first in the app's deploy history (what pruning keeps the newest of); returns it."""
    path = history_path(cachedir, app)
    try:
        with open(path, encoding="utf-8") as fh:
            history = json.load(fh)
    except (OSError, ValueError):
        history = []
    history = [digest] + [d for d in history if d != digest]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_atomic(path, json.dumps(history[:HISTORY_KEEP]))
    return history


def lock(cachedir, app, wait):
    """The app's drain lock (an open, locked descriptor); waits at most ``wait`` s for a previous drain."""
    lock_path, _ = drain_paths(cachedir, app)
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
                raise StepFailed(f"the previous deploy's drain of {app} on this minion did not end within {wait:.0f}s")
            time.sleep(0.05)


def spawn(lock_fd, job):
    """
    Start the detached finisher of ``job`` with the locked descriptor; it releases the lock
    when done. Its sibling modules are found through ``PYTHONPATH`` (this directory), not
    through the interpreter putting a script's own directory first (``-P`` turns that off).
    """
    _, log_path = drain_paths(job["cachedir"], job["app"])
    job = dict(job, lock_fd=lock_fd, log=log_path)
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, os.path.abspath(__file__), "--drain", json.dumps(job)],
        pass_fds=(lock_fd,),
        start_new_session=True,  # outlives the minion's job process
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
        env=env,
    )


def hand_over(lock_fd, job):
    """
    Give ``job`` and the locked descriptor (owned from here, closed on every way out) to a
    detached finisher: None once it started. When it cannot start, drain here instead (the
    old containers must not keep running) and return the line :func:`finish` logged.
    """
    try:
        spawn(lock_fd, job)
    except OSError as exc:
        log.warning("saltpipe: detached drain of %s not started (%s); draining in the state", job["app"], exc)
        return finish(dict(job, lock_fd=lock_fd, log=drain_paths(job["cachedir"], job["app"])[1]))
    except BaseException:
        os.close(lock_fd)
        raise
    os.close(lock_fd)  # the finisher holds its own copy of the locked descriptor
    return None


def pulled_since(cachedir, app, since):
    """Digests ``saltpipe_app.pull`` (the next rollout's pre-pull) started pulling at or after
    ``since`` (epoch s), from its log: a finisher planned before them must not prune them."""
    out = set()
    try:
        with open(prepull_log_path(cachedir, app), encoding="utf-8") as fh:
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


def finish(job):
    """
    The finisher: switch grace, stop (drain) + remove the old containers, prune images; then
    release the drain lock. Every engine call is bounded (``docker stop``: drain + 30 s, the
    others: ``command_timeout``). Returns the line it logged.
    """
    engine = Engine(job["socket"], int(job.get("command_timeout") or COMMAND_TIMEOUT))
    errors = []

    def attempt(what, call, *args, **kwargs):
        try:
            if call(*args, **kwargs):
                return True
            errors.append(f"{what}: refused")
        except StepFailed as exc:
            errors.append(f"{what}: {exc}"[:300])
        return False

    started = time.time()
    stopped, kept, pruned = [], [], []
    try:
        if job.get("grace"):
            time.sleep(float(job["grace"]))  # nginx's workers pick up the reload
        drain = int(job["drain"])
        for cname in job["stop"]:
            if job.get("upstream_file") and serving_container(job["upstream_file"]) == cname:
                kept.append(cname)
                continue
            attempt("docker stop", engine.stop, cname, drain, timeout=drain + 30)
            attempt("docker rm", engine.remove, cname)
            stopped.append(cname)
        keep = set(job["retained"])
        if job.get("cachedir"):
            keep |= pulled_since(job["cachedir"], job["app"], float(job.get("planned_at") or started))
        try:
            digests = engine.image_digests(job["image"])
        except StepFailed as exc:
            errors.append(f"docker images: {exc}"[:300])
            digests = set()
        for old_digest in sorted(d for d in digests if DIGEST_RE.fullmatch(d)):
            if old_digest not in keep and attempt("docker rmi", engine.remove_image, f"{job['image']}@{old_digest}"):
                pruned.append(old_digest)
        entry = {"at": round(started, 3), "took": round(time.time() - started, 3), "stopped": stopped, "pruned_images": pruned}
        if kept:
            entry["kept_serving"] = kept
        if errors:
            entry["errors"] = errors[:20]
        try:
            with open(job["log"], "a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, sort_keys=True) + "\n")
        except OSError:
            pass
        return entry
    finally:
        if job.get("lock_fd") is not None:
            os.close(int(job["lock_fd"]))


if __name__ == "__main__":
    # The detached finisher started by spawn (not a Salt entry point).
    if len(sys.argv) == 3 and sys.argv[1] == "--drain":
        finish(json.loads(sys.argv[2]))
        sys.exit(0)
    sys.exit(2)
