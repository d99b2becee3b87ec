"""
saltpipe runner: the rolling rollout that orch/deploy.sls hands a verified push event to.

Loaded on the master through ``runner_dirs`` (the master config rendered by
infra/render/salt-config.ts points it here).

``saltpipe.rollout`` does, for one environment:

1. Take the environment's deploy lock (``flock`` on a file under the master's cachedir: the
   kernel drops it when the process dies, so it cannot go stale) - one deploy per
   environment at a time; a second one waits for the first.
2. Skip an event id already handled (registry delivery is at-least-once): fires
   ``saltpipe/deploy/<env>/skipped`` and succeeds.
3. Find the minions: grains ``environment:<env>`` and ``roles:<role>``. Minions the master
   knows (grains cache) but that do not answer count as failed, and zero minions is a
   failure, not a silent success.
4. Apply ``app.deploy`` with the digest in batches (``"1"``, ``"2"``, ``"50%"``), stopping at
   the first batch with a failed (or silent) minion; the rest are reported ``skipped``.
5. Record the outcome (current digest, history, seen event ids) and fire
   ``saltpipe/deploy/<env>/outcome`` with environment, digest, per-minion results and the
   duration. A failed rollout makes the runner (and so the orchestration) fail.
"""

import fcntl
import json
import logging
import math
import os
import re
import time

import salt.client
import salt.utils.event
import salt.utils.minions

log = logging.getLogger(__name__)

__virtualname__ = "saltpipe"

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
ENV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
BATCH_RE = re.compile(r"^([1-9][0-9]{0,4})(%?)$")
SEEN_KEEP = 500


def __virtual__():
    return __virtualname__


def _fire(tag, data):
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as event:
        event.fire_event(data, tag)


