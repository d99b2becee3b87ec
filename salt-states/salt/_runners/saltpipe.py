"""
saltpipe runner: the deploy lifecycle of the master's environment.

Loaded on the master through ``runner_dirs`` (infra/render/salt-config.ts). The logic lives
in plain modules beside this tree (``salt-states/lib/saltpipe_core``, put on ``sys.path``
below); this file is the Salt edge: settings from the master config key ``saltpipe``, the
Salt port (targets, state runs, events) and the public functions. Every function returns
JSON-able data; a refused request returns ``{"result": False, "error": ..., "retcode": 1}``
and ``salt-run`` exits 1 (so does a failed deploy: ``result`` False).

=====================================  ===============================================
``saltpipe.receive env digest ...``     a verified push (reactor/registry.sls): dedupe, order,
                                        policy, approval, queue, deploy
``saltpipe.rollback env [to=DIGEST]``   redeploy the previous (or a named) digest
``saltpipe.approve env [digest=...]``   deploy the push waiting for approval
``saltpipe.reject env [digest=...]``    drop it
``saltpipe.converge env [minion=ID]``   put one minion (or every drifted one) on current
``saltpipe.reconcile``                  start-up / periodic: dead claims, pending work,
                                        expired approvals, drift, notification outbox
``saltpipe.refused env reason``         audit a refused notification (reactor, SQS engine)
``saltpipe.run_pending env``            run the pending push (SQS engine, after recording)
``saltpipe.reset_order env [to=TIME]``  lower the ordering mark (a far-future timestamp got in)
``saltpipe.status env``                 everything the status command shows
=====================================  ===============================================
"""

import contextvars
import copy
import hashlib
import hmac
import logging
import os
import re
import secrets
import sys
import threading

import salt.client
import salt.utils.event
import salt.utils.minions

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lib"))

# pylint: disable=wrong-import-position
from saltpipe_core import audit as audit_mod  # noqa: E402
from saltpipe_core import claim, clock, decide, notify, refusals, registry, results, rollout, store  # noqa: E402

log = logging.getLogger(__name__)

__virtualname__ = "saltpipe"

DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
ENV_RE = store.ENV_RE
# A minion id / host name: dot-separated labels of at most 63, 253 in all (FQDNs included).
HOST_RE = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*")
MINION_RE = HOST_RE
# An approver: a user name, optionally @ the host it approved from (scripts/ops/cli.ts sends user@host).
USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]{0,63}")
PING_GATHER_SECONDS = 2
# A connected minion answers test.ping in well under this (the call ends when all answered).
PING_SECONDS = 5
# What a minion's direct call returns when it has no usable plan (salt/_modules/saltpipe_app.py).
NO_PLAN = "saltpipe_app.no_plan"
# The master-local key of the generation HMAC (in the state dir, mode 0600).
GENERATION_KEY_FILE = "generation.key"
# Written by Python when it imports the runner's own lib: not configuration.
GENERATION_SKIP_DIRS = frozenset({"__pycache__", ".git"})


def __virtual__():
    return __virtualname__


class _Refused(Exception):
    """A request the runner refuses: becomes ``{"result": False, "error": ...}``."""


# -- settings and wiring ----------------------------------------------------------------
def _settings():
    return __opts__.get("saltpipe") or {}


def _deploy_settings():
    deploy = dict(_settings().get("deploy") or {})
    approval = deploy.get("approval") or {}
    deploy["approval_required"] = bool(approval.get("required"))
    deploy["approval_expires"] = float(approval.get("expires_minutes", 60)) * 60
    return deploy


def _state_dir():
    return os.path.join(__opts__["cachedir"], "saltpipe")


def _notifier():
    cfg = _settings().get("notify") or {}
    return notify.Notifier(
        os.path.join(_state_dir(), "notify"),
        urls=cfg.get("urls") or [],
        secret=cfg.get("secret", ""),
        timeout=cfg.get("timeout", 5),
        retries=cfg.get("retries", 3),
    )


def _check_env(environment):
    if not ENV_RE.fullmatch(str(environment)):
        raise _Refused(f"invalid environment name {environment!r}")
    configured = _settings().get("environment")
    if configured and environment != configured:
        raise _Refused(f"this master deploys environment {configured!r}, not {environment!r}")
    return str(environment)


def _fire(tag, data):
    with salt.utils.event.get_master_event(__opts__, __opts__["sock_dir"], listen=False) as event:
        event.fire_event(data, tag)


