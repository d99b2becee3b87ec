"""
What the status command shows (``saltpipe.status``), from the environment's record and what
the minions say about themselves now (pure: the runner gathers the inputs).
"""

from . import claim, store


def proxy_text(proxy):
    """A minion's proxy probe (``saltpipe_app.running``'s ``proxy``) as one phrase, or None."""
    if not proxy:
        return None
    if proxy.get("ok"):
        return f"healthy ({proxy.get('status')})"
    return f"unhealthy ({proxy.get('status') or proxy.get('error', 'no answer')})"


def minion_status(mid, known, seen, current):
    """One row of the status command: live facts from the minion, the last deploy from the record."""
    seen, known = seen or {}, known or {}
    last = None
    if known:
        last = "ok" if known.get("result") else f"failed: {known.get('comment', '')}"[:200]
    return {
        "id": mid,
        "answered": bool(seen),
        "os": seen.get("os"),
        "salt": seen.get("salt_version"),
        "digest": seen.get("digest"),
        "since": seen.get("since"),
        "serving": seen.get("serving"),
        "proxy": proxy_text(seen.get("proxy")),
        "on_current": bool(current) and seen.get("digest") == current.get("digest") and bool(seen.get("serving")),
        "last_result": last,
        "last_deploy": {k: known.get(k) for k in ("result", "comment", "at", "digest")} if known else None,
    }


def report(environment, record, now, inventory, audit_tail, refused_at_proxy, outbox, settings, deploys=10):
    """
    The status of ``environment``: ``record`` (the store's), ``inventory`` ({minion:
    ``saltpipe_app.running``} of the minions that answered), ``audit_tail`` (the last audit
    entries), ``refused_at_proxy`` (the hook proxy's refusals, folded), ``outbox`` ({queued,
    stranded, dead}: notification counts), ``settings`` (the deploy settings).
    """
    claim_ = record.get("claim")
    current = record.get("current") or {}
    minions = [minion_status(mid, record["minions"].get(mid), inventory.get(mid), current)
               for mid in sorted(set(record["minions"]) | set(inventory))]
    return {
        "result": True,
        "environment": environment,
        # Flat for the CLI: the digest, then its tag and since when.
        "current": current.get("digest"),
        "current_tag": current.get("tag"),
        "current_since": current.get("since"),
        "current_by": current.get("by"),
        "previous": record["previous"],
        "claim": dict(claim_, live=claim.live(claim_, now)) if claim_ else None,
        "pending": record.get("pending"),
        "approval": record.get("approval"),
        "deploys": record["deploys"][: int(deploys)],
        "minions": minions,
        "audit": audit_tail,
        "seen": len(record["seen"]),
        # Minions left on another digest by a rollback that failed: {minion: digest}.
        "mixed": record.get("mixed") or None,
        # App output of the last deploys (log tails, pre-switch output), redacted: master only.
        "details": record.get("details") or {},
        "refused_at_proxy": refused_at_proxy,
        "notifications_queued": outbox["queued"],
        "notifications_stranded": outbox["stranded"],
        "notifications_dead": outbox["dead"],
        "tag_policy": settings.get("tag_policy", ""),
        "approval_required": settings["approval_required"],
        "known_digests": store.known_digests(record),
    }
