"""Unit tests of saltpipe_core.ecr: the ECR-event intake of the SQS transport (pure)."""

import copy
import json
import unittest

from support import digest
from saltpipe_core import ecr

EXPECTED = {
    "account": "123456789012",
    "region": "eu-west-1",
    "repository": "saltpipe/app",
    "tag_pattern": "^prod(-[A-Za-z0-9_.-]+)?$",
    "allow_missing_account": False,
}


def event(**over):
    """An ECR push event as EventBridge delivers it to SQS (AWS documentation's shape)."""
    ev = {
        "version": "0",
        "id": "13cde686-328b-6117-af20-0e5566167482",
        "detail-type": "ECR Image Action",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2026-12-02T01:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "result": "SUCCESS",
            "repository-name": "saltpipe/app",
            "image-digest": digest(7),
            "action-type": "PUSH",
            "image-tag": "prod-1a2b3c4",
        },
    }
    detail = over.pop("detail", {})
    ev.update(over)
    ev["detail"].update(detail)
    return ev


class IntakeTest(unittest.TestCase):
    def test_a_push_of_this_repository_becomes_the_receive_request(self):
        request, reason = ecr.intake(event(), EXPECTED)
        self.assertIsNone(reason)
        self.assertEqual(request, {
            "repository": "saltpipe/app", "digest": digest(7), "tag": "prod-1a2b3c4",
            "event_id": "13cde686-328b-6117-af20-0e5566167482", "timestamp": "2026-12-02T01:00:00Z",
        })

    def test_each_check_refuses_with_its_reason(self):
        cases = {
            "event id missing or malformed": event(id="no spaces allowed"),
            "source 'aws.s3' is not aws.ecr": event(source="aws.s3"),
            "detail-type 'ECR Image Scan' is not 'ECR Image Action'": event(**{"detail-type": "ECR Image Scan"}),
            "account '210987654321' is not this stack's (123456789012)": event(account="210987654321"),
            "account None is not this stack's (123456789012)": event(account=None),
            "region 'us-east-1' is not this stack's (eu-west-1)": event(region="us-east-1"),
            "event time missing or malformed": event(time="yesterday"),
            "action-type 'DELETE' is not PUSH": event(detail={"action-type": "DELETE"}),
            "result 'FAILURE' is not SUCCESS": event(detail={"result": "FAILURE"}),
            "repository 'other/app' is not 'saltpipe/app'": event(detail={"repository-name": "other/app"}),
            "image-digest is not sha256:<64 hex>": event(detail={"image-digest": "sha256:abc"}),
            "push without a tag (by digest): nothing names an environment": event(detail={"image-tag": ""}),
            "tag 'dev-1' is not for this environment": event(detail={"image-tag": "dev-1"}),
        }
        for reason, ev in cases.items():
            with self.subTest(reason=reason):
                self.assertEqual(ecr.intake(ev, EXPECTED), (None, reason))

    def test_checks_are_full_matches(self):
        self.assertEqual(ecr.intake(event(detail={"image-digest": digest(7) + "\n"}), EXPECTED)[1],
                         "image-digest is not sha256:<64 hex>")
        self.assertEqual(ecr.intake(event(detail={"image-tag": "prod-1\nx"}), EXPECTED)[1],
                         "tag 'prod-1\\nx' is not for this environment")

    def test_no_detail_object(self):
        ev = event()
        ev["detail"] = "PUSH"
        self.assertEqual(ecr.intake(ev, EXPECTED), (None, "no detail object"))

    def test_a_missing_account_passes_only_for_an_emulator(self):
        allow = dict(EXPECTED, allow_missing_account=True)
        self.assertIsNone(ecr.intake(event(account=None), allow)[1])
        # Allowing a missing account never lets another account through.
        self.assertEqual(ecr.intake(event(account="210987654321"), allow)[1],
                         "account '210987654321' is not this stack's (123456789012)")

    def test_no_tag_pattern_refuses_every_tag(self):
        self.assertEqual(ecr.intake(event(), dict(EXPECTED, tag_pattern=""))[1],
                         "tag 'prod-1a2b3c4' is not for this environment")


class ParseTest(unittest.TestCase):
    def test_json_objects_parse_everything_else_is_unparseable(self):
        self.assertEqual(ecr.parse(json.dumps(event()))["id"], event()["id"])
        for bad in ("not json {", "[1, 2]", '"text"', None, "x" * (ecr.MAX_BODY + 1)):
            with self.subTest(bad=str(bad)[:20]):
                with self.assertRaises(ecr.Unparseable):
                    ecr.parse(bad)

    def test_a_batch_sorts_by_event_time(self):
        late, early = event(time="2026-12-02T01:00:05Z"), event(time="2026-12-02T01:00:01Z")
        broken = copy.deepcopy(early)
        broken["time"] = None
        self.assertEqual(sorted([late, broken, early], key=ecr.order_key), [early, late, broken])


if __name__ == "__main__":
    unittest.main()
