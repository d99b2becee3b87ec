"""
saltpipe runner: the deploy lifecycle of the master's environment.

Loaded on the master through ``runner_dirs`` (infra/render/salt-config/master.ts). The logic lives
in plain modules beside this tree, put on ``sys.path`` below: ``salt-states/lib/saltpipe_core``
(the pure deploy core) and ``salt-states/lib/saltpipe_master`` (the Salt port, the plan
generation, the wiring of an environment from the master config key ``saltpipe``). This file
holds the public functions. Every function returns JSON-able data; a refused request returns
``{"result": False, "error": ..., "retcode": 1}`` and ``salt-run`` exits 1 (so does a failed
deploy: ``result`` False).

=====================================  ===============================================
``saltpipe.receive env digest ...``     a verified push (reactor/registry.sls): dedupe, order,
                                        policy, approval, queue, deploy
``saltpipe.rollback env [to=DIGEST]``   redeploy the previous (or a named) digest
``saltpipe.approve env [digest=...]``   deploy the push waiting for approval
``saltpipe.reject env [digest=...]``    drop it
``saltpipe.converge env [minion=ID]``   put one minion (or every drifted one) on current
``saltpipe.reconcile``                  start-up / periodic: dead claims, pending work,
                                        expired approvals, drift, notification outbox
``saltpipe.refused env reason``         audit a refused notification (reactor, SQS engine)
``saltpipe.run_pending env``            run the pending push (SQS engine, after recording)
``saltpipe.reset_order env [to=TIME]``  lower the ordering mark (a far-future timestamp got in)
``saltpipe.status env``                 everything the status command shows
=====================================  ===============================================
"""

import copy
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
# The master-side libraries (salt-states/lib) and the names the minions share
# (salt/_utils/saltpipe_shared.py: what a minion's direct call returns, read by the port).
for _path in (os.path.join(_HERE, "..", "..", "lib"), os.path.join(_HERE, "..", "_utils")):
    sys.path.insert(0, os.path.abspath(_path))

# pylint: disable=wrong-import-position
from saltpipe_core import audit as audit_mod  # noqa: E402
from saltpipe_core import claim, clock, decide, store  # noqa: E402
from saltpipe_core import status as status_mod  # noqa: E402
from saltpipe_master import wiring  # noqa: E402
from saltpipe_master.port import MINION_RE, fire_event  # noqa: E402
from saltpipe_master.wiring import Refused  # noqa: E402
from saltpipe_shared import DIGEST_RE  # noqa: E402

__virtualname__ = "saltpipe"


def __virtual__():
    return __virtualname__


def _fire(tag, data):
    fire_event(__opts__, tag, data)


def _entry(fun):
    """Runner entry: ``Refused`` → result False + error + exit code 1; outbox flushed."""

    def wrapper(*args, **kwargs):
        jid = kwargs.get("__pub_jid", "")
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("__")}
        try:
            ret = fun(*args, jid=jid, **kwargs)
        except Refused as exc:
            __context__["retcode"] = 1
            return {"result": False, "error": str(exc), "retcode": 1}
        finally:
            wiring.notifier(__opts__).flush()
        if isinstance(ret, dict) and ret.get("result") is False:
            # salt-run exits with a returned "retcode"; orchestrate reads __context__.
            __context__["retcode"] = 1
            ret["retcode"] = 1
        return ret

    wrapper.__doc__ = fun.__doc__
    wrapper.__name__ = fun.__name__
    return wrapper


def _finish(lc, outcomes, digest):
    """The outcome of ``digest`` among those the loop ran (the loop may run newer ones too)."""
    mine = [o for o in outcomes if o.get("digest") == digest]
    if mine:
        return dict(mine[0], ran=[o.get("digest") for o in outcomes])
    return {"result": True, "action": "superseded", "digest": digest, "ran": [o.get("digest") for o in outcomes]}