def _state_dir():
    path = os.path.join(__opts__["cachedir"], "saltpipe")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _load_record(environment):
    path = os.path.join(_state_dir(), f"{environment}.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {"environment": environment, "current": None, "history": [], "seen": []}


def _save_record(environment, record):
    path = os.path.join(_state_dir(), f"{environment}.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _lock(environment, timeout):
    fh = open(os.path.join(_state_dir(), f"{environment}.lock"), "w")  # pylint: disable=consider-using-with
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                return None
            time.sleep(0.5)


def batch_size(batch, total):
    """``"2"`` -> 2, ``"50%"`` -> ceil(50% of total), at least 1, at most total."""
    match = BATCH_RE.match(str(batch).strip())
    if not match:
        raise ValueError(f"invalid batch {batch!r} (want a count like '1' or a percentage like '50%')")
    value = int(match.group(1))
    size = math.ceil(total * min(value, 100) / 100) if match.group(2) else value
    return max(1, min(size, max(total, 1)))


def _minion_result(ret):
    """(ok, changed, comment) of one minion's state.sls return."""
    if not isinstance(ret, dict):
        text = "; ".join(ret) if isinstance(ret, list) else str(ret)
        return False, False, text[:1000]
    ok, changed, comments = True, False, []
    for chunk in ret.values():
        if not isinstance(chunk, dict):
            return False, False, str(chunk)[:1000]
        if chunk.get("result") is False:
            ok = False
        if chunk.get("changes"):
            changed = True
        if chunk.get("comment") and (chunk.get("result") is not True or chunk.get("changes")):
            comments.append(str(chunk["comment"]))
    return ok, changed, "; ".join(comments)[:1000]


def rollout(environment, digest, **kwargs):
    """
    Deploy ``digest`` to the app minions of ``environment`` in rolling batches.

    Keyword arguments: repository, tag, event_id, batch ("1", "50%"), role ("app"),
    sls ("app.deploy"), timeout (per batch, seconds), lock_timeout (seconds).
    An unexpected error still fires the outcome event (result False) and fails the runner.

    CLI Example:

    .. code-block:: bash

        salt-run saltpipe.rollout dev sha256:0123... repository=saltpipe/app batch=50%
    """
    kwargs = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    started = time.time()
    try:
        return _rollout(environment, digest, started=started, **kwargs)
    except Exception as exc:  # pylint: disable=broad-except
        log.exception("saltpipe.rollout failed")
        outcome = {
            "environment": environment,
            "digest": digest,
            "repository": kwargs.get("repository", ""),
            "tag": kwargs.get("tag", ""),
            "event_id": kwargs.get("event_id", ""),
            "result": False,
            "reason": f"rollout error: {exc}",
            "minions": {},
            "duration": round(time.time() - started, 3),
        }
        if ENV_RE.match(str(environment)):
            _fire(f"saltpipe/deploy/{environment}/outcome", outcome)
        __context__["retcode"] = 1
        return outcome


def _rollout(
    environment,
    digest,
    repository="",
    tag="",
    event_id="",
    batch="1",
    role="app",
    sls="app.deploy",
    timeout=300,
    lock_timeout=900,
    started=None,
):
    started = started or time.time()
    if not ENV_RE.match(str(environment)) or not DIGEST_RE.match(str(digest)):
        __context__["retcode"] = 1
        return {"Error": f"invalid environment {environment!r} or digest {digest!r}"}
    base = {
        "environment": environment,
        "digest": digest,
        "repository": repository,
        "tag": tag,
        "event_id": event_id,
    }
    lock = _lock(environment, lock_timeout)
    if lock is None:
        outcome = dict(base, result=False, reason=f"deploy lock busy for {lock_timeout}s", minions={})
        outcome["duration"] = round(time.time() - started, 3)
        _fire(f"saltpipe/deploy/{environment}/outcome", outcome)
        __context__["retcode"] = 1
        return outcome
    try:
        record = _load_record(environment)
        if event_id and event_id in record.get("seen", []):
            skipped = dict(base, result=True, reason="duplicate event id", current=record.get("current"))
            _fire(f"saltpipe/deploy/{environment}/skipped", skipped)
            return skipped

        _fire(f"saltpipe/deploy/{environment}/start", dict(base, batch=str(batch)))
        tgt = f"G@environment:{environment} and G@roles:{role}"
        client = salt.client.get_local_client(__opts__["conf_file"])
        known = set(
            salt.utils.minions.CkMinions(__opts__).check_minions(tgt, "compound").get("minions", [])
        )
        answered = set(client.cmd(tgt, "test.ping", tgt_type="compound", timeout=10) or {})
        minions = {}
        for mid in sorted(known - answered):
            minions[mid] = {"result": False, "changed": False, "comment": "did not answer test.ping"}
        targets = sorted(answered)
        batches = []
        failed = bool(minions)
        reason = "some minions did not answer" if failed else ""
        if not targets and not failed:
            failed, reason = True, f"no minion matches {tgt}"
        size = batch_size(batch, len(targets)) if targets else 1
        pillar = {"saltpipe_deploy": dict(base)}
        for index in range(0, len(targets), size):
            group = targets[index : index + size]
            if failed:
                for mid in group:
                    minions[mid] = {"result": False, "changed": False, "comment": "skipped: an earlier batch failed"}
                continue
            batches.append(group)
            returns = client.cmd(
                group,
                "state.sls",
                [sls],
                tgt_type="list",
                timeout=timeout,
                full_return=True,
                kwarg={"pillar": pillar, "queue": True, "sync_mods": "states"},
            ) or {}
            for mid in group:
                if mid not in returns:
                    minions[mid] = {"result": False, "changed": False, "comment": "no return within the timeout"}
                    failed = True
                    continue
                ok, changed, comment = _minion_result(returns[mid].get("ret"))
                minions[mid] = {"result": ok, "changed": changed, "comment": comment}
                if not ok:
                    failed = True
            if failed:
                reason = f"batch {len(batches)} failed"

        outcome = dict(base, result=not failed, reason=reason, minions=minions, batches=batches)
        outcome["duration"] = round(time.time() - started, 3)
        if event_id:
            record["seen"] = (record.get("seen", []) + [event_id])[-SEEN_KEEP:]
        if not failed:
            if record.get("current") != digest:
                record["history"] = ([record["current"]] if record.get("current") else []) + [
                    d for d in record.get("history", []) if d not in (digest, record.get("current"))
                ]
                record["history"] = record["history"][:20]
            record["current"] = digest
        record["last"] = {k: outcome[k] for k in ("digest", "event_id", "result", "reason", "duration")}
        record["last"]["finished"] = time.time()
        _save_record(environment, record)
        _fire(f"saltpipe/deploy/{environment}/outcome", outcome)
        if failed:
            __context__["retcode"] = 1
        return outcome
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


def status(environment):
    """
    The environment's deploy record: current digest, history, last outcome.

    .. code-block:: bash

        salt-run saltpipe.status dev
    """
    if not ENV_RE.match(str(environment)):
        return {"Error": f"invalid environment {environment!r}"}
    record = _load_record(environment)
    record["seen"] = len(record.get("seen", []))
    return record