class Preparing:
    """A prepare round running in its own thread: which minions are done, and waiting for some."""

    def __init__(self, minions):
        self.pending = set(minions)
        self.planned = set()
        self.cond = threading.Condition()
        self.thread = None

    def start(self, run_in_context, target):
        self.thread = threading.Thread(target=run_in_context, args=(target,), name="saltpipe-prepare", daemon=True)
        self.thread.start()

    def ready(self, minion, planned):
        with self.cond:
            self.pending.discard(minion)
            if planned:
                self.planned.add(minion)
            self.cond.notify_all()

    def finish(self):
        with self.cond:
            self.pending.clear()
            self.cond.notify_all()

    def wait(self, minions, timeout=None):
        """Until every one of ``minions`` is prepared (or gave up, or the round ended)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.pending & set(minions), timeout)

    def join(self, timeout=None):
        if self.thread is not None:
            self.thread.join(timeout)


# One LocalClient per thread, kept: building one reads the master config and sets up its
# loaders (about 20 ms, on every push's path). The reactor runs runners in a pool of
# threads of one process; a LocalClient is not for two threads at once.
_CLIENTS = threading.local()


def _local_client():
    client = getattr(_CLIENTS, "client", None)
    if client is None:
        client = _CLIENTS.client = salt.client.get_local_client(__opts__["conf_file"])
    return client


class SaltPort:
    """What the deploy loop needs from Salt, for one environment."""

    def __init__(self, environment, settings):
        self.env = environment
        self.role = settings.get("role", "app")
        self.timeout = int(settings.get("timeout", 300))
        self.tgt = f"G@environment:{environment} and G@roles:{self.role}"
        ids = [m for m in (_settings().get("minions") or []) if MINION_RE.fullmatch(str(m))]
        if ids:
            # Grains are what a minion says about itself: only the environment's own minion ids count.
            self.tgt = f"L@{','.join(ids)} and {self.tgt}"
        # Deploys always run for real; a plan-only master (the real-Salt test harness) plans.
        self.plan_only = bool(settings.get("plan_only"))
        self.client = _local_client()

    def fire(self, tag, data):
        _fire(tag, data)

    def targets(self, only=None):
        """(answered, silent): app minions of the environment, optionally only ``only``."""
        return self.ping(only)()

    def ping(self, only=None):
        """
        Ask which targets answer (see ``targets``): the ping is published now, and the
        function returned collects its answers - the deploy announces itself meanwhile.
        """
        if only:
            grains = self._cmd(list(only), "grains.item", ["environment", "roles"], tgt_type="list", timeout=10) or {}
            answered = sorted(
                m for m, g in grains.items()
                if isinstance(g, dict) and g.get("environment") == self.env and self.role in (g.get("roles") or [])
            )
            return lambda: (answered, [])
        ck = salt.utils.minions.CkMinions(__opts__)
        known = set(ck.check_minions(self.tgt, "compound").get("minions", []))
        # A minion the master has no publish connection from (its cached ipv4 grains
        # against the TCP peers of the publish port: CkMinions.connected_ids, what
        # manage.present reads) cannot answer: it is reported silent at once, not waited for.
        # Only trusted when some minion is seen connected and this one has cached grains.
        unseen, connected = self._unseen(ck, known)
        unseen = sorted(m for m in unseen if MINION_RE.fullmatch(str(m)))
        # A minion that is not connected is listed too, with a "did not return" string: only True answers.
        # A connected minion answers a ping within a few seconds; the follow-up find_job round for
        # the silent ones (gather_job_timeout, 10 s by default) only delays the deploy: keep it short.
        # The ping is the environment's whole target (ids, and grains checked by each minion
        # itself, so a minion without cached grains still answers), less the unseen minions.
        tgt = f"{self.tgt} and not L@{','.join(unseen)}" if unseen else self.tgt
        pinged = self._publish(tgt, "test.ping", tgt_type="compound", timeout=PING_SECONDS, gather_job_timeout=PING_GATHER_SECONDS)

        def collect():
            answered = {m for m, r in pinged().items() if r is True}
            # A minion holding a connection that did not answer (a publish lost while it
            # reconnected, a loaded host) gets one more ping of its own before it is skipped.
            again = sorted(m for m in (connected & known) - answered if MINION_RE.fullmatch(str(m)))
            if again:
                pings = self._cmd(
                    again, "test.ping", tgt_type="list", timeout=PING_SECONDS, gather_job_timeout=PING_GATHER_SECONDS
                ) or {}
                answered |= {m for m, r in pings.items() if r is True and m in again}
            return sorted(answered), sorted(known - answered)

        return collect

    def _publish(self, tgt, fun, arg=(), tgt_type="list", timeout=None, full_return=False, kwarg=None,
                 client=None, on_return=None, **kwargs):
        """
        ``LocalClient.cmd`` in two halves: the job is published now; the function returned
        waits for its returns (``{minion: ret}``, or the whole return with ``full_return``;
        each also handed to ``on_return(minion, ret)`` as it arrives) and stops as soon as
        every targeted minion returned (``cmd`` polls its event bus once more, 10 ms, after
        the last return). ``client``: another thread's LocalClient (default this one's).
        """
        client = client or self.client
        was_listening = client.event.cpub
        pub = client.run_job(tgt, fun, arg, tgt_type=tgt_type, ret="", timeout=timeout, kwarg=kwarg, listen=True, **kwargs)

        def collect():
            out = {}
            try:
                expected = set((pub or {}).get("minions") or [])
                if pub and expected:
                    for returned in client.get_cli_event_returns(pub["jid"], sorted(expected), timeout, tgt, tgt_type, **kwargs):
                        for mid, data in (returned or {}).items():
                            out[mid] = data if full_return else data.get("ret", {})
                            if on_return:
                                on_return(mid, out[mid])
                        if expected <= set(out):
                            break
                    out.update({m: False for m in expected - set(out)})
            finally:
                if not was_listening:
                    client.event.close_pub()
            return out

        return collect

    def _cmd(self, tgt, fun, arg=(), **kwargs):
        """``LocalClient.cmd``, ending as soon as every targeted minion returned."""
        return self._publish(tgt, fun, arg, **kwargs)()

    @staticmethod
    def _unseen(ck, known):
        """(unseen, connected): known minions with cached grains that hold no connection to
        the publish port, and the ones that hold one."""
        try:
            connected = set(ck.connected_ids(subset=sorted(known)))
        except Exception:  # pylint: disable=broad-except
            log.debug("saltpipe: connected_ids failed; pinging every known minion", exc_info=True)
            return set(), set()
        if not connected:
            return set(), set()  # no connection seen at all (no data cache, another transport): cannot tell
        unseen = set()
        for mid in known - connected:
            try:
                grains = ck.cache.fetch("grains", mid)
            except Exception:  # pylint: disable=broad-except
                grains = None
            if grains and grains.get("ipv4"):
                unseen.add(mid)
        return unseen, connected

    def prepare(self, minions, request, ready=None, client=None):
        """
        The prepare round before the first of several batches, on ``minions`` all at once
        while the old version serves: the image pulled (each minion bounds its pull by
        ``app:deploy:pull_timeout``) and the deploy planned on the minion. A minion whose
        plan from an earlier deploy still holds (same generation, same grains) does it in
        one ``saltpipe_app.prepare`` call; the others run ``state.sls app.prepare`` (the
        registry credentials, the modules synced, the deploy's arguments rendered). Best
        effort: a batch's direct deploy, or its ``state.sls app.deploy``, pulls (and fails)
        on its own. Not on a plan-only master: a plan changes nothing. Returns the minions
        planned; ``ready(minion, planned)`` is called as soon as each one is done.
        """
        ready = ready or (lambda minion, planned: None)
        if self.plan_only:
            for mid in minions:
                ready(mid, False)
            return set()
        generation = _generation(self.env)
        planned, rest = set(), list(minions)
        if generation:

            def direct(mid, ret):
                if isinstance(ret, dict) and ret.get("result") is True:
                    ready(mid, True)

            returns = self._cmd(
                rest, "saltpipe_app.prepare", [request["digest"], generation], tgt_type="list", timeout=self.timeout,
                kwarg={"event_id": request.get("event_id", ""), "tag": request.get("tag", "")},
                client=client, on_return=direct,
            ) or {}
            planned = {m for m in rest if isinstance(returns.get(m), dict) and returns[m].get("result") is True}
            rest = [m for m in rest if m not in planned]
        if rest:
            pillar = {"saltpipe_deploy": _deploy_pillar(self.env, request, generation)}
            prepared = self._sls(rest, "app.prepare", pillar, self.timeout, fun="planned", client=client)
            planned |= {m for m, r in prepared.items() if r["result"]}
            for mid in rest:
                ready(mid, mid in planned)
        return planned

    def begin_prepare(self, minions, request):
        """
        The prepare round in a thread of its own (with its own LocalClient): the rollout
        waits, before each batch, only for that batch's minions (``Preparing.wait``), so
        the first batch starts as soon as its minions are prepared while the others still
        pull. No minion ever gets its batch's deploy before its own prepare returned.
        """
        preparing = Preparing(minions)

        def run():
            try:
                self.prepare(minions, request, ready=preparing.ready, client=self.thread_client())
            except Exception:  # pylint: disable=broad-except
                log.exception("saltpipe: the prepare round failed; its minions deploy without a plan")
            finally:
                preparing.finish()

        # The loader's dunders (__opts__) live in context variables a new thread lacks.
        preparing.start(contextvars.copy_context().run, run)
        return preparing

    @staticmethod
    def thread_client():
        """The LocalClient of the calling thread (a prepare round's thread gets its own)."""
        return _local_client()

    def _returns(self, minions, returns, digest, timeout, fun, planned=False):
        out = {}
        for mid in minions:
            if not isinstance(returns.get(mid), dict):
                out[mid] = {"result": False, "changed": False, "switched": True, "comment": "no return within the timeout", "duration": timeout}
            else:
                out[mid] = results.minion_result(returns[mid].get("ret"), digest, fun, planned=planned)
        return out

    def _sls(self, minions, sls, pillar, timeout, fun="deployed", client=None):
        returns = self._cmd(
            list(minions), "state.sls", [sls], tgt_type="list", timeout=timeout, full_return=True, client=client,
            # test=False: a minion configured with `test: True` must not plan and "succeed".
            kwarg={"pillar": pillar, "queue": True, "sync_mods": "states,modules", "test": self.plan_only},
        ) or {}
        return self._returns(minions, returns, pillar["saltpipe_deploy"]["digest"], timeout, fun, self.plan_only)

    def apply(self, minions, request, settle=True):
        """
        Deploy ``request`` on ``minions``: one direct ``saltpipe_app.deploy`` call where the
        minion's plan holds under this generation (every push after the first, a rollback, a
        batch after the prepare round), ``state.sls app.deploy`` (which plans afresh) for the
        others - a minion without a usable plan changed nothing. A plan-only master renders
        every time (its test-mode plan is what it shows). ``settle=False`` (a batch before
        the last): a minion returns once its new nginx workers serve, without waiting the
        0.1 s nginx takes to retire the old ones (the next batch's start takes longer).
        """
        generation = "" if self.plan_only else _generation(self.env)
        digest, out, rest = request["digest"], {}, list(minions)
        if generation:
            returns = self._cmd(
                rest, "saltpipe_app.deploy", [digest], tgt_type="list", timeout=self.timeout, full_return=True,
                kwarg={"test": False, "generation": generation, "event_id": request.get("event_id", ""),
                       "tag": request.get("tag", ""), "settle": bool(settle)},
            ) or {}
            rest = [m for m in rest if _unplanned(returns.get(m), "saltpipe_app.deploy")]
            out = self._returns([m for m in minions if m not in rest], returns, digest, self.timeout, "deployed")
        if rest:
            pillar = {"saltpipe_deploy": _deploy_pillar(self.env, request, generation)}
            out.update(self._sls(rest, "app.deploy", pillar, self.timeout))
        return out

    def pre_switch(self, minion, request, pre):
        timeout = int(pre.get("timeout", 600))
        pillar = {
            "saltpipe_deploy": _deploy_pillar(self.env, request),
            "saltpipe_pre_switch": {"command": list(pre["command"]), "timeout": timeout},
        }
        res = self._sls([minion], "app.preswitch", pillar, timeout + 60, fun="pre_switched")[minion]
        return res["result"], res["comment"], res.get("detail", "")

    def running(self, only=None):
        """{minion: digest serving or None} from the minions' ``saltpipe_app.running``."""
        tgt, kind = (list(only), "list") if only else (self.tgt, "compound")
        returns = self._cmd(tgt, "saltpipe_app.running", tgt_type=kind, timeout=10) or {}
        return {m: (r.get("digest") if isinstance(r, dict) and r.get("serving") else None) for m, r in returns.items()}

    def inventory(self):
        """Per answering minion: OS, Salt version, running digest, since, proxy health."""
        returns = self._cmd(self.tgt, "saltpipe_app.running", tgt_type="compound", timeout=10) or {}
        return {m: r if isinstance(r, dict) else {"error": str(r)[:300]} for m, r in returns.items()}


def _deploy_pillar(environment, request, generation=""):
    return {
        "environment": environment,
        "digest": request["digest"],
        "repository": request.get("repository", ""),
        "tag": request.get("tag", ""),
        "event_id": request.get("event_id", ""),
        "generation": generation,
    }


def _unplanned(ret, fun):
    """True when a direct call's return says it changed nothing for want of a plan: no
    usable plan, or a call that never ran (the module not synced to that minion yet, or an
    older one without these arguments). A minion that did not return is not unplanned: it
    may have deployed (the rollout reads it as failed)."""
    if not isinstance(ret, dict) or "ret" not in ret:
        return False
    body = ret["ret"]
    if isinstance(body, dict):
        return NO_PLAN in body
    return isinstance(body, str) and body.startswith((f"'{fun}' is not available", f"Passed invalid arguments to {fun}"))


def _generation_key():
    path = os.path.join(_state_dir(), GENERATION_KEY_FILE)
    try:
        with open(path, "rb") as fh:
            key = fh.read()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)  # the first writer's key wins; a concurrent one reads it
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, "rb") as fh:
        return fh.read()


