"""
saltpipe_core.registry_ecr: the master verifies an ECR push with ``ecr:DescribeImages``.

A real botocore ECR client with botocore's Stubber: every request is checked against the
ECR API's own model (parameter names and types), and the answers are the API's shapes.
The emulator run is test/e2e/aws-events.test.ts.
"""

import os
import unittest
from unittest import mock

import boto3
from botocore.stub import Stubber

from support import digest
from saltpipe_core import registry, registry_ecr

REPO = "saltpipe/app"


def stubbed(registry_id="123456789012"):
    client = boto3.session.Session(
        region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    ).client("ecr")
    stub = Stubber(client)
    return registry_ecr.EcrRegistry("eu-west-1", registry_id=registry_id, client=client), stub


def detail(d, tags=("prod-1",)):
    return {"imageDetails": [{"registryId": "123456789012", "repositoryName": REPO, "imageDigest": d, "imageTags": list(tags)}]}


class EcrVerifyTest(unittest.TestCase):
    def test_a_held_digest_and_its_tag_verify(self):
        client, stub = stubbed()
        d = digest(1)
        stub.add_response("describe_images", detail(d), {"registryId": "123456789012", "repositoryName": REPO, "imageIds": [{"imageDigest": d}]})
        stub.add_response("describe_images", detail(d), {"registryId": "123456789012", "repositoryName": REPO, "imageIds": [{"imageTag": "prod-1"}]})
        with stub:
            self.assertEqual(registry.verify(client, REPO, d, "prod-1"), (True, ""))
        stub.assert_no_pending_responses()

    def test_a_digest_ecr_lacks_is_refused_with_the_reason(self):
        client, stub = stubbed()
        stub.add_client_error("describe_images", service_error_code="ImageNotFoundException", service_message="The image requested does not exist", http_status_code=400)
        with stub:
            ok, why = registry.verify(client, REPO, digest(2))
        self.assertFalse(ok)
        self.assertEqual(why, f"the registry does not hold {REPO}@{digest(2)}")

    def test_a_tag_that_points_elsewhere_is_refused(self):
        client, stub = stubbed()
        stub.add_response("describe_images", detail(digest(3)))
        stub.add_response("describe_images", detail(digest(4), tags=("prod-2",)))
        with stub:
            ok, why = registry.verify(client, REPO, digest(3), "prod-2")
        self.assertFalse(ok)
        self.assertIn(f"resolves to {digest(4)}, not {digest(3)}", why)

    def test_ecr_that_cannot_answer_is_a_refusal_that_says_so(self):
        for code in ("AccessDeniedException", "RepositoryNotFoundException", "ThrottlingException"):
            client, stub = stubbed()
            stub.add_client_error("describe_images", service_error_code=code, service_message="no", http_status_code=400)
            with stub:
                ok, why = registry.verify(client, REPO, digest(5))
            self.assertFalse(ok)
            self.assertEqual(why, f"could not verify with the registry: ECR {code}: no")

    # Fake credentials and no instance metadata: the only address dialled is 127.0.0.1.
    @mock.patch.dict(os.environ, {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true"})
    def test_an_unreachable_endpoint_is_a_refusal(self):
        client = registry_ecr.EcrRegistry("eu-west-1", endpoint_url="http://127.0.0.1:9", timeout=0.5)
        ok, why = registry.verify(client, REPO, digest(6))
        self.assertFalse(ok)
        self.assertTrue(why.startswith("could not verify with the registry: ECR "), why)

    def test_the_registry_id_is_sent_only_when_configured(self):
        client, stub = stubbed(registry_id="")
        stub.add_response("describe_images", detail(digest(7)), {"repositoryName": REPO, "imageIds": [{"imageDigest": digest(7)}]})
        with stub:
            self.assertEqual(client.manifest_digest(REPO, digest(7)), digest(7))


class EcrConfigTest(unittest.TestCase):
    def test_kind_ecr_is_a_known_client(self):
        client = registry.client_for({"kind": "ecr", "region": "eu-west-1", "registry_id": "123456789012", "timeout": 5})
        self.assertIsInstance(client, registry_ecr.EcrRegistry)
        self.assertEqual((client.region, client.registry_id), ("eu-west-1", "123456789012"))

    def test_kind_ecr_without_a_region_names_the_key(self):
        with self.assertRaisesRegex(ValueError, r"saltpipe:registry:region is required for kind 'ecr'"):
            registry.client_for({"kind": "ecr"})


if __name__ == "__main__":
    unittest.main()