# -- public functions -------------------------------------------------------------------
@_entry
def receive(environment, digest, repository="", tag="", event_id="", timestamp="", deploy=True, jid=""):
    """
    A verified registry push (handed over by reactor/registry.sls), or an ECR event from the
    ``saltpipe_sqs`` engine with ``deploy=False``: then the push is only recorded
    (``action: recorded``; the engine deletes the message and calls ``run_pending``).

    .. code-block:: bash

        salt-run saltpipe.receive dev sha256:0123... tag=dev-1a2b event_id=... timestamp=2026-11-25T10:00:00Z
    """
    environment = wiring.check_env(__opts__, environment)
    if not DIGEST_RE.fullmatch(str(digest)):
        raise Refused(f"invalid digest {digest!r} (want sha256:<64 hex>)")
    lc = wiring.lifecycle(__opts__, environment, jid)
    request = {
        "digest": digest, "tag": str(tag), "repository": str(repository), "event_id": str(event_id),
        "timestamp": str(timestamp), "order": clock.parse_ns(timestamp) or 0, "kind": "push",
    }
    base = {k: request[k] for k in ("digest", "tag", "repository", "event_id", "timestamp")}
    # What would this push do? Only one that would deploy (or wait for approval) costs a
    # question to the registry - asked outside the record's lock.
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        peek, why, _ = decide.receive(copy.deepcopy(record), request, lc.settings, clock.now())
    _announce_expired(lc, expired)
    if peek == "future":
        return _refuse_push(lc, base, why)
    if peek in ("deploy", "approval"):
        ok, why = wiring.verify_with_registry(__opts__, request)
        if not ok:
            return _refuse_push(lc, base, why)
    with lc.store.transaction(environment) as record:
        action, reason, superseded = decide.receive(record, request, lc.settings, clock.now())
        claimed = action == "deploy" and deploy is True and lc.try_claim(record, digest, "push")
    if action == "future":
        return _refuse_push(lc, base, reason)
    lc.audit.append("received", action=action, reason=reason, superseded=superseded, **base)
    if action in ("duplicate", "replay", "current"):
        lc.announce("skipped", dict(base, result=True, reason="duplicate event id" if action == "duplicate" else reason), notify=False)
        return dict(base, result=True, action=action, reason=reason)
    if action == "ignored":
        lc.announce("ignored", dict(base, reason=reason))
        return dict(base, result=True, action=action, reason=reason)
    if action == "approval":
        lc.announce("pending-approval", dict(base, superseded=superseded, expires=clock.iso(clock.now() + lc.settings["approval_expires"])))
        return dict(base, result=True, action="pending-approval", superseded=superseded)
    if deploy is not True:
        return dict(base, result=True, action="recorded", superseded=superseded)
    if not claimed:
        lc.announce("queued", dict(base, superseded=superseded), notify=False)
        return dict(base, result=True, action="queued", reason="a deploy is in progress; this push runs next", superseded=superseded)
    return _finish(lc, lc.drive(), digest)


def _refuse_push(lc, base, reason):
    """A push that must not deploy: audited, announced, the record untouched, no minion job."""
    lc.audit.append("refused", reason=reason, **base)
    _fire(f"saltpipe/hook/{lc.env}/refused", {"reason": reason[:300], "digest": base["digest"], "event_id": base["event_id"]})
    return dict(base, result=False, action="refused", error=reason)


@_entry
def reset_order(environment, to="now", approver="", jid=""):
    """
    Lower the environment's ordering mark to ``to`` (an RFC 3339 time, or ``now``: the
    master's clock) - for when an event with a far-future timestamp got in and every real
    push since is a "replay". Audited with the operator and the old marks.

    .. code-block:: bash

        salt-run saltpipe.reset_order dev
        salt-run saltpipe.reset_order dev to=2026-12-01T10:00:00Z
    """
    environment = wiring.check_env(__opts__, environment)
    approver = wiring.check_approver(approver)
    order = clock.now_ns() if str(to) == "now" else clock.parse_ns(str(to))
    if order is None:
        raise Refused(f"invalid time {to!r} (want now or an RFC 3339 time such as 2026-12-01T10:00:00Z)")
    lc = wiring.lifecycle(__opts__, environment, jid)
    with lc.store.transaction(environment) as record:
        old = decide.reset_order(record, order)
    lc.audit.append("order-reset", approver=approver, to=str(to), order=order, old=old)
    return {"result": True, "action": "order-reset", "order": order, "old": old, "approver": approver}


@_entry
def run_pending(environment, jid=""):
    """
    Run the environment's pending push, if no deploy runs (the ``saltpipe_sqs`` engine calls
    it after a batch was recorded and deleted). A running deploy picks it up when it ends.
    """
    environment = wiring.check_env(__opts__, environment)
    lc = wiring.lifecycle(__opts__, environment, jid)
    with lc.store.transaction(environment) as record:
        pending = record.get("pending")
        claimed = bool(pending) and lc.try_claim(record, pending["digest"], pending.get("kind", "push"))
    if not pending:
        return {"result": True, "action": "nothing"}
    if not claimed:
        return {"result": True, "action": "queued", "digest": pending["digest"], "reason": "a deploy is in progress; it runs this next"}
    outcomes = lc.drive()
    return {"result": all(o.get("result") for o in outcomes), "action": "ran", "ran": [o.get("digest") for o in outcomes]}