def _generation(environment):
    """
    The generation of what a minion's deploy plan is rendered from: every file of the
    master's file and pillar roots (the states, map.jinja, the modules, the pillar) and the
    environment, as an HMAC with a master-local key - the pillar holds secrets, and a plain
    hash of it on the event bus could be guessed at. A minion's plan made under the same
    generation (and its own same grains) is reused by the next deploy with only the digest
    and its labels changed. ``""`` (every deploy renders afresh) when the states or pillar
    do not all come from files here (another fileserver backend, an ext_pillar).
    """
    if set(__opts__.get("fileserver_backend") or ["roots"]) != {"roots"} or __opts__.get("ext_pillar"):
        return ""
    mac = hmac.new(_generation_key(), str(environment).encode(), hashlib.sha256)
    for kind in ("file_roots", "pillar_roots"):
        for saltenv, roots in sorted((__opts__.get(kind) or {}).items()):
            for root in roots or []:
                for path in _files(root):
                    mac.update(f"\0{kind}\0{saltenv}\0{os.path.relpath(path, root)}\0".encode())
                    try:
                        with open(path, "rb") as fh:
                            mac.update(hashlib.sha256(fh.read()).digest())
                    except OSError:
                        mac.update(b"unreadable")
    return mac.hexdigest()


def _files(root):
    """Every file under ``root``, in a stable order (byte-compiled caches left out)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in GENERATION_SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(".pyc"):
                yield os.path.join(dirpath, name)


def _lifecycle(environment, jid=""):
    directory = _state_dir()
    settings = _deploy_settings()
    return rollout.Lifecycle(
        environment,
        store.Store(directory),
        audit_mod.Audit(directory, environment),
        _notifier(),
        SaltPort(environment, settings),
        settings,
        claim.me(jid),
    )


def _entry(fun):
    """Runner entry: ``_Refused`` → result False + error + exit code 1; outbox flushed."""

    def wrapper(*args, **kwargs):
        jid = kwargs.get("__pub_jid", "")
        kwargs = {k: v for k, v in kwargs.items() if not k.startswith("__")}
        try:
            ret = fun(*args, jid=jid, **kwargs)
        except _Refused as exc:
            __context__["retcode"] = 1
            return {"result": False, "error": str(exc), "retcode": 1}
        finally:
            _notifier().flush()
        if isinstance(ret, dict) and ret.get("result") is False:
            # salt-run exits with a returned "retcode"; orchestrate reads __context__.
            __context__["retcode"] = 1
            ret["retcode"] = 1
        return ret

    wrapper.__doc__ = fun.__doc__
    wrapper.__name__ = fun.__name__
    return wrapper


def _finish(lc, outcomes, digest):
    """The outcome of ``digest`` among those the loop ran (the loop may run newer ones too)."""
    mine = [o for o in outcomes if o.get("digest") == digest]
    if mine:
        return dict(mine[0], ran=[o.get("digest") for o in outcomes])
    return {"result": True, "action": "superseded", "digest": digest, "ran": [o.get("digest") for o in outcomes]}


# -- public functions -------------------------------------------------------------------
@_entry
def receive(environment, digest, repository="", tag="", event_id="", timestamp="", deploy=True, jid=""):
    """
    A verified registry push (handed over by reactor/registry.sls), or an ECR event from the
    ``saltpipe_sqs`` engine with ``deploy=False``: then the push is only recorded
    (``action: recorded``; the engine deletes the message and calls ``run_pending``).

    .. code-block:: bash

        salt-run saltpipe.receive dev sha256:0123... tag=dev-1a2b event_id=... timestamp=2026-11-25T10:00:00Z
    """
    environment = _check_env(environment)
    if not DIGEST_RE.fullmatch(str(digest)):
        raise _Refused(f"invalid digest {digest!r} (want sha256:<64 hex>)")
    lc = _lifecycle(environment, jid)
    request = {
        "digest": digest, "tag": str(tag), "repository": str(repository), "event_id": str(event_id),
        "timestamp": str(timestamp), "order": clock.parse_ns(timestamp) or 0, "kind": "push",
    }
    base = {k: request[k] for k in ("digest", "tag", "repository", "event_id", "timestamp")}
    # What would this push do? Only one that would deploy (or wait for approval) costs a
    # question to the registry - asked outside the record's lock.
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        peek, why, _ = decide.receive(copy.deepcopy(record), request, lc.settings, clock.now())
    _announce_expired(lc, expired)
    if peek == "future":
        return _refuse_push(lc, base, why)
    if peek in ("deploy", "approval"):
        ok, why = _verify_with_registry(request)
        if not ok:
            return _refuse_push(lc, base, why)
    with lc.store.transaction(environment) as record:
        action, reason, superseded = decide.receive(record, request, lc.settings, clock.now())
        claimed = action == "deploy" and deploy is True and lc.try_claim(record, digest, "push")
    if action == "future":
        return _refuse_push(lc, base, reason)
    lc.audit.append("received", action=action, reason=reason, superseded=superseded, **base)
    if action in ("duplicate", "replay", "current"):
        lc.announce("skipped", dict(base, result=True, reason="duplicate event id" if action == "duplicate" else reason), notify=False)
        return dict(base, result=True, action=action, reason=reason)
    if action == "ignored":
        lc.announce("ignored", dict(base, reason=reason))
        return dict(base, result=True, action=action, reason=reason)
    if action == "approval":
        lc.announce("pending-approval", dict(base, superseded=superseded, expires=clock.iso(clock.now() + lc.settings["approval_expires"])))
        return dict(base, result=True, action="pending-approval", superseded=superseded)
    if deploy is not True:
        return dict(base, result=True, action="recorded", superseded=superseded)
    if not claimed:
        lc.announce("queued", dict(base, superseded=superseded), notify=False)
        return dict(base, result=True, action="queued", reason="a deploy is in progress; this push runs next", superseded=superseded)
    return _finish(lc, lc.drive(), digest)


def _verify_with_registry(request):
    """(ok, reason): does the registry hold repository@digest (and the tag point at it)?"""
    cfg = _settings().get("registry") or {}
    try:
        client = registry.client_for(cfg)
    except ValueError as exc:
        return False, f"cannot verify the push with the registry: {exc}"
    repository = request.get("repository") or (_settings().get("hook") or {}).get("repository", "")
    return registry.verify(client, repository, request["digest"], request.get("tag", ""))


def _refuse_push(lc, base, reason):
    """A push that must not deploy: audited, announced, the record untouched, no minion job."""
    lc.audit.append("refused", reason=reason, **base)
    _fire(f"saltpipe/hook/{lc.env}/refused", {"reason": reason[:300], "digest": base["digest"], "event_id": base["event_id"]})
    return dict(base, result=False, action="refused", error=reason)


@_entry
def reset_order(environment, to="now", approver="", jid=""):
    """
    Lower the environment's ordering mark to ``to`` (an RFC 3339 time, or ``now``: the
    master's clock) - for when an event with a far-future timestamp got in and every real
    push since is a "replay". Audited with the operator and the old marks.

    .. code-block:: bash

        salt-run saltpipe.reset_order dev
        salt-run saltpipe.reset_order dev to=2026-12-01T10:00:00Z
    """
    environment = _check_env(environment)
    approver = _approver(approver)
    order = clock.now_ns() if str(to) == "now" else clock.parse_ns(str(to))
    if order is None:
        raise _Refused(f"invalid time {to!r} (want now or an RFC 3339 time such as 2026-12-01T10:00:00Z)")
    lc = _lifecycle(environment, jid)
    with lc.store.transaction(environment) as record:
        old = decide.reset_order(record, order)
    lc.audit.append("order-reset", approver=approver, to=str(to), order=order, old=old)
    return {"result": True, "action": "order-reset", "order": order, "old": old, "approver": approver}


@_entry
def run_pending(environment, jid=""):
    """
    Run the environment's pending push, if no deploy runs (the ``saltpipe_sqs`` engine calls
    it after a batch was recorded and deleted). A running deploy picks it up when it ends.
    """
    environment = _check_env(environment)
    lc = _lifecycle(environment, jid)
    with lc.store.transaction(environment) as record:
        pending = record.get("pending")
        claimed = bool(pending) and lc.try_claim(record, pending["digest"], pending.get("kind", "push"))
    if not pending:
        return {"result": True, "action": "nothing"}
    if not claimed:
        return {"result": True, "action": "queued", "digest": pending["digest"], "reason": "a deploy is in progress; it runs this next"}
    outcomes = lc.drive()
    return {"result": all(o.get("result") for o in outcomes), "action": "ran", "ran": [o.get("digest") for o in outcomes]}


@_entry
def rollback(environment, to=None, approver="", jid=""):
    """
    Redeploy the previous digest (or ``to``, one that ran in this environment) through the
    same health-gated rolling path.

    .. code-block:: bash

        salt-run saltpipe.rollback dev
        salt-run saltpipe.rollback dev to=sha256:0123...
    """
    environment = _check_env(environment)
    lc = _lifecycle(environment, jid)
    approver = _approver(approver)
    with lc.store.transaction(environment) as record:
        current = record.get("current")
        if not current:
            raise _Refused(f"nothing to roll back: {environment} has no deployed digest yet")
        known = store.known_digests(record)
        target = to or (record["previous"][0]["digest"] if record["previous"] else None)
        if target is None:
            raise _Refused(f"nothing to roll back to: {current['digest']} is the only digest {environment} ever ran")
        if target not in known:
            raise _Refused(
                f"digest {target} never ran in {environment}; known: " + ", ".join(known[:10])
            )
        if target == current["digest"]:
            raise _Refused(f"{target} is already the current digest of {environment}")
        entry = next(p for p in record["previous"] if p["digest"] == target)
        record["pending"] = {
            "digest": target, "tag": entry.get("tag", ""), "kind": "rollback", "approver": approver,
            "order": int(current.get("order") or 0), "event_id": "", "repository": "",
        }
        claimed = lc.try_claim(record, target, "rollback")
    lc.audit.append("rollback-requested", digest=target, approver=approver, queued=not claimed)
    if not claimed:
        return {"result": True, "action": "queued", "digest": target, "reason": "a deploy is in progress; the rollback runs next"}
    return _finish(lc, lc.drive(), target)


def _approver(approver):
    """``user`` or ``user@host`` (host names up to 253 characters); anything else is refused."""
    who = str(approver or os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown")
    user, at, host = who.partition("@")
    if not USER_RE.fullmatch(user) or (at and not HOST_RE.fullmatch(host)):
        raise _Refused(f"invalid approver {who[:300]!r} (want user or user@host)")
    return who


def _announce_expired(lc, expired):
    if expired:
        lc.audit.append("approval-expired", digest=expired["digest"], tag=expired.get("tag", ""))
        lc.announce("approval-expired", {"digest": expired["digest"], "tag": expired.get("tag", "")})


def _take_approval(lc, environment, digest):
    """Take the approval (``digest``, when given, must be it); an expired one is dropped first."""
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        approval = record.get("approval")
        if approval and (not digest or digest == approval["digest"]):
            record["approval"] = None
    _announce_expired(lc, expired)
    if not approval:
        raise _Refused(f"no push of {environment} waits for approval" + (" (it expired)" if expired else ""))
    if digest and digest != approval["digest"]:
        raise _Refused(f"{digest} does not wait for approval; {approval['digest']} ({approval.get('tag', '')}) does")
    return approval


@_entry
def approve(environment, digest=None, approver="", jid=""):
    """
    Deploy the push waiting for approval (``digest``, when given, must be that one).

    .. code-block:: bash

        salt-run saltpipe.approve prod approver=alice
    """
    environment = _check_env(environment)
    lc = _lifecycle(environment, jid)
    approver = _approver(approver)
    approval = _take_approval(lc, environment, digest)
    request = {k: v for k, v in approval.items() if k not in ("received", "expires")}
    request.update(kind="approved", approver=approver)
    with lc.store.transaction(environment) as record:
        superseded = (record.get("pending") or {}).get("digest")
        record["pending"] = request
        claimed = lc.try_claim(record, request["digest"], "approved")
    lc.audit.append("approved", digest=request["digest"], tag=request.get("tag", ""), approver=approver, superseded=superseded)
    if not claimed:
        return {"result": True, "action": "queued", "digest": request["digest"], "approver": approver}
    return _finish(lc, lc.drive(), request["digest"])


@_entry
def reject(environment, digest=None, approver="", reason="", jid=""):
    """
    Drop the push waiting for approval.

    .. code-block:: bash

        salt-run saltpipe.reject prod approver=alice reason="not today"
    """
    environment = _check_env(environment)
    lc = _lifecycle(environment, jid)
    approver = _approver(approver)
    approval = _take_approval(lc, environment, digest)
    data = {"digest": approval["digest"], "tag": approval.get("tag", ""), "approver": approver, "reason": str(reason)[:300]}
    lc.audit.append("rejected", **data)
    lc.announce("rejected", data)
    return dict(data, result=True, action="rejected")


@_entry
def converge(environment, minion=None, jid=""):
    """
    Put ``minion`` (a minion that started or was accepted) - or, without it, every minion
    that does not serve the current digest - on the environment's current digest.

    .. code-block:: bash

        salt-run saltpipe.converge dev minion=minion-2
    """
    environment = _check_env(environment)
    if minion is not None and not MINION_RE.fullmatch(str(minion)):
        raise _Refused(f"invalid minion id {minion!r}")
    lc = _lifecycle(environment, jid)
    with lc.store.transaction(environment) as record:
        current = record.get("current")
        if not current:
            return {"result": True, "action": "nothing", "reason": "no current digest yet"}
        claimed = lc.try_claim(record, current["digest"], "converge")
        if minion is not None:
            # Queued for the claim's owner when a deploy runs: it converges it right after.
            record["reconverge"] = sorted(set(record.get("reconverge") or []) | {str(minion)})
    if not claimed:
        return {"result": True, "action": "queued", "minion": minion, "reason": "a deploy is in progress; converges after it"}
    if minion is not None:
        outcomes = lc.drive()
        return {"result": all(o.get("result") for o in outcomes), "action": "converged", "outcomes": outcomes}
    outcome = lc.converge(None, current)
    lc.drive()  # releases the claim (and runs anything queued meanwhile)
    return dict(outcome, action="converged")


@_entry
def reconcile(environment=None, jid=""):
    """
    Start-up and periodic reconciliation (run by the ``saltpipe_reconcile`` engine): expire
    approvals, take over a dead or expired claim and finish its work, run what is pending,
    converge minions that drifted from the current digest, deliver queued notifications.
    """
    environment = _check_env(environment or _settings().get("environment", ""))
    lc = _lifecycle(environment, jid)
    lc.notifier.start()
    _fold_refusals(environment)
    with lc.store.transaction(environment) as record:
        expired = decide.expire_approval(record, clock.now())
        stale = record.get("claim") if not claim.live(record.get("claim"), clock.now()) else None
        current = record.get("current")
        claimed = lc.try_claim(record, (current or {}).get("digest", ""), "reconcile")
    _announce_expired(lc, expired)
    if not claimed:
        return {"result": True, "action": "busy", "reason": "a deploy is in progress"}
    outcomes = lc.drive()  # pending work, including what a dead owner left
    drift = {"result": True, "reason": "no current digest yet"}
    if current:
        with lc.store.transaction(environment) as record:
            claimed = lc.try_claim(record, current["digest"], "converge")
        if claimed:
            drift = lc.converge(None, record.get("current") or current)
            lc.drive()
    return {
        "result": all(o.get("result") for o in outcomes) and drift.get("result", True),
        "took_over": (stale or {}).get("owner"),
        "ran": [o.get("digest") for o in outcomes],
        "drift": drift,
    }


@_entry
def refused(environment, reason="", event_id="", jid=""):
    """Audit a notification the reactor refused (never a header or a secret) and say so on the bus."""
    environment = _check_env(environment)
    reason = str(reason)[:300]
    audit_mod.Audit(_state_dir() if os.path.isdir(_state_dir()) else _mkdir(_state_dir()), environment).append(
        "refused", reason=reason, event_id=str(event_id)[:128]
    )
    _fire(f"saltpipe/hook/{environment}/refused", {"reason": reason})
    return {"result": True, "action": "refused", "reason": reason}


def _fold_refusals(environment):
    log_path = (_settings().get("hook") or {}).get("refused_log", "")
    return refusals.fold(log_path, _mkdir(_state_dir()), environment)


def _proxy_text(proxy):
    if not proxy:
        return None
    if proxy.get("ok"):
        return f"healthy ({proxy.get('status')})"
    return f"unhealthy ({proxy.get('status') or proxy.get('error', 'no answer')})"


def _minion_status(mid, known, seen, current):
    """One row of the status command: live facts from the minion, the last deploy from the record."""
    seen, known = seen or {}, known or {}
    last = None
    if known:
        last = "ok" if known.get("result") else f"failed: {known.get('comment', '')}"[:200]
    return {
        "id": mid,
        "answered": bool(seen),
        "os": seen.get("os"),
        "salt": seen.get("salt_version"),
        "digest": seen.get("digest"),
        "since": seen.get("since"),
        "serving": seen.get("serving"),
        "proxy": _proxy_text(seen.get("proxy")),
        "on_current": bool(current) and seen.get("digest") == current.get("digest") and bool(seen.get("serving")),
        "last_result": last,
        "last_deploy": {k: known.get(k) for k in ("result", "comment", "at", "digest")} if known else None,
    }


def _mkdir(path):
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


@_entry
def status(environment, deploys=10, audit=20, live=True, jid=""):
    """
    Everything the status command shows, as JSON: ``current`` (digest), ``current_tag``,
    ``current_since``, ``previous`` digests, ``claim`` (with ``live``), ``pending`` push,
    ``approval``, the last ``deploys`` outcomes with durations, ``minions`` (a list: id, os,
    salt, digest, since, serving, proxy, on_current, last_result, last_deploy), the last
    ``audit`` entries, undelivered notifications, known digests.

    .. code-block:: bash

        salt-run --out=json saltpipe.status dev
    """
    environment = _check_env(environment)
    lc = _lifecycle(environment, jid)
    record = lc.store.read(environment)
    now = clock.now()
    claim_ = record.get("claim")
    inventory = lc.port.inventory() if live else {}
    current = record.get("current") or {}
    minions = [_minion_status(mid, record["minions"].get(mid), inventory.get(mid), current)
               for mid in sorted(set(record["minions"]) | set(inventory))]
    return {
        "result": True,
        "environment": environment,
        # Flat for the CLI (scripts/ops/format.ts): the digest, then its tag and since when.
        "current": current.get("digest"),
        "current_tag": current.get("tag"),
        "current_since": current.get("since"),
        "current_by": current.get("by"),
        "previous": record["previous"],
        "claim": dict(claim_, live=claim.live(claim_, now)) if claim_ else None,
        "pending": record.get("pending"),
        "approval": record.get("approval"),
        "deploys": record["deploys"][: int(deploys)],
        "minions": minions,
        "audit": lc.audit.tail(int(audit)),
        "seen": len(record["seen"]),
        # Minions left on another digest by a rollback that failed: {minion: digest}.
        "mixed": record.get("mixed") or None,
        # App output of the last deploys (log tails, pre-switch output), redacted: master only.
        "details": record.get("details") or {},
        "refused_at_proxy": _fold_refusals(environment),
        "notifications_queued": len(lc.notifier.pending()),
        "notifications_stranded": len(lc.notifier.stranded()),
        "notifications_dead": len(lc.notifier.dead_letters()),
        "tag_policy": lc.settings.get("tag_policy", ""),
        "approval_required": lc.settings["approval_required"],
        "known_digests": store.known_digests(record),
    }

