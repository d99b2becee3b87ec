"""
What a received push does to an environment's record (pure: no I/O, no clock reads).

In this order - the first that applies wins:

1. ``duplicate``  its event id was already received (at-least-once delivery): nothing.
   ``future``     its timestamp is more than ``max_clock_skew`` (default 300 s) past the
                  master's clock: refused and not remembered. Accepting it would make every
                  later real push a replay forever; ``reset_order`` (the runner's
                  ``saltpipe.reset_order``) lowers the mark when one got in anyway (the
                  master's own clock far ahead when it arrived).
2. ``replay``     it is not newer than what the environment already serves or queued: the
                  registry's event timestamp (``order``, ns) is at most the current digest's
                  (a rollback keeps the high-water mark, so a replay of the rolled-back push
                  stays a replay). Registry timestamps come from one clock - the registry's -
                  so their order is the push order; the master's clock is never mixed in.
3. ``current``    its digest already serves: nothing to deploy.
4. ``ignored``    outside the tag policy, or a semver downgrade.
5. ``approval``   the environment needs approval: it becomes the pending approval (a newer
                  push supersedes an older one).
6. ``deploy``     it becomes ``pending`` - the one slot that collapses pushes to the newest -
                  and whoever holds (or next takes) the deploy claim runs it.
"""

from . import policy, store

MAX_CLOCK_SKEW_SECONDS = 300


def _order(entry):
    return int((entry or {}).get("order") or 0)


def receive(record, request, settings, now):
    """Returns (action, reason, superseded); changes ``record`` in place."""
    event_id = request.get("event_id", "")
    if event_id and event_id in record["seen"]:
        return "duplicate", "event id already received", None
    order = _order(request)
    skew = float(settings.get("max_clock_skew", MAX_CLOCK_SKEW_SECONDS))
    if order and order > int((now + skew) * 1_000_000_000):
        ahead = order / 1e9 - now
        return "future", f"event timestamp is {ahead:.0f}s ahead of the master's clock (more than {skew:.0f}s)", None
    store.remember_seen(record, event_id)
    current = record.get("current")
    for what, entry in (("current digest", current), ("queued push", record.get("pending"))):
        if entry and order and _order(entry) and order <= _order(entry):
            return "replay", f"event is not newer than the {what}'s ({entry.get('tag') or entry.get('digest')})", None
    if current and current.get("digest") == request["digest"]:
        return "current", "digest already current", None
    ok, why = policy.check(settings.get("tag_policy", ""), request.get("tag", ""), (current or {}).get("tag", ""))
    if not ok:
        return "ignored", why, None
    approval = record.get("approval")
    if approval and order and _order(approval) and order <= _order(approval):
        return "replay", "event is not newer than the push waiting for approval", None
    if settings.get("approval_required"):
        record["approval"] = dict(request, received=now, expires=now + float(settings.get("approval_expires", 3600)))
        return "approval", "waiting for approval", (approval or {}).get("digest")
    superseded = (record.get("pending") or {}).get("digest")
    record["pending"] = dict(request, received=now)
    return "deploy", "queued", superseded


def expire_approval(record, now):
    """Drop an approval whose time is up; returns it (or None)."""
    approval = record.get("approval")
    if approval and float(approval.get("expires") or 0) <= now:
        record["approval"] = None
        return approval
    return None


def reset_order(record, order):
    """Set the ordering mark (current, queued push, approval) to ``order`` ns; returns the old marks."""
    old = {}
    for key in ("current", "pending", "approval"):
        entry = record.get(key)
        if entry and int(entry.get("order") or 0) > order:
            old[key] = int(entry.get("order") or 0)
            entry["order"] = order
    return old
