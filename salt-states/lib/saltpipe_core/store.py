"""
The record of desired state of one environment: ``<dir>/<env>.json``.

Every path (push, rollback, approval, convergence, status) reads and changes the record
inside :meth:`Store.transaction`: an exclusive ``flock`` on ``<env>.lock`` held only for the
read-modify-write (milliseconds, never for a deploy), then an atomic replace (temp file,
fsync, ``os.replace``, then an fsync of the directory so the rename itself is durable) so a
crash or a power loss leaves the old or the new record, never half of one. The
deploy in progress is a *claim* inside the record (see claim.py), not a held lock.
"""

import contextlib
import copy
import fcntl
import json
import os
import re
import tempfile

VERSION = 2
ENV_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")

# Bounds: the record stays small whatever happens.
SEEN_KEEP = 500
PREVIOUS_KEEP = 20
DEPLOYS_KEEP = 20


def empty(environment):
    return {
        "version": VERSION,
        "environment": environment,
        # {digest, tag, since, order, event_id, by}; order = registry timestamp (ns) of the push
        "current": None,
        # newest first: {digest, tag, since, until}
        "previous": [],
        # registry event ids already received (oldest first, bounded)
        "seen": [],
        # the deploy in progress: {owner, digest, kind, started, expires}
        "claim": None,
        # the newest push that arrived while a deploy ran: it runs next
        "pending": None,
        # a push waiting for approval: {..., received, expires}
        "approval": None,
        # last outcomes, newest first
        "deploys": [],
        # per minion: {digest, since, result, at, comment}
        "minions": {},
    }


def _migrate(environment, data):
    """Records written before version 2 (current as a bare digest, ``history``)."""
    if data.get("version") == VERSION:
        merged = empty(environment)
        merged.update(data)
        return merged
    record = empty(environment)
    if isinstance(data.get("current"), str):
        record["current"] = {"digest": data["current"], "tag": "", "since": None, "order": 0}
    record["previous"] = [{"digest": d, "tag": "", "since": None} for d in data.get("history", []) if isinstance(d, str)]
    record["seen"] = [s for s in data.get("seen", []) if isinstance(s, str)]
    return record


class Store:
    """Records of the environments under ``directory`` (created 0700)."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, mode=0o700, exist_ok=True)

    def path(self, environment):
        if not ENV_RE.fullmatch(str(environment)):
            raise ValueError(f"invalid environment name {environment!r}")
        return os.path.join(self.directory, f"{environment}.json")

    def environments(self):
        return sorted(n[:-5] for n in os.listdir(self.directory) if n.endswith(".json") and ENV_RE.fullmatch(n[:-5]))

    def read(self, environment):
        """A snapshot (no lock: the file is only ever replaced whole)."""
        try:
            with open(self.path(environment), encoding="utf-8") as fh:
                return _migrate(environment, json.load(fh))
        except FileNotFoundError:
            return empty(environment)

    @contextlib.contextmanager
    def transaction(self, environment):
        """Yield the record under the environment's lock; write it back if it changed."""
        path = self.path(environment)
        with open(path[:-5] + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                record = self.read(environment)
                before = copy.deepcopy(record)
                yield record
                if record != before:
                    self._write(path, record)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _write(path, record):
        fd, tmp = tempfile.mkstemp(prefix=".record-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
            fsync_dir(os.path.dirname(path))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def fsync_dir(directory):
    """Make a rename in ``directory`` durable (the new name survives a power loss)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remember_seen(record, event_id):
    if event_id and event_id not in record["seen"]:
        record["seen"] = (record["seen"] + [event_id])[-SEEN_KEEP:]


def make_current(record, request, since):
    """``request`` now serves; the one before goes to ``previous`` (newest first, bounded)."""
    old = record.get("current")
    digest = request["digest"]
    if old and old.get("digest") != digest:
        entry = {"digest": old["digest"], "tag": old.get("tag", ""), "since": old.get("since"), "until": since}
        record["previous"] = ([entry] + [p for p in record["previous"] if p["digest"] not in (digest, old["digest"])])[
            :PREVIOUS_KEEP
        ]
    elif old and old.get("digest") == digest:
        return old
    record["previous"] = [p for p in record["previous"] if p["digest"] != digest]
    # A rollback keeps the high-water order: replays of newer pushes stay replays.
    order = max(int(request.get("order") or 0), int((old or {}).get("order") or 0))
    record["current"] = {
        "digest": digest,
        "tag": request.get("tag", ""),
        "since": since,
        "order": order,
        "event_id": request.get("event_id", ""),
        "by": request.get("kind", "push"),
    }
    return record["current"]


def add_deploy(record, outcome):
    record["deploys"] = ([outcome] + record["deploys"])[:DEPLOYS_KEEP]


def known_digests(record):
    """Digests that ran in this environment: current first, then previous (newest first)."""
    out = [record["current"]["digest"]] if record.get("current") else []
    return out + [p["digest"] for p in record["previous"] if p["digest"] not in out]
