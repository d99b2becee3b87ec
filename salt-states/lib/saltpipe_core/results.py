"""
What one minion's ``state.sls`` return means for a rollout, and what of it may leave the master.

:func:`minion_result` is the health gate's reading of a return: a minion counts as deployed
only when every state chunk returned ``result: True`` (not ``None``: test mode plans and
changes nothing) AND the deploy state itself ran and says the wanted digest serves - the
no-digest fallback (``test.nop``) or a missing chunk never counts. ``switched`` tells the
rollout whether the minion may have moved traffic (so a failed batch puts it back): yes
after a success, and after a failure that did not say it restored the old container (a
state that raised, no usable return); no when the state reported its own clean rollback.

:func:`split` and :func:`redact`: container log tails and pre-switch output are detail. The
summary goes to events, the audit and notifications; the detail stays on the master, in
the record (``details``, read with status), with obvious secrets redacted.
"""

import re

# The state writes "<summary>\n--- output ---\n<detail>" (DETAIL_MARK of salt/_utils/saltpipe_shared.py).
DETAIL_MARK = "\n--- output ---\n"
SUMMARY_MAX = 500
DETAIL_MAX = 2000

_REDACTIONS = (
    # scheme://user:password@host
    (re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), r"\1***:***@"),
    # Authorization: Bearer/Basic <token>
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    # password=..., secret: ..., api_key=..., token=...
    (
        re.compile(
            r"(?i)\b([A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)"
            r"(\"?\s*[=:]\s*\"?)[^\s\"',;&]+"
        ),
        r"\1\2***",
    ),
    # well-known token shapes: AWS access key ids, GitHub/GitLab/Slack tokens, JWTs
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "***"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,}|xox[abpr]-[A-Za-z0-9-]{10,})\b"), "***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), "***"),
)


def redact(text):
    """``text`` with credentials in URLs, ``password=``-style values and known token shapes masked."""
    text = str(text or "")
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def split(comment):
    """(summary, detail) of a state comment; both redacted and bounded."""
    summary, _, detail = str(comment or "").partition(DETAIL_MARK)
    return redact(summary)[:SUMMARY_MAX], redact(detail)[-DETAIL_MAX:] if detail else ""


def _is_deploy_chunk(key, fun):
    parts = str(key).split("_|-")
    return len(parts) == 4 and parts[0] == "saltpipe_app" and parts[3] == fun


def minion_result(ret, digest, fun="deployed", planned=False):
    """
    ``{result, changed, switched, comment, detail, duration}`` of one minion's return.

    ``fun``: the saltpipe_app state that must have run (``deployed`` or ``pre_switched``);
    ``planned``: a plan-only run (``test=True``, the real-Salt test harness), where the
    deploy state's ``None`` with "would deploy <...@digest>" counts.
    """
    if not isinstance(ret, dict):
        text = "; ".join(str(r) for r in ret) if isinstance(ret, list) else str(ret)
        summary, detail = split(text)
        return {"result": False, "changed": False, "switched": True, "comment": summary, "detail": detail, "duration": 0}
    ok, changed, raised, comments, details, duration = True, False, False, [], [], 0.0
    gate = None  # the deploy state's verdict
    for key, chunk in ret.items():
        if not isinstance(chunk, dict):
            summary, detail = split(chunk)
            return {"result": False, "changed": False, "switched": True, "comment": summary, "detail": detail, "duration": 0}
        result, comment = chunk.get("result"), str(chunk.get("comment") or "")
        if chunk.get("changes"):
            changed = True
        if result is not True:
            ok = False
        if result is False and not chunk.get("changes") and ("Traceback" in comment or "An exception occurred" in comment):
            raised = True
        duration += float(chunk.get("duration") or 0) / 1000
        summary, detail = split(comment)
        if summary and (result is not True or chunk.get("changes")):
            comments.append(summary)
        if detail:
            details.append(detail)
        if _is_deploy_chunk(key, fun):
            if fun == "deployed":
                serving = result is True and f"serves {digest}" in comment
                planned_ok = planned and result is None and "would deploy" in comment and digest in comment
                gate = serving or planned_ok
            else:
                gate = result is True or (planned and result is None)
    if gate is None:
        ok = False
        comments.append(f"the {fun} state did not run (no digest in its pillar?)")
    elif planned:
        ok = gate and all(c.get("result") in (True, None) for c in ret.values())
    else:
        ok = ok and gate
    restored = any(isinstance(c, dict) and "rolled_back" in (c.get("changes") or {}) for c in ret.values())
    return {
        "result": bool(ok),
        "changed": changed,
        "switched": bool(ok and changed) or (not ok and not restored and raised),
        "comment": "; ".join(comments)[:SUMMARY_MAX * 2],
        "detail": "\n".join(details)[-DETAIL_MAX:],
        "duration": round(duration, 3),
    }
