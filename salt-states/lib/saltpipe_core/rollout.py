"""
The deploy loop of one environment, over an injected Salt ``port`` (see ``SaltPort`` in the
runner; tests pass a fake).

``drive`` runs while it holds the environment's claim: take ``pending`` (the newest queued
push, an approved digest, or a rollback), deploy it, then look again - so pushes that arrive
during a deploy collapse to the newest and run next, by the same process, without a second
deploy ever overlapping. Then minions queued for convergence. Then release.

One deploy (``deploy_one``):
1. ``started`` event + notification; audit. (Progress on the bus for ``saltpipe watch``:
   ``batch`` before each batch, ``revert`` before switched minions go back; the minions'
   own steps come from the app state as ``saltpipe/deploy/<env>/minion/<step>``.)
2. Targets: minions with the environment's grains and role that answer. Known but silent
   minions are reported (the outcome is not a success) while the others are deployed;
   "no minion answered" is a failure.
3. Optional pre-switch step from the NEW image on the first minion (e.g. migrations):
   failure ends the deploy before any traffic moves.
4. With more than one batch, every target first prepares at once (``saltpipe_app.prepare``
   or ``state.sls app.prepare``: pulls the new image and plans the deploy; the old version
   serves meanwhile; best effort, bounded by the minions' pull timeout; not after a failed
   renewal). Batches of the deploy state (``saltpipe_app.deploy`` with the minion's plan, or
   ``state.sls app.deploy`` where it has none; health-gated blue/green on each minion; it
   returns once the new container serves, the old one drains detached behind the app's
   drain lock on that minion), renewing the claim before each (a failed renewal - the
   claim was taken over - stops the rollout there); stop at the first failed batch, and put
   the minions that may have switched (succeeded, or raised / gave no answer) back on the
   previous digest (same health-gated path): a failed rollout leaves the whole environment
   on one version, unlike tools that leave early groups switched. A minion that cannot be
   put back is reported: the outcome fails, the record and status show the environment
   ``mixed`` until a convergence fixes it.
5. The record (current, previous, per-minion state, last deploys), audit, outcome event,
   notification - written only while holding the claim (owner and fencing counter).
   Per-minion detail (container log tails, pre-switch output) stays in the record
   (``details``, shown by status); events, audit and notifications carry the summary.
"""

import math
import re

from . import claim, clock, store

BATCH_RE = re.compile(r"([1-9][0-9]{0,4})(%?)")
# Notification names where they differ from the event's last tag segment.
NOTIFY_NAMES = {"start": "started"}


CONVERGE_RETRY_SECONDS = 300
LOST = "lost the deploy claim (it expired and was taken over)"
# Per-minion detail kept in the record (container log tail, pre-switch output), redacted.
DETAIL_MAX = 2000


def _maybe_switched(result):
    """Whether a minion's batch result may have moved traffic: success, or a failure that did
    not say it restored the old container (it raised, gave no answer) - put back on failure."""
    if "switched" in result:
        return bool(result["switched"])
    return bool(result["result"] and result["changed"])


def _recently_failed(entry, now):
    """A minion whose last deploy failed is retried by the periodic pass every 5 minutes, not every pass."""
    return bool(entry) and entry.get("result") is False and now - float(entry.get("at") or 0) < CONVERGE_RETRY_SECONDS


def batch_size(batch, total):
    """``"2"`` -> 2, ``"50%"`` -> ceil(50% of total), at least 1, at most total."""
    match = BATCH_RE.fullmatch(str(batch))
    if not match:
        raise ValueError(f"invalid batch {batch!r} (want a count like '1' or a percentage like '50%')")
    value = int(match.group(1))
    size = math.ceil(total * min(value, 100) / 100) if match.group(2) else value
    return max(1, min(size, max(total, 1)))


