"""
ECR push events as they arrive through EventBridge → SQS: the checks before anything else.

One intake, two transports: a registry notification (reactor/registry.sls) and an ECR event
(this module, called by the ``saltpipe_sqs`` engine) both end as the same request for
``saltpipe.receive`` (the record: duplicates, replays, tag policy, approval, newest wins,
audit). This module only decides whether an SQS message body is an ECR push of *this*
stack's repository, in *this* account and region, and turns it into that request.

Pure: no I/O, no Salt, no boto3.

- ``parse(body)``: the JSON envelope, or raises ``Unparseable`` (the engine leaves such a
  message in the queue; the queue's redrive policy moves it to the dead-letter queue after
  ``maxReceiveCount`` receives).
- ``intake(envelope, expected)``: ``(request, None)`` for a push to deploy, or
  ``(None, reason)`` for one to refuse (the engine audits the reason and deletes the
  message: it will never become valid).

``expected``: ``account`` (12 digits), ``region``, ``repository``, ``tag_pattern`` (Python
regex, full match) and ``allow_missing_account`` (emulators only: moto delivers
``"account": null`` for events sent with ``put_events``; on AWS EventBridge always fills the
sender's account, so a missing one is refused).
"""

import json
import re

from . import clock

SOURCE = "aws.ecr"
DETAIL_TYPE = "ECR Image Action"
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
ACCOUNT_RE = re.compile(r"[0-9]{12}")
# EventBridge event ids are UUIDs; the record keeps ids of this shape only.
EVENT_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_BODY = 256 * 1024


class Unparseable(ValueError):
    """The body is not a JSON object: it can never be decided (dead-letter queue)."""


def parse(body):
    """The envelope (a dict) of an SQS message body, or raises ``Unparseable``."""
    if not isinstance(body, str):
        raise Unparseable("body is not text")
    if len(body) > MAX_BODY:
        raise Unparseable(f"body larger than {MAX_BODY} bytes")
    try:
        envelope = json.loads(body)
    except ValueError as exc:
        raise Unparseable(f"not JSON: {str(exc)[:120]}") from None
    if not isinstance(envelope, dict):
        raise Unparseable("not a JSON object")
    return envelope


def order_key(envelope):
    """Sort key of a batch: the event's ``time`` (ns), undecidable ones last."""
    when = clock.parse_ns(envelope.get("time")) if isinstance(envelope, dict) else None
    return (when is None, when or 0)


def _text(value):
    return value if isinstance(value, str) else ""


def intake(envelope, expected):
    """``(request, None)`` for a push of this stack's repository, else ``(None, reason)``."""
    event_id = _text(envelope.get("id"))
    if not EVENT_ID_RE.fullmatch(event_id):
        return None, "event id missing or malformed"
    if envelope.get("source") != SOURCE:
        return None, f"source {_text(envelope.get('source'))[:64]!r} is not {SOURCE}"
    if envelope.get("detail-type") != DETAIL_TYPE:
        return None, f"detail-type {_text(envelope.get('detail-type'))[:64]!r} is not {DETAIL_TYPE!r}"
    account = envelope.get("account")
    if account is None and expected.get("allow_missing_account"):
        pass  # an emulator's envelope (see the module docstring)
    elif account != expected.get("account"):
        return None, f"account {_text(account)[:20] or account!r} is not this stack's ({expected.get('account')})"
    if envelope.get("region") != expected.get("region"):
        return None, f"region {_text(envelope.get('region'))[:32]!r} is not this stack's ({expected.get('region')})"
    timestamp = _text(envelope.get("time"))
    if clock.parse_ns(timestamp) is None:
        return None, "event time missing or malformed"
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        return None, "no detail object"
    if detail.get("action-type") != "PUSH":
        return None, f"action-type {_text(detail.get('action-type'))[:32]!r} is not PUSH"
    if detail.get("result") != "SUCCESS":
        return None, f"result {_text(detail.get('result'))[:32]!r} is not SUCCESS"
    repository = _text(detail.get("repository-name"))
    if repository != expected.get("repository"):
        return None, f"repository {repository[:128]!r} is not {expected.get('repository')!r}"
    digest = _text(detail.get("image-digest"))
    if not DIGEST_RE.fullmatch(digest):
        return None, "image-digest is not sha256:<64 hex>"
    tag = _text(detail.get("image-tag"))
    if not tag:
        return None, "push without a tag (by digest): nothing names an environment"
    if not re.fullmatch(expected.get("tag_pattern") or "(?!)", tag):
        return None, f"tag {tag[:128]!r} is not for this environment"
    return {
        "repository": repository,
        "digest": digest,
        "tag": tag,
        "event_id": event_id,
        "timestamp": timestamp,
    }, None
