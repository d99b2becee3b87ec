"""Shared fixtures of the master-side unit tests (saltpipe_core, saltpipe_master): the library
on sys.path, a fake Salt port, master opts over a few files."""

import os
import sys
import tempfile

LIB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "salt-states", "lib")
sys.path.insert(0, os.path.abspath(LIB))

from saltpipe_core import audit, claim, notify, rollout, store  # noqa: E402


def master_opts():
    """(opts, root): master opts with a states and a pillar root of a few files, and a cachedir."""
    tmp = tempfile.mkdtemp()
    for rel, text in {"states/app/deploy.sls": "x", "states/_modules/m.py": "y", "pillar/app.sls": "password: s3cret"}.items():
        os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
        with open(os.path.join(tmp, rel), "w", encoding="utf-8") as fh:
            fh.write(text)
    return {"cachedir": os.path.join(tmp, "cache"), "file_roots": {"base": [os.path.join(tmp, "states")]},
            "pillar_roots": {"base": [os.path.join(tmp, "pillar")]}}, tmp


def digest(n):
    return "sha256:" + format(n, "064x")


class _Prepared:
    """A prepare round that is done at once; records the groups the rollout waited for."""

    def __init__(self, waited):
        self.waited = waited

    def wait(self, minions, timeout=None):  # noqa: ARG002
        self.waited.append(list(minions))
        return True

    def join(self, timeout=None):  # noqa: ARG002
        self.waited.append("joined")


class FakePort:
    """Minions that run whatever they are told; ``fail`` makes a digest fail on a minion."""

    def __init__(self, minions=("m1", "m2"), silent=()):
        self.minions = list(minions)
        self.silent = list(silent)
        self.serving = {m: None for m in minions}
        self.fail = set()  # (minion, digest)
        self.pre_fail = False
        self.events = []
        self.applied = []  # (minions, digest, kind)
        self.on_apply = None

    def fire(self, tag, data):
        self.events.append((tag, data))

    def ping(self, only=None):
        return lambda: self.targets(only)

    def targets(self, only=None):
        live = [m for m in self.minions if m not in self.silent]
        if only:
            return sorted(m for m in only if m in live), []
        return sorted(live), sorted(self.silent)

    def begin_prepare(self, minions, request):
        self.pulled = getattr(self, "pulled", []) + [(list(minions), request["digest"])]
        self.waited = []
        return _Prepared(self.waited)

    def apply(self, minions, request, settle=True):
        self.applied.append((list(minions), request["digest"], request.get("kind")))
        self.settled = getattr(self, "settled", []) + [settle]
        if self.on_apply:
            self.on_apply(request)
        out = {}
        for m in minions:
            if (m, request["digest"]) in self.fail:
                out[m] = {"result": False, "changed": False, "comment": "health check failed", "duration": 1.0}
            else:
                changed = self.serving[m] != request["digest"]
                self.serving[m] = request["digest"]
                out[m] = {"result": True, "changed": changed, "comment": "ok", "duration": 1.0}
        return out

    def pre_switch(self, minion, request, pre):
        return (not self.pre_fail, "exit 1" if self.pre_fail else "ok")

    def running(self, only=None):
        return {m: d for m, d in self.serving.items() if m not in self.silent}


class Env:
    """A temp state dir with one environment's lifecycle over a FakePort."""

    def __init__(self, settings=None, port=None, notifier=None):
        self.dir = tempfile.mkdtemp(prefix="saltpipe-core-")
        self.store = store.Store(self.dir)
        self.audit = audit.Audit(self.dir, "dev")
        self.port = port or FakePort()
        self.notifier = notifier or notify.Notifier(os.path.join(self.dir, "notify"))
        self.settings = {"batch": "1", "timeout": 30, **(settings or {})}

    def lifecycle(self, owner=None):
        return rollout.Lifecycle("dev", self.store, self.audit, self.notifier, self.port, self.settings, owner or claim.me())
