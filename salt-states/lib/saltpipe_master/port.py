"""
The Salt port of the deploy loop (``saltpipe_core.rollout``): which minions of the
environment answer, the prepare round, the deploys (one direct ``saltpipe_app.deploy`` call
where the minion's plan holds, ``state.sls`` elsewhere), the pre-switch step, what serves
where - all through the master's ``LocalClient``.
"""

import contextvars
import logging
import re
import threading

import salt.client
import salt.utils.event
import salt.utils.minions
from saltpipe_core import results
from saltpipe_master.generation import generation_of
from saltpipe_shared import NO_PLAN

log = logging.getLogger(__name__)

# A minion id / host name: dot-separated labels of at most 63, 253 in all (FQDNs included).
HOST_RE = re.compile(r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*")
MINION_RE = HOST_RE
PING_GATHER_SECONDS = 2
# A connected minion answers test.ping in well under this (the call ends when all answered).
PING_SECONDS = 5
# What a state run syncs to the minion first: the deploy state, the execution module it
# calls, and the utils both import (salt/_utils).
SYNC_MODS = "states,modules,utils"


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


def local_client(opts):
    """The calling thread's LocalClient of the master configured by ``opts``."""
    client = getattr(_CLIENTS, "client", None)
    if client is None:
        client = _CLIENTS.client = salt.client.get_local_client(opts["conf_file"])
    return client


def fire_event(opts, tag, data):
    """``data`` on the master's event bus under ``tag``."""
    with salt.utils.event.get_master_event(opts, opts["sock_dir"], listen=False) as event:
        event.fire_event(data, tag)


class SaltPort:
    """
    What the deploy loop needs from Salt, for one environment: ``opts`` the master's
    (the runner's ``__opts__``), ``settings`` its ``saltpipe:deploy``, ``minions`` the
    environment's own minion ids (``saltpipe:minions``).
    """

    def __init__(self, environment, settings, opts, minions=()):
        self.env = environment
        self.opts = opts
        self.role = settings.get("role", "app")
        self.timeout = int(settings.get("timeout", 300))
        self.tgt = f"G@environment:{environment} and G@roles:{self.role}"
        ids = [m for m in (minions or []) if MINION_RE.fullmatch(str(m))]
        if ids:
            # Grains are what a minion says about itself: only the environment's own minion ids count.
            self.tgt = f"L@{','.join(ids)} and {self.tgt}"
        # Deploys always run for real; a plan-only master (the real-Salt test harness) plans.
        self.plan_only = bool(settings.get("plan_only"))
        self.client = local_client(opts)

    def fire(self, tag, data):
        fire_event(self.opts, tag, data)

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
        ck = salt.utils.minions.CkMinions(self.opts)
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
        generation = generation_of(self.opts, self.env)
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
            pillar = {"saltpipe_deploy": deploy_pillar(self.env, request, generation)}
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

    def thread_client(self):
        """The LocalClient of the calling thread (a prepare round's thread gets its own)."""
        return local_client(self.opts)

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
            kwarg={"pillar": pillar, "queue": True, "sync_mods": SYNC_MODS, "test": self.plan_only},
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
        generation = "" if self.plan_only else generation_of(self.opts, self.env)
        digest, out, rest = request["digest"], {}, list(minions)
        if generation:
            returns = self._cmd(
                rest, "saltpipe_app.deploy", [digest], tgt_type="list", timeout=self.timeout, full_return=True,
                kwarg={"test": False, "generation": generation, "event_id": request.get("event_id", ""),
                       "tag": request.get("tag", ""), "settle": bool(settle)},
            ) or {}
            rest = [m for m in rest if unplanned(returns.get(m), "saltpipe_app.deploy")]
            out = self._returns([m for m in minions if m not in rest], returns, digest, self.timeout, "deployed")
        if rest:
            pillar = {"saltpipe_deploy": deploy_pillar(self.env, request, generation)}
            out.update(self._sls(rest, "app.deploy", pillar, self.timeout))
        return out

    def pre_switch(self, minion, request, pre):
        timeout = int(pre.get("timeout", 600))
        pillar = {
            "saltpipe_deploy": deploy_pillar(self.env, request),
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


def deploy_pillar(environment, request, generation=""):
    return {
        "environment": environment,
        "digest": request["digest"],
        "repository": request.get("repository", ""),
        "tag": request.get("tag", ""),
        "event_id": request.get("event_id", ""),
        "generation": generation,
    }


def unplanned(ret, fun):
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
