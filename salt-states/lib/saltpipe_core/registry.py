"""
Trust, then verify: before any minion job, ask the registry itself whether a pushed
``repository@digest`` exists and, for a tag push, whether the tag resolves to that digest.

A notification (or queue event) is authenticated, but what it says is only a claim: a
leaked token, a replayed or hand-made event must not start a rollout of an image the
registry does not hold. :func:`verify` takes a *client* with one method,
``manifest_digest(repository, reference) -> digest | None`` (None: the registry does not
know that reference), so every registry kind plugs in its own transport:

- :class:`HttpRegistry`: the Docker Registry HTTP API v2 (``HEAD /v2/<repo>/manifests/<ref>``,
  ``Docker-Content-Digest``), anonymous or with Basic credentials (the local registry,
  external registries);
- ECR: a client over ``ecr:BatchGetImage`` / ``ecr:DescribeImages`` with the master's
  instance role registers itself with :func:`register` (kind ``ecr``).

:func:`client_for` builds the client named by the master config ``saltpipe:registry``
(``{kind, url, username, password, timeout}``). No client for the configured kind means
every push is refused (fail closed), with a reason saying so.
"""

import base64
import re
import urllib.error
import urllib.request

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
REPO_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
URL_RE = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?")
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


class RegistryError(Exception):
    """The registry could not be asked (unreachable, refused our credentials, bad answer)."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a HEAD must not wander off to another host
        return None


class HttpRegistry:
    """Docker Registry HTTP API v2 client: one HEAD per question."""

    def __init__(self, url, username="", password="", timeout=5.0):
        url = str(url or "").rstrip("/")
        if not URL_RE.fullmatch(url):
            raise ValueError(f"invalid registry URL {url!r} (want http[s]://host[:port])")
        self.url = url
        self.timeout = float(timeout)
        self._auth = None
        if username or password:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self._auth = f"Basic {token}"
        self._opener = urllib.request.build_opener(_NoRedirect)

    def manifest_digest(self, repository, reference):
        headers = {"Accept": ", ".join(MANIFEST_TYPES), "User-Agent": "saltpipe-verify/1"}
        if self._auth:
            headers["Authorization"] = self._auth
        req = urllib.request.Request(f"{self.url}/v2/{repository}/manifests/{reference}", method="HEAD", headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                digest = resp.headers.get("Docker-Content-Digest", "")
                if not DIGEST_RE.fullmatch(digest):
                    raise RegistryError(f"registry answered {resp.status} without a Docker-Content-Digest")
                return digest
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RegistryError(f"registry answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RegistryError(f"registry unreachable: {getattr(exc, 'reason', exc)}") from None


_FACTORIES = {"http": lambda cfg: HttpRegistry(cfg.get("url"), cfg.get("username", ""), cfg.get("password", ""), cfg.get("timeout", 5))}


def register(kind, factory):
    """Make ``kind`` available: ``factory(config dict) -> client`` (e.g. the ECR transport)."""
    _FACTORIES[str(kind)] = factory


def client_for(config):
    """The client for the master config ``saltpipe:registry``, or raise ValueError saying why not."""
    config = dict(config or {})
    kind = str(config.get("kind") or "")
    if kind not in _FACTORIES:
        raise ValueError(f"no registry client for kind {kind or '<unset>'!r} (saltpipe:registry:kind); known: {', '.join(sorted(_FACTORIES))}")
    return _FACTORIES[kind](config)


def verify(client, repository, digest, tag=""):
    """
    ``(True, "")`` when the registry holds ``repository@digest`` (and ``tag`` resolves to it);
    else ``(False, reason)``. Never raises: an unreachable registry is a refusal too.
    """
    if not REPO_RE.fullmatch(str(repository or "")):
        return False, f"invalid repository {repository!r}"
    if not DIGEST_RE.fullmatch(str(digest or "")):
        return False, f"invalid digest {digest!r}"
    if tag and not TAG_RE.fullmatch(str(tag)):
        return False, f"invalid tag {tag!r}"
    try:
        held = client.manifest_digest(repository, digest)
        if held is None:
            return False, f"the registry does not hold {repository}@{digest}"
        if held != digest:
            return False, f"the registry answered {held} for {repository}@{digest}"
        if tag:
            resolved = client.manifest_digest(repository, tag)
            if resolved != digest:
                return False, f"tag {tag} of {repository} resolves to {resolved or 'nothing'}, not {digest}"
    except RegistryError as exc:
        return False, f"could not verify with the registry: {exc}"
    except Exception as exc:  # pylint: disable=broad-except
        return False, f"could not verify with the registry: {type(exc).__name__}: {str(exc)[:200]}"
    return True, ""
