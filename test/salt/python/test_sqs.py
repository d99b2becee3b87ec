"""Unit tests of saltpipe_core.sqs: one SQS batch → the record, deletes only after a decision."""

import json
import logging
import unittest

from test_ecr import EXPECTED, event
from support import digest
from saltpipe_core import sqs

LOG = logging.getLogger("test_sqs")


class FakePort:
    def __init__(self, fail=False):
        self.received, self.refused, self.deleted = [], [], []
        self.fail = fail

    def receive(self, request):
        if self.fail:
            raise OSError("record unavailable")
        self.received.append(request)
        return {"result": True, "action": "recorded"}

    def refuse(self, reason, event_id):
        self.refused.append((reason, event_id))

    def delete(self, message):
        self.deleted.append(message["MessageId"])


def message(mid, body, count="1"):
    return {"MessageId": mid, "ReceiptHandle": f"rh-{mid}", "Body": body,
            "Attributes": {"ApproximateReceiveCount": count}}


class ProcessTest(unittest.TestCase):
    def test_a_batch_is_recorded_oldest_first_then_deleted(self):
        port = FakePort()
        newer = event(id="b", time="2026-12-02T01:00:09Z", detail={"image-digest": digest(2)})
        older = event(id="a", time="2026-12-02T01:00:01Z", detail={"image-digest": digest(1)})
        batch = [message("m2", json.dumps(newer)), message("m1", json.dumps(older))]
        self.assertTrue(sqs.process(batch, EXPECTED, port, LOG))
        self.assertEqual([r["digest"] for r in port.received], [digest(1), digest(2)])
        self.assertEqual(port.deleted, ["m1", "m2"])

    def test_refused_events_are_audited_and_deleted_unparseable_ones_stay(self):
        port = FakePort()
        batch = [message("bad", "{not json", count="2"),
                 message("fail", json.dumps(event(id="f", detail={"result": "FAILURE"})))]
        self.assertFalse(sqs.process(batch, EXPECTED, port, LOG))
        self.assertEqual(port.received, [])
        self.assertEqual(port.deleted, ["fail"])
        self.assertEqual(port.refused[1], ("sqs: ECR event refused: result 'FAILURE' is not SUCCESS", "f"))
        self.assertRegex(port.refused[0][0], r"^sqs: unparseable message bad \(receive 2\): not JSON.*dead-letter queue$")

    def test_a_message_the_record_could_not_take_is_not_deleted(self):
        port = FakePort(fail=True)
        self.assertFalse(sqs.process([message("m", json.dumps(event()))], EXPECTED, port, LOG))
        self.assertEqual(port.deleted, [])


if __name__ == "__main__":
    unittest.main()
