"""
The deploy-in-progress claim of an environment, kept in the record.

A claim names its owner (job id, pid, the pid's start time, host) and expires. It is live
while it has not expired AND, when the owner ran on this host, its process still exists
(same pid and same start time, so a reused pid does not count). So:

- a deploy killed with the master (SIGKILL, power loss) is taken over at once by the next
  event or by the start-up reconciliation on this host (its pid is gone);
- a hung owner, or one on another host, is taken over when the claim expires;
- the owner renews the claim before each batch, so a long rollout never expires mid-way;
  a renewal that fails (the claim expired and was taken over) stops the rollout before its
  next batch.

Fencing: every take increments the record's ``fence`` counter and the claim carries the
value it was taken with. :func:`holds` (owner AND fence) is checked inside the transaction
that writes a deploy's result, so an owner that lost its claim - even to a later claim of
its own process - never writes over the newer owner's record.

Unlike Kamal's ``mkdir`` lock, nothing here can stay behind for weeks.
"""

import os
import socket
import threading


def _pid_start(pid):
    """The process's start time in clock ticks (field 22 of /proc/<pid>/stat), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def me(jid=""):
    """This caller. The thread counts: the reactor runs runners in threads of one process."""
    pid = os.getpid()
    return {
        "jid": str(jid or ""),
        "pid": pid,
        "pid_start": _pid_start(pid),
        "thread": threading.get_ident(),
        "host": socket.gethostname(),
    }


def same_owner(a, b):
    return bool(a and b) and all(a.get(k) == b.get(k) for k in ("pid", "pid_start", "thread", "host", "jid"))


def live(claim, now):
    """Whether ``claim`` still holds at wall-clock ``now``."""
    if not claim:
        return False
    if float(claim.get("expires") or 0) <= now:
        return False
    owner = claim.get("owner") or {}
    if owner.get("host") == socket.gethostname():
        started = _pid_start(owner.get("pid"))
        return started is not None and started == owner.get("pid_start")
    return True


def take(record, owner, digest, kind, now, ttl):
    """Claim the environment for ``owner`` if no live claim of another owner holds it."""
    current = record.get("claim")
    if live(current, now) and not same_owner(current.get("owner"), owner):
        return False
    taken_over = current if current and not same_owner(current.get("owner"), owner) else None
    record["fence"] = int(record.get("fence") or 0) + 1
    record["claim"] = {
        "owner": owner,
        "fence": record["fence"],
        "digest": digest,
        "kind": kind,
        "started": now,
        "expires": now + ttl,
        **({"took_over": {"owner": taken_over.get("owner"), "digest": taken_over.get("digest")}} if taken_over else {}),
    }
    return True


def holds(record, owner, fence=None):
    """Whether ``owner`` (with the ``fence`` value it took the claim with, when known) holds the claim."""
    claim = record.get("claim")
    if not claim or not same_owner(claim.get("owner"), owner):
        return False
    return fence is None or claim.get("fence") == fence


def renew(record, owner, now, ttl, fence=None):
    """Extend the claim of ``owner``; False when it no longer holds it (then: stop)."""
    if holds(record, owner, fence):
        record["claim"]["expires"] = now + ttl
        return True
    return False


def release(record, owner):
    claim = record.get("claim")
    if claim and same_owner(claim.get("owner"), owner):
        record["claim"] = None
        return True
    return False
