"""
The deploy loop of one environment, over an injected Salt ``port`` (see ``SaltPort`` in the
runner; tests pass a fake).

``drive`` runs while it holds the environment's claim: take ``pending`` (the newest queued
push, an approved digest, or a rollback), deploy it, then look again - so pushes that arrive
during a deploy collapse to the newest and run next, by the same process, without a second
deploy ever overlapping. Then minions queued for convergence. Then release.

One deploy (``deploy_one``):
1. ``started`` event + notification; audit.
2. Targets: minions with the environment's grains and role that answer. Known but silent
   minions are reported (the outcome is not a success) while the others are deployed;
   "no minion answered" is a failure.
3. Optional pre-switch step from the NEW image on the first minion (e.g. migrations):
   failure ends the deploy before any traffic moves.
4. With more than one batch, the new image is pulled on every target at once first (the old
   version serves meanwhile). Batches of ``state.sls app.deploy`` (health-gated blue/green on
   each minion; it returns once the new container serves, the old one drains detached), renewing
   the claim before each; stop at the first failed batch, and put the minions that already
   switched back on the previous digest (same health-gated path): a failed rollout leaves
   the whole environment on one version, unlike tools that leave early groups switched.
5. The record (current, previous, per-minion state, last deploys), audit, outcome event,
   notification.
"""

import math
import re

from . import claim, clock, store

BATCH_RE = re.compile(r"^([1-9][0-9]{0,4})(%?)$")
# Notification names where they differ from the event's last tag segment.
NOTIFY_NAMES = {"start": "started"}


CONVERGE_RETRY_SECONDS = 300


def _recently_failed(entry, now):
    """A minion whose last deploy failed is retried by the periodic pass every 5 minutes, not every pass."""
    return bool(entry) and entry.get("result") is False and now - float(entry.get("at") or 0) < CONVERGE_RETRY_SECONDS


def batch_size(batch, total):
    """``"2"`` -> 2, ``"50%"`` -> ceil(50% of total), at least 1, at most total."""
    match = BATCH_RE.match(str(batch).strip())
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
            return claim.renew(record, self.owner, clock.now(), self.ttl)

    # -- the loop -----------------------------------------------------------------------
    def drive(self):
        """Run pending work while holding the claim; returns the outcomes."""
        outcomes = []
        while True:
            with self.store.transaction(self.env) as record:
                if not claim.renew(record, self.owner, clock.now(), self.ttl):
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
        self.announce("start", dict(base, batch=str(self.settings.get("batch", "1"))), notify=kind != "converge")
        self.audit.append("deploy-start", **base)
        minions, batches, failed, reason, rolled_back = {}, [], False, "", []
        answered, silent = self.port.targets(only)
        # A minion that is down is reported, not waited for: the others are deployed and it
        # converges to the current digest when it comes back (minion start reactor).
        for mid in silent:
            minions[mid] = {"result": False, "changed": False, "comment": "did not answer", "duration": 0}
        if not answered:
            failed, reason = True, "no minion of this environment answered"
        pre = self.settings.get("pre_switch") or {}
        # Not on a rollback or a convergence: the step (e.g. a migration) belongs to a new version.
        if not failed and pre.get("command") and kind not in ("converge", "rollback"):
            self.renew()
            ok, comment = self.port.pre_switch(answered[0], request, pre)
            minions[answered[0]] = {"result": ok, "changed": False, "comment": f"pre-switch: {comment}", "duration": 0}
            if not ok:
                failed, reason = True, f"pre-switch step failed on {answered[0]}: {comment}"[:500]
        if not failed:
            size = batch_size(self.settings.get("batch", "1"), len(answered))
            if size < len(answered):
                # [perf] More than one batch: every target pulls the new image now, all at once,
                # while the old version serves; each batch then starts from a local image.
                # Best effort (a minion whose pull failed pulls again, and fails, in its batch).
                self.renew()
                self.port.pre_pull(answered, request)
            switched = []
            for index in range(0, len(answered), size):
                group = answered[index : index + size]
                self.renew()
                batches.append(group)
                results = self.port.apply(group, request)
                minions.update(results)
                switched += [m for m in group if results[m]["result"] and results[m]["changed"]]
                if not all(results[m]["result"] for m in group):
                    failed, reason = True, f"batch {len(batches)} failed"
                    break
            skipped = [m for m in answered if m not in minions]
            for mid in skipped:
                minions[mid] = {"result": False, "changed": False, "comment": "skipped: an earlier batch failed", "duration": 0}
            if failed and switched and current and current.get("digest") != request["digest"]:
                back = self.port.apply(switched, dict(current, kind="rollback"))
                rolled_back = [m for m in switched if back[m]["result"]]
                for mid in switched:
                    minions[mid]["comment"] = f"rolled back to {current['digest']}: {back[mid]['comment']}"[:1000]
        finished = clock.now()
        if silent and not failed:
            reason = f"did not answer (they converge when they return): {', '.join(silent)}"[:500]
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
        )
        self._record(outcome, request, failed, finished)
        self.audit.append("deploy", **outcome)
        self.announce("outcome", outcome, notify=False)
        if kind != "converge" or not outcome["result"]:
            self.notifier.enqueue("succeeded" if outcome["result"] else "failed", dict(outcome, environment=self.env))
        return outcome

    def _record(self, outcome, request, failed, finished):
        with self.store.transaction(self.env) as record:
            if not failed:
                store.make_current(record, request, finished)
            for mid, res in outcome["minions"].items():
                entry = record["minions"].setdefault(mid, {})
                entry.update(result=res["result"], comment=res["comment"][:300], at=round(finished, 3))
                if res["result"] and not res["comment"].startswith("rolled back"):
                    if entry.get("digest") != request["digest"]:
                        entry["since"] = round(finished, 3)
                    entry["digest"] = request["digest"]
            summary = {k: outcome[k] for k in ("digest", "tag", "kind", "approver", "result", "reason", "started", "finished", "duration", "rolled_back", "event_id")}
            summary["minions"] = {m: {"result": r["result"], "duration": r.get("duration", 0)} for m, r in outcome["minions"].items()}
            store.add_deploy(record, summary)
            if record.get("claim"):
                record["claim"].pop("request", None)

    # -- convergence --------------------------------------------------------------------
    def converge(self, minions, current):
        """Put ``minions`` (or every drifted minion when None) on the current digest."""
        if not current:
            return {"result": True, "reason": "no current digest yet", "minions": {}}
        if minions is None:
            running = self.port.running(None)
            known = self.store.read(self.env)["minions"]
            minions = sorted(
                m for m, d in running.items() if d != current["digest"] and not _recently_failed(known.get(m), clock.now())
            )
        else:
            minions, _ = self.port.targets(minions)  # only this environment's app minions
        if not minions:
            return {"result": True, "reason": "nothing to converge", "digest": current["digest"], "minions": {}}
        request = dict(current, kind="converge")
        return self.deploy_one(request, current, only=minions)