class Lifecycle:
    """One environment's record, audit, notifier, settings and Salt port, bound together."""

    def __init__(self, environment, store_, audit, notifier, port, settings, owner):
        self.env = environment
        self.store = store_
        self.audit = audit
        self.notifier = notifier
        self.port = port
        self.settings = settings
        self.owner = owner
        self.fence = None  # the fencing counter of this owner's claim, once taken

    # -- events -------------------------------------------------------------------------
    def announce(self, event, data, notify=True):
        """Event on the master bus (``saltpipe/deploy/<env>/<event>``) + notification."""
        payload = dict(data, environment=self.env)
        self.port.fire(f"saltpipe/deploy/{self.env}/{event}", payload)
        if notify:
            self.notifier.enqueue(NOTIFY_NAMES.get(event, event), payload)

    @property
    def ttl(self):
        s = self.settings
        return float(s.get("timeout", 300)) + float((s.get("pre_switch") or {}).get("timeout", 0)) + 60

    # -- claim --------------------------------------------------------------------------
    def try_claim(self, record, digest, kind):
        """Take the claim inside a transaction; requeue a dead owner's interrupted request."""
        previous = record.get("claim")
        if not claim.take(record, self.owner, digest, kind, clock.now(), self.ttl):
            return False
        self.fence = record["claim"]["fence"]
        interrupted = (previous or {}).get("request")
        if previous and not claim.same_owner(previous.get("owner"), self.owner):
            self.audit.append("claim-taken-over", owner=previous.get("owner"), digest=previous.get("digest"))
            pending = record.get("pending")
            current = record.get("current") or {}
            if interrupted and interrupted.get("digest") != current.get("digest"):
                if not pending or int(pending.get("order") or 0) < int(interrupted.get("order") or 0):
                    record["pending"] = interrupted
        return True

    def renew(self):
        with self.store.transaction(self.env) as record:
            return claim.renew(record, self.owner, clock.now(), self.ttl, self.fence)

    # -- the loop -----------------------------------------------------------------------
    def drive(self):
        """Run pending work while holding the claim; returns the outcomes."""
        outcomes = []
        while True:
            with self.store.transaction(self.env) as record:
                if not claim.renew(record, self.owner, clock.now(), self.ttl, self.fence):
                    break  # lost it (expired and taken over): the new owner carries on
                request = record.get("pending")
                record["pending"] = None
                minions = [] if request else record.pop("reconverge", [])
                current = record.get("current")
                if request:
                    record["claim"]["digest"] = request["digest"]
                    record["claim"]["request"] = request
                elif not minions:
                    claim.release(record, self.owner)
                    break
            if request:
                if request.get("kind") != "rollback" and current and current.get("digest") == request["digest"]:
                    continue
                outcomes.append(self.deploy_one(request, current))
            else:
                outcomes.append(self.converge(minions, current))
        return outcomes

    # -- one deploy ---------------------------------------------------------------------
    def deploy_one(self, request, current, only=None):
        started = clock.now()
        kind = request.get("kind", "push")
        base = {
            "digest": request["digest"],
            "tag": request.get("tag", ""),
            "repository": request.get("repository", ""),
            "event_id": request.get("event_id", ""),
            "kind": kind,
            "approver": request.get("approver", ""),
            "previous": (current or {}).get("digest"),
        }
        # The targets' ping goes out first; the start is announced and audited while it flies.
        pinged = self.port.ping(only)
        self.announce("start", dict(base, batch=str(self.settings.get("batch", "1"))), notify=kind != "converge")
        if kind != "converge":  # a convergence is audited when it ends, and only if it changed something
            self.audit.append("deploy-start", **base)
        minions, batches, failed, reason, rolled_back = {}, [], False, "", []
        answered, silent = pinged()
        # A minion that is down is reported, not waited for: the others are deployed and it
        # converges to the current digest when it comes back (minion start reactor).
        for mid in silent:
            minions[mid] = {"result": False, "changed": False, "comment": "did not answer", "duration": 0}
        if not answered:
            failed, reason = True, "no minion of this environment answered"
        pre = self.settings.get("pre_switch") or {}
        # Not on a rollback or a convergence: the step (e.g. a migration) belongs to a new version.
        lost, mixed = False, {}
        if not failed and pre.get("command") and kind not in ("converge", "rollback"):
            if not self.renew():
                failed, lost, reason = True, True, LOST
            else:
                ok, comment, *detail = self.port.pre_switch(answered[0], request, pre)
                minions[answered[0]] = {"result": ok, "changed": False, "comment": f"pre-switch: {comment}", "duration": 0,
                                        **({"detail": detail[0]} if detail and detail[0] else {})}
                if not ok:
                    failed, reason = True, f"pre-switch step failed on {answered[0]}: {comment}"[:500]
        if not failed:
            size = batch_size(self.settings.get("batch", "1"), len(answered))
            # More than one batch: every target prepares now, all at once, while the old
            # version serves (pulls the new image, plans the deploy), so each batch starts
            # from a local image with one direct call. Best effort (a minion that did not
            # prepare gets the whole deploy state in its batch). Only while holding the
            # claim: after a failed renewal nothing is pulled, and the first batch's renewal
            # stops the rollout (fencing).
            preparing = None
            if size < len(answered) and self.renew():
                preparing = self.port.begin_prepare(answered, request)
            switched = []
            for index in range(0, len(answered), size):
                group = answered[index : index + size]
                if preparing is not None:
                    # This batch's minions are prepared (or gave up); later ones may still pull.
                    preparing.wait(group, timeout=self.ttl)
                if not self.renew():
                    failed, lost, reason = True, True, f"{LOST}; stopped before batch {len(batches) + 1}"
                    break
                batches.append(group)
                # Progress for `saltpipe watch`: which minions this batch deploys (bus only).
                self.announce(
                    "batch", dict(base, index=len(batches), of=math.ceil(len(answered) / size), minions=group), notify=False
                )
                # Only the last batch waits for nginx to retire its old workers (~0.1 s): the
                # next batch's own start takes longer than that handover.
                results = self.port.apply(group, request, settle=index + size >= len(answered))
                minions.update(results)
                switched += [m for m in group if _maybe_switched(results[m])]
                if not all(results[m]["result"] for m in group):
                    failed, reason = True, f"batch {len(batches)} failed"
                    break
            if preparing is not None:
                preparing.join(timeout=self.ttl)  # nothing of this deploy runs on after it
            skipped = [m for m in answered if m not in minions]
            for mid in skipped:
                minions[mid] = {"result": False, "changed": False, "comment": "skipped: an earlier batch failed", "duration": 0}
            # Not after losing the claim: the new owner decides what the minions run now.
            if failed and not lost and switched and current and current.get("digest") != request["digest"]:
                self.announce("revert", dict(base, to=current["digest"], minions=switched), notify=False)
                back = self.port.apply(switched, dict(current, kind="rollback"))
                rolled_back = [m for m in switched if back[m]["result"]]
                for mid in switched:
                    if back[mid]["result"]:
                        minions[mid]["comment"] = f"rolled back to {current['digest']}: {back[mid]['comment']}"[:1000]
                    else:
                        mixed[mid] = request["digest"]
                        minions[mid]["result"] = False
                        minions[mid]["comment"] = f"rollback to {current['digest']} failed: {back[mid]['comment']}"[:1000]
                if mixed:
                    reason = f"{reason}; rollback failed on {', '.join(sorted(mixed))}: the environment is mixed"[:500]
        finished = clock.now()
        if silent and not failed:
            reason = f"did not answer (they converge when they return): {', '.join(silent)}"[:500]
        details = {m: r.pop("detail") for m, r in minions.items() if r.get("detail")}
        outcome = dict(
            base,
            result=not failed and not silent,
            reason=reason,
            minions=minions,
            batches=batches,
            rolled_back=rolled_back,
            started=round(started, 3),
            finished=round(finished, 3),
            duration=round(finished - started, 3),
            **({"mixed": mixed} if mixed else {}),
        )
        # A convergence that changed nothing is not a deploy: no history entry, no audit line.
        noop = kind == "converge" and outcome["result"] and not any(r.get("changed") for r in minions.values())
        if not self._record(outcome, request, failed, finished, details, record_deploy=not noop):
            outcome.update(result=False, fenced=True, reason=(reason + "; " if reason else "") + "not recorded: " + LOST)
        if not noop:
            self.audit.append("deploy", **outcome)
        self.announce("outcome", outcome, notify=False)
        if kind != "converge" or not outcome["result"]:
            self.notifier.enqueue("succeeded" if outcome["result"] else "failed", dict(outcome, environment=self.env))
        return outcome

    def _record(self, outcome, request, failed, finished, details=None, record_deploy=True):
        """Write the outcome into the record - only while holding the claim (fencing); False if not."""
        with self.store.transaction(self.env) as record:
            if not claim.holds(record, self.owner, self.fence):
                return False
            if not failed:
                store.make_current(record, request, finished)
            mixed = record.get("mixed") or {}
            for mid, res in outcome["minions"].items():
                entry = record["minions"].setdefault(mid, {})
                entry.update(result=res["result"], comment=res["comment"][:300], at=round(finished, 3))
                switched_here = res["result"] and not res["comment"].startswith("rolled back")
                if switched_here or mid in outcome.get("mixed", {}):
                    if entry.get("digest") != request["digest"]:
                        entry["since"] = round(finished, 3)
                    entry["digest"] = request["digest"]
                if mid in outcome.get("mixed", {}):
                    mixed[mid] = request["digest"]
                elif switched_here and (record.get("current") or {}).get("digest") == request["digest"]:
                    mixed.pop(mid, None)
            record["mixed"] = mixed or None
            for mid, text in (details or {}).items():
                record.setdefault("details", {})[mid] = {"digest": request["digest"], "at": round(finished, 3), "text": str(text)[:DETAIL_MAX]}
            if record_deploy:
                summary = {k: outcome[k] for k in ("digest", "tag", "kind", "approver", "result", "reason", "started", "finished", "duration", "rolled_back", "event_id")}
                summary["minions"] = {m: {"result": r["result"], "duration": r.get("duration", 0)} for m, r in outcome["minions"].items()}
                if outcome.get("mixed"):
                    summary["mixed"] = outcome["mixed"]
                store.add_deploy(record, summary)
            if record.get("claim"):
                record["claim"].pop("request", None)
        return True

    # -- convergence --------------------------------------------------------------------
    def converge(self, minions, current):
        """Put ``minions`` (or every drifted minion when None) on the current digest."""
        if not current:
            return {"result": True, "reason": "no current digest yet", "minions": {}}
        if minions is None:
            running = self.port.running(None)
            known = self.store.read(self.env)["minions"]
            mixed = self.store.read(self.env).get("mixed") or {}
            minions = sorted(
                m for m, d in running.items()
                if d != current["digest"] and (m in mixed or not _recently_failed(known.get(m), clock.now()))
            )
        else:
            minions, _ = self.port.targets(minions)  # only this environment's app minions
        if not minions:
            return {"result": True, "reason": "nothing to converge", "digest": current["digest"], "minions": {}}
        request = dict(current, kind="converge")
        return self.deploy_one(request, current, only=minions)