@_entry
def rollback(environment, to=None, approver="", jid=""):
    """
    Redeploy the previous digest (or ``to``, one that ran in this environment) through the
    same health-gated rolling path.

    .. code-block:: bash

        salt-run saltpipe.rollback dev
        salt-run saltpipe.rollback dev to=sha256:0123...
    """
    environment = wiring.check_env(__opts__, environment)
    lc = wiring.lifecycle(__opts__, environment, jid)
    approver = wiring.check_approver(approver)
    with lc.store.transaction(environment) as record:
        current = record.get("current")
        if not current:
            raise Refused(f"nothing to roll back: {environment} has no deployed digest yet")
        known = store.known_digests(record)
        target = to or (record["previous"][0]["digest"] if record["previous"] else None)
        if target is None:
            raise Refused(f"nothing to roll back to: {current['digest']} is the only digest {environment} ever ran")
        if target not in known:
            raise Refused(
                f"digest {target} never ran in {environment}; known: " + ", ".join(known[:10])
            )
        if target == current["digest"]:
            raise Refused(f"{target} is already the current digest of {environment}")
        entry = next(p for p in record["previous"] if p["digest"] == target)
        record["pending"] = {
            "digest": target, "tag": entry.get("tag", ""), "kind": "rollback", "approver": approver,
            "order": int(current.get("order") or 0), "event_id": "", "repository": "",
        }
        claimed = lc.try_claim(record, target, "rollback")
    lc.audit.append("rollback-requested", digest=target, approver=approver, queued=not claimed)
    if not claimed:
        return {"result": True, "action": "queued", "digest": target, "reason": "a deploy is in progress; the rollback runs next"}
    return _finish(lc, lc.drive(), target)


def _announce_expired(lc, expired):
    if expired:
        lc.audit.append("approval-expired", digest=expired["digest"], tag=expired.get("tag", ""))
        lc.announce("approval-expired", {"digest": expired["digest"], "tag": expired.get("tag", "")})


def _take_approval(lc, environment, digest):
    """Take the approval (``digest``, when given, must be it); an expired one is dropped first."""
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        approval = record.get("approval")
        if approval and (not digest or digest == approval["digest"]):
            record["approval"] = None
    _announce_expired(lc, expired)
    if not approval:
        raise Refused(f"no push of {environment} waits for approval" + (" (it expired)" if expired else ""))
    if digest and digest != approval["digest"]:
        raise Refused(f"{digest} does not wait for approval; {approval['digest']} ({approval.get('tag', '')}) does")
    return approval


@_entry
def approve(environment, digest=None, approver="", jid=""):
    """
    Deploy the push waiting for approval (``digest``, when given, must be that one).

    .. code-block:: bash

        salt-run saltpipe.approve prod approver=alice
    """
    environment = wiring.check_env(__opts__, environment)
    lc = wiring.lifecycle(__opts__, environment, jid)
    approver = wiring.check_approver(approver)
    approval = _take_approval(lc, environment, digest)
    request = {k: v for k, v in approval.items() if k not in ("received", "expires")}
    request.update(kind="approved", approver=approver)
    with lc.store.transaction(environment) as record:
        superseded = (record.get("pending") or {}).get("digest")
        record["pending"] = request
        claimed = lc.try_claim(record, request["digest"], "approved")
    lc.audit.append("approved", digest=request["digest"], tag=request.get("tag", ""), approver=approver, superseded=superseded)
    if not claimed:
        return {"result": True, "action": "queued", "digest": request["digest"], "approver": approver}
    return _finish(lc, lc.drive(), request["digest"])


@_entry
def reject(environment, digest=None, approver="", reason="", jid=""):
    """
    Drop the push waiting for approval.

    .. code-block:: bash

        salt-run saltpipe.reject prod approver=alice reason="not today"
    """
    environment = wiring.check_env(__opts__, environment)
    lc = wiring.lifecycle(__opts__, environment, jid)
    approver = wiring.check_approver(approver)
    approval = _take_approval(lc, environment, digest)
    data = {"digest": approval["digest"], "tag": approval.get("tag", ""), "approver": approver, "reason": str(reason)[:300]}
    lc.audit.append("rejected", **data)
    lc.announce("rejected", data)
    return dict(data, result=True, action="rejected")


