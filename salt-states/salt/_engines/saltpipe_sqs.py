"""
saltpipe_sqs engine: the master reads ECR push events from its SQS queue (AWS path).

ECR → EventBridge rule (this repository, PUSH, SUCCESS) → SQS queue (dead-letter queue by
its redrive policy) → this engine, with the master's instance role (only
``sqs:ReceiveMessage``, ``sqs:DeleteMessage``, ``sqs:GetQueueAttributes`` on this queue).
The master opens no port for events. Configured by the master config (rendered by
infra/render/sqs-engine.ts)::

    engines:
      - saltpipe_sqs:
          queue_url: https://sqs.eu-west-1.amazonaws.com/123456789012/saltpipe-prod-events
          region: eu-west-1
          wait_seconds: 20            # long polling
          max_messages: 10
          endpoint_url: ''            # emulators/testing only (moto)
          metadata_endpoint: ''       # emulators/testing only: instance metadata (credentials)
    saltpipe:
      events: {transport: sqs, account: '123456789012', region: eu-west-1, allow_missing_account: false}

Why our own engine and not ``saltext-sqs-events`` (1.0.4): that engine fires every body on
the event bus and deletes the message right after firing, whether or not anything took it,
so a master that is busy or restarting loses pushes; it also has no endpoint override for
an emulator. Here a message is deleted only after the record accepted or refused it
(``saltpipe_core.sqs``), so SQS's at-least-once delivery and redrive policy do their job.

Each batch: parse → sort by the event's ``time`` → per event: checks (``saltpipe_core.ecr``)
→ ``saltpipe.receive(deploy=False)`` or ``saltpipe.refused`` → delete; then, when something
was recorded, ``saltpipe.run_pending`` runs the rollout in this engine's thread (messages
that arrive meanwhile wait in the queue, durable, and collapse to the newest in the record).
"""

import logging
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))

# pylint: disable=wrong-import-position
from saltpipe_core import sqs  # noqa: E402

try:
    import boto3
    import botocore.config

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by __virtual__
    HAS_BOTO3 = False

log = logging.getLogger(__name__)

__virtualname__ = "saltpipe_sqs"


def __virtual__():
    if not HAS_BOTO3:
        return False, "saltpipe_sqs needs boto3 in Salt's Python (requirements/salt.txt; onedir: salt-pip)"
    return __virtualname__


def _client(region, endpoint_url, metadata_endpoint):
    if metadata_endpoint:
        # botocore's instance-metadata credential provider reads this (emulators only).
        os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = metadata_endpoint
    session = boto3.session.Session(region_name=region)
    config = botocore.config.Config(retries={"max_attempts": 3, "mode": "standard"}, read_timeout=40)
    return session.client("sqs", endpoint_url=endpoint_url or None, config=config)


class _Port:
    def __init__(self, environment, client, queue_url):
        self.env = environment
        self.client = client
        self.queue_url = queue_url

    def receive(self, request):
        return __runners__["saltpipe.receive"](self.env, request["digest"], deploy=False, **{
            k: request[k] for k in ("repository", "tag", "event_id", "timestamp")
        })

    def refuse(self, reason, event_id):
        __runners__["saltpipe.refused"](self.env, reason=reason, event_id=event_id)

    def delete(self, message):
        self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def _expected(settings):
    events = settings.get("events") or {}
    hook = settings.get("hook") or {}
    return {
        "account": str(events.get("account", "")),
        "region": str(events.get("region", "")),
        "repository": hook.get("repository", ""),
        "tag_pattern": hook.get("tag_pattern", ""),
        "allow_missing_account": bool(events.get("allow_missing_account")),
    }


def start(queue_url, region, wait_seconds=20, max_messages=10, endpoint_url="", metadata_endpoint=""):
    settings = __opts__.get("saltpipe") or {}
    environment = settings.get("environment", "")
    expected = _expected(settings)
    client = None
    log.info("saltpipe sqs: reading %s (%s) for environment %s", queue_url, region, environment)
    while True:
        try:
            client = client or _client(region, endpoint_url, metadata_endpoint)
            resp = client.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=int(max_messages),
                WaitTimeSeconds=int(wait_seconds),
                AttributeNames=["ApproximateReceiveCount"],
            )
        except Exception as exc:  # pylint: disable=broad-except
            log.warning("saltpipe sqs: receive from %s failed (retrying in 5 s): %s", queue_url, exc)
            client = None
            time.sleep(5)
            continue
        messages = resp.get("Messages") or []
        if not messages:
            continue
        try:
            if sqs.process(messages, expected, _Port(environment, client, queue_url), log):
                log.info("saltpipe sqs: %s", __runners__["saltpipe.run_pending"](environment))
        except Exception:  # pylint: disable=broad-except
            log.exception("saltpipe sqs: batch failed (undeleted messages come back after the visibility timeout)")
