"""
Requests the hook proxy refused, as counts: bounded whatever the traffic.

The proxy (nginx, infra/render/salt-config/hook-proxy.ts) refuses unauthenticated, rate-limited and
over-limit requests itself - no Salt job, no event, no audit line - and writes one short
line per refusal (``<iso time> <status> <client address>``) into its own log. :func:`fold`
(run by every reconcile pass and by status) adds that log to a small JSON summary
(``<dir>/<env>.refusals.json``: total, per status, the last time, the busiest addresses)
and empties the log, so the log never holds more than one reconcile interval of refusals
and the summary stays a few hundred bytes.
"""

import contextlib
import fcntl
import json
import os
import re

LINE_RE = re.compile(r"(\S{10,40}) ([0-9]{3}) ([0-9A-Fa-f.:]{2,45})")
ADDRESSES_KEEP = 10
# Read at most this much per fold (a log that grew past it is cut: the counts say so).
READ_MAX = 8 * 1024 * 1024


def _empty():
    return {"total": 0, "by_status": {}, "last_at": None, "addresses": {}, "truncated_bytes": 0}


def read(directory, environment):
    try:
        with open(os.path.join(directory, f"{environment}.refusals.json"), encoding="utf-8") as fh:
            data = json.load(fh)
        return dict(_empty(), **data) if isinstance(data, dict) else _empty()
    except (OSError, ValueError):
        return _empty()


def fold(log_path, directory, environment):
    """Move the proxy's refusal lines into the summary; returns the summary."""
    summary_path = os.path.join(directory, f"{environment}.refusals.json")
    if not log_path or not os.path.exists(log_path):
        return read(directory, environment)
    with open(summary_path + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            summary = read(directory, environment)
            with open(log_path, "r+", encoding="utf-8", errors="replace") as fh:
                size = os.fstat(fh.fileno()).st_size
                text = fh.read(READ_MAX)
                summary["truncated_bytes"] += max(0, size - READ_MAX)
                # nginx appends with O_APPEND: truncating in place is safe for its open descriptor.
                fh.truncate(0)
            for line in text.splitlines():
                match = LINE_RE.fullmatch(line.strip())
                if not match:
                    continue
                at, status, address = match.groups()
                summary["total"] += 1
                summary["by_status"][status] = summary["by_status"].get(status, 0) + 1
                summary["last_at"] = at
                summary["addresses"][address] = summary["addresses"].get(address, 0) + 1
            top = sorted(summary["addresses"].items(), key=lambda kv: -kv[1])[:ADDRESSES_KEEP]
            summary["addresses"] = dict(top)
            tmp = summary_path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as out:
                json.dump(summary, out, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, summary_path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(summary_path + ".tmp")
            return read(directory, environment)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return summary