@_entry
def converge(environment, minion=None, jid=""):
    """
    Put ``minion`` (a minion that started or was accepted) - or, without it, every minion
    that does not serve the current digest - on the environment's current digest.

    .. code-block:: bash

        salt-run saltpipe.converge dev minion=minion-2
    """
    environment = wiring.check_env(__opts__, environment)
    if minion is not None and not MINION_RE.fullmatch(str(minion)):
        raise Refused(f"invalid minion id {minion!r}")
    lc = wiring.lifecycle(__opts__, environment, jid)
    with lc.store.transaction(environment) as record:
        current = record.get("current")
        if not current:
            return {"result": True, "action": "nothing", "reason": "no current digest yet"}
        claimed = lc.try_claim(record, current["digest"], "converge")
        if minion is not None:
            # Queued for the claim's owner when a deploy runs: it converges it right after.
            record["reconverge"] = sorted(set(record.get("reconverge") or []) | {str(minion)})
    if not claimed:
        return {"result": True, "action": "queued", "minion": minion, "reason": "a deploy is in progress; converges after it"}
    if minion is not None:
        outcomes = lc.drive()
        return {"result": all(o.get("result") for o in outcomes), "action": "converged", "outcomes": outcomes}
    outcome = lc.converge(None, current)
    lc.drive()  # releases the claim (and runs anything queued meanwhile)
    return dict(outcome, action="converged")


@_entry
def reconcile(environment=None, jid=""):
    """
    Start-up and periodic reconciliation (run by the ``saltpipe_reconcile`` engine): expire
    approvals, take over a dead or expired claim and finish its work, run what is pending,
    converge minions that drifted from the current digest, deliver queued notifications.
    """
    environment = wiring.check_env(__opts__, environment or wiring.settings(__opts__).get("environment", ""))
    lc = wiring.lifecycle(__opts__, environment, jid)
    lc.notifier.start()
    wiring.fold_refusals(__opts__, environment)
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        stale = record.get("claim") if not claim.live(record.get("claim"), clock.now()) else None
        current = record.get("current")
        claimed = lc.try_claim(record, (current or {}).get("digest", ""), "reconcile")
    _announce_expired(lc, expired)
    if not claimed:
        return {"result": True, "action": "busy", "reason": "a deploy is in progress"}
    outcomes = lc.drive()  # pending work, including what a dead owner left
    drift = {"result": True, "reason": "no current digest yet"}
    if current:
        with lc.store.transaction(environment) as record:
            claimed = lc.try_claim(record, current["digest"], "converge")
        if claimed:
            drift = lc.converge(None, record.get("current") or current)
            lc.drive()
    return {
        "result": all(o.get("result") for o in outcomes) and drift.get("result", True),
        "took_over": (stale or {}).get("owner"),
        "ran": [o.get("digest") for o in outcomes],
        "drift": drift,
    }


@_entry
def refused(environment, reason="", event_id="", jid=""):
    """Audit a notification the reactor refused (never a header or a secret) and say so on the bus."""
    environment = wiring.check_env(__opts__, environment)
    reason = str(reason)[:300]
    state_dir = wiring.state_dir(__opts__)
    audit_mod.Audit(state_dir if os.path.isdir(state_dir) else wiring.mkdir(state_dir), environment).append(
        "refused", reason=reason, event_id=str(event_id)[:128]
    )
    _fire(f"saltpipe/hook/{environment}/refused", {"reason": reason})
    return {"result": True, "action": "refused", "reason": reason}


@_entry
def status(environment, deploys=10, audit=20, live=True, jid=""):
    """
    Everything the status command shows, as JSON: ``current`` (digest), ``current_tag``,
    ``current_since``, ``previous`` digests, ``claim`` (with ``live``), ``pending`` push,
    ``approval``, the last ``deploys`` outcomes with durations, ``minions`` (a list: id, os,
    salt, digest, since, serving, proxy, on_current, last_result, last_deploy), the last
    ``audit`` entries, undelivered notifications, known digests.

    .. code-block:: bash

        salt-run --out=json saltpipe.status dev
    """
    environment = wiring.check_env(__opts__, environment)
    lc = wiring.lifecycle(__opts__, environment, jid)
    outbox = {"queued": len(lc.notifier.pending()), "stranded": len(lc.notifier.stranded()), "dead": len(lc.notifier.dead_letters())}
    return status_mod.report(
        environment, lc.store.read(environment), clock.now(), lc.port.inventory() if live else {},
        lc.audit.tail(int(audit)), wiring.fold_refusals(__opts__, environment), outbox, lc.settings, deploys,
    )

