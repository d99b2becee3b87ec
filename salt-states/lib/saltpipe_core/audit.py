"""
The audit trail of an environment: ``<dir>/<env>.audit.jsonl``, one JSON object per line.

Every received notification (accepted, refused, ignored - with the reason, never a header
or a secret) and every deploy (digest, tag, kind, approver, per-minion results, durations)
is appended under an ``flock``. When the file passes ``max_bytes`` it is rotated
(``.1`` … ``.<backups>``, the oldest dropped): bounded on disk whatever the traffic.
"""

import fcntl
import json
import os

from . import clock

MAX_BYTES = 1024 * 1024
BACKUPS = 3
FIELD_MAX = 500


def _clip(value):
    """Bound every string (reasons quote request fields, which an attacker controls)."""
    if isinstance(value, str):
        return value[:FIELD_MAX]
    if isinstance(value, dict):
        return {str(k)[:100]: _clip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip(v) for v in value[:200]]
    return value


class Audit:
    def __init__(self, directory, environment, max_bytes=MAX_BYTES, backups=BACKUPS):
        self.path = os.path.join(directory, f"{environment}.audit.jsonl")
        self.max_bytes = max_bytes
        self.backups = backups

    def append(self, event, **fields):
        """Append ``{at, ts, event, **fields}``; ``event`` names what happened (``received``, ``deploy`` …)."""
        entry = _clip({"at": clock.iso(clock.now()), "ts": round(clock.now(), 3), "event": event, **fields})
        line = json.dumps(entry, sort_keys=True) + "\n"
        with open(self.path + ".lock", "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if os.path.exists(self.path) and os.path.getsize(self.path) + len(line) > self.max_bytes:
                    self._rotate()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                with os.fdopen(fd, "a", encoding="utf-8") as fh:
                    fh.write(line)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return entry

    def _rotate(self):
        for index in range(self.backups - 1, 0, -1):
            older = f"{self.path}.{index}"
            if os.path.exists(older):
                os.replace(older, f"{self.path}.{index + 1}")
        os.replace(self.path, f"{self.path}.1")

    def tail(self, count=20):
        """The last ``count`` entries, oldest first (reads into the rotated file if needed)."""
        lines = []
        for path in (self.path, f"{self.path}.1"):
            try:
                with open(path, encoding="utf-8") as fh:
                    lines = fh.read().splitlines() + lines  # older file goes in front
            except FileNotFoundError:
                continue
            if len(lines) >= count:
                break
        out = []
        for line in lines[-count:] if count else []:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
