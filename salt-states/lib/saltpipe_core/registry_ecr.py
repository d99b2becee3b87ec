"""
The ECR transport of :mod:`saltpipe_core.registry`: the master asks the ECR API (with its
instance role: ``ecr:DescribeImages`` on this repository's ARN only) whether a pushed
digest exists and which digest a tag points at, exactly as it asks a distribution registry
with a ``HEAD /v2/<repo>/manifests/<ref>``.

Master config ``saltpipe:registry`` for this kind::

    {kind: ecr, region: eu-west-1, registry_id: '123456789012', timeout: 5,
     endpoint_url: '', metadata_endpoint: ''}   # the last two: emulators and testing only

An answer that the image is not there (``ImageNotFoundException``, a tag that names another
digest) is "the registry does not hold it" (``None``); anything else — no credentials,
throttling, an unreachable endpoint, a repository that does not exist — is a
:class:`~saltpipe_core.registry.RegistryError`, so the push is never deployed on a guess.
"""

import os

from saltpipe_core.registry import DIGEST_RE, RegistryError

# Error codes that mean "ECR answered: there is no such image" (not "ECR could not answer").
NOT_FOUND = ("ImageNotFoundException",)


def _boto3_client(region, endpoint_url, metadata_endpoint, timeout):
    try:
        import boto3  # pylint: disable=import-outside-toplevel
        import botocore.config  # pylint: disable=import-outside-toplevel
    except ImportError as exc:  # pragma: no cover - Salt's Python always has it here (requirements/salt.txt)
        raise RegistryError(f"boto3 is missing from Salt's Python: {exc}") from None
    if metadata_endpoint:
        # botocore's instance-metadata credential provider reads this (emulators only).
        os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = metadata_endpoint
    config = botocore.config.Config(
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=timeout,
        read_timeout=timeout,
    )
    return boto3.session.Session(region_name=region).client("ecr", endpoint_url=endpoint_url or None, config=config)


class EcrRegistry:
    """``manifest_digest(repository, reference)`` over ``ecr:DescribeImages``."""

    def __init__(self, region, registry_id="", endpoint_url="", metadata_endpoint="", timeout=5.0, client=None):
        region = str(region or "")
        if not region:
            raise ValueError("saltpipe:registry:region is required for kind 'ecr'")
        self.region = region
        self.registry_id = str(registry_id or "")
        self._client = client or _boto3_client(region, endpoint_url, metadata_endpoint, float(timeout))

    def manifest_digest(self, repository, reference):
        image_id = {"imageDigest": reference} if DIGEST_RE.fullmatch(reference) else {"imageTag": reference}
        kwargs = {"repositoryName": repository, "imageIds": [image_id]}
        if self.registry_id:
            kwargs["registryId"] = self.registry_id
        try:
            details = self._client.describe_images(**kwargs).get("imageDetails") or []
        except Exception as exc:  # pylint: disable=broad-except
            code = _error_code(exc)
            if code in NOT_FOUND:
                return None
            raise RegistryError(f"ECR {code or type(exc).__name__}: {_message(exc)}") from None
        digests = {d.get("imageDigest", "") for d in details}
        if len(digests) != 1 or not DIGEST_RE.fullmatch(next(iter(digests))):
            raise RegistryError(f"ECR answered {len(details)} images for {repository}:{reference}")
        return digests.pop()


def _error_code(exc):
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _message(exc):
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Message") or exc)[:200]


def from_config(cfg):
    """The client for master config ``saltpipe:registry`` of kind ``ecr``."""
    return EcrRegistry(
        cfg.get("region"),
        registry_id=cfg.get("registry_id", ""),
        endpoint_url=cfg.get("endpoint_url", ""),
        metadata_endpoint=cfg.get("metadata_endpoint", ""),
        timeout=cfg.get("timeout", 5),
    )
