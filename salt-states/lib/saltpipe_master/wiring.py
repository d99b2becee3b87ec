"""
One environment of this master, wired from the master's config (``opts``, the runner's
``__opts__``; settings under its key ``saltpipe``): the deploy settings, the state dir, the
notifier, the lifecycle over the Salt port, and the checks of the names a request carries.
"""

import os
import re

from saltpipe_core import audit, claim, notify, refusals, registry, rollout, store
from saltpipe_master.port import HOST_RE, SaltPort

# An approver: a user name, optionally @ the host it approved from (the operator command,
# infra/cli/program.ts, sends user@host).
USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}")


class Refused(Exception):
    """A request the runner refuses: becomes ``{"result": False, "error": ...}``."""


def settings(opts):
    return opts.get("saltpipe") or {}


def deploy_settings(opts):
    deploy = dict(settings(opts).get("deploy") or {})
    approval = deploy.get("approval") or {}
    deploy["approval_required"] = bool(approval.get("required"))
    deploy["approval_expires"] = float(approval.get("expires_minutes", 60)) * 60
    return deploy


def state_dir(opts):
    return os.path.join(opts["cachedir"], "saltpipe")


def mkdir(path):
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def notifier(opts):
    cfg = settings(opts).get("notify") or {}
    return notify.Notifier(
        os.path.join(state_dir(opts), "notify"),
        urls=cfg.get("urls") or [],
        secret=cfg.get("secret", ""),
        timeout=cfg.get("timeout", 5),
        retries=cfg.get("retries", 3),
    )


def check_env(opts, environment):
    """``environment`` when it is a valid name and the one this master deploys; else :class:`Refused`."""
    if not store.ENV_RE.fullmatch(str(environment)):
        raise Refused(f"invalid environment name {environment!r}")
    configured = settings(opts).get("environment")
    if configured and environment != configured:
        raise Refused(f"this master deploys environment {configured!r}, not {environment!r}")
    return str(environment)


def check_approver(approver):
    """``user`` or ``user@host`` (host names up to 253 characters); anything else is refused."""
    who = str(approver or os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown")
    user, at, host = who.partition("@")
    if not USER_RE.fullmatch(user) or (at and not HOST_RE.fullmatch(host)):
        raise Refused(f"invalid approver {who[:300]!r} (want user or user@host)")
    return who


def lifecycle(opts, environment, jid=""):
    """The deploy lifecycle of ``environment``, owned by this runner job (``jid``)."""
    directory = state_dir(opts)
    deploy = deploy_settings(opts)
    return rollout.Lifecycle(
        environment,
        store.Store(directory),
        audit.Audit(directory, environment),
        notifier(opts),
        SaltPort(environment, deploy, opts, settings(opts).get("minions") or []),
        deploy,
        claim.me(jid),
    )


def verify_with_registry(opts, request):
    """(ok, reason): does the registry hold repository@digest (and the tag point at it)?"""
    cfg = settings(opts).get("registry") or {}
    try:
        client = registry.client_for(cfg)
    except ValueError as exc:
        return False, f"cannot verify the push with the registry: {exc}"
    repository = request.get("repository") or (settings(opts).get("hook") or {}).get("repository", "")
    return registry.verify(client, repository, request["digest"], request.get("tag", ""))


def fold_refusals(opts, environment):
    """The hook proxy's refusals folded into the environment's audit (their counts)."""
    log_path = (settings(opts).get("hook") or {}).get("refused_log", "")
    return refusals.fold(log_path, mkdir(state_dir(opts)), environment)
