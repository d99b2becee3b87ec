"""
One batch of SQS messages → the record, over an injected port (pure apart from the port).

The ``saltpipe_sqs`` engine (salt/_engines/saltpipe_sqs.py) receives a batch by long
polling and hands it here with a port that has:

- ``receive(request)``: ``saltpipe.receive`` without the deploy (records the push: dedupe,
  order, policy, approval, newest wins, audit) → its result dict;
- ``refuse(reason, event_id)``: ``saltpipe.refused`` (audit + ``saltpipe/hook/<env>/refused``);
- ``delete(message)``: ``sqs:DeleteMessage``.

Rules:

- A message is deleted only **after** the record accepted or refused it. If recording
  raises (master busy, disk full, …) it stays; SQS delivers it again after the visibility
  timeout and the redrive policy moves it to the dead-letter queue after ``maxReceiveCount``
  receives. A redelivery of one the record already took is a ``duplicate`` (same event id).
- A body that is not a JSON object is audited and **not** deleted: it goes to the
  dead-letter queue by the redrive policy (it can never be decided; an operator looks).
- A well-formed event that fails a check (other repository, account, region, FAILURE,
  non-PUSH, bad digest, foreign tag) is audited with its reason and deleted.
- The batch is taken in the order of the events' ``time`` (SQS standard queues do not
  keep order), so a batch that holds two pushes records the older first and the newer
  supersedes it before anything deploys.

Returns ``True`` when something was recorded for deploy (the engine then runs the pending
work: ``saltpipe.run_pending``).
"""

from . import ecr


def _count(message):
    return (message.get("Attributes") or {}).get("ApproximateReceiveCount", "?")


def process(messages, expected, port, log):
    parsed = []
    for message in messages:
        try:
            parsed.append((ecr.parse(message.get("Body")), message))
        except ecr.Unparseable as exc:
            port.refuse(
                f"sqs: unparseable message {str(message.get('MessageId'))[:64]} (receive {_count(message)}): "
                f"{exc}; left for the dead-letter queue",
                "",
            )
    parsed.sort(key=lambda pair: ecr.order_key(pair[0]))
    recorded = False
    for envelope, message in parsed:
        request, reason = ecr.intake(envelope, expected)
        event_id = str(envelope.get("id"))[:128] if ecr.EVENT_ID_RE.fullmatch(str(envelope.get("id"))) else ""
        try:
            if reason:
                port.refuse(f"sqs: ECR event refused: {reason}", event_id)
            else:
                ret = port.receive(request)
                if not isinstance(ret, dict):
                    raise RuntimeError(f"saltpipe.receive returned {ret!r}")
                if ret.get("action") == "recorded":
                    recorded = True
                log.info("saltpipe sqs: event %s (%s) → %s", event_id, request["digest"], ret.get("action") or ret.get("error"))
            port.delete(message)
        except Exception as exc:  # pylint: disable=broad-except
            log.warning("saltpipe sqs: message %s kept for redelivery: %s", message.get("MessageId"), exc)
    return recorded
