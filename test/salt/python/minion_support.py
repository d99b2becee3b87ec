"""Shared fixtures of the minion-side tests (the ``saltpipe_app`` state and execution module,
and the utils they import): the utils directory on ``sys.path`` as Salt's loader puts it,
the modules loaded with fake Salt dunders, a free port, fake nginx workers."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "salt-states")
UTILS = os.path.abspath(os.path.join(ROOT, "salt", "_utils"))
STATE = os.path.join(ROOT, "salt", "_states", "saltpipe_app.py")
MODULE = os.path.join(ROOT, "salt", "_modules", "saltpipe_app.py")
# Salt puts <cachedir>/extmods/utils on sys.path while it loads a state or execution module.
if UTILS not in sys.path:
    sys.path.insert(0, UTILS)

IMAGE = "127.0.0.1:5000/saltpipe/app"
A, B, C = ("sha256:" + ch * 64 for ch in "abc")


def load(path, name, **dunders):
    """The module at ``path``, freshly executed, with ``__<key>__`` set from ``dunders``."""
    spec = importlib.util.spec_from_file_location(name, os.path.abspath(path))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for key, value in dunders.items():
        setattr(mod, f"__{key}__", value)
    return mod


def load_state(cachedir):
    return load(STATE, "saltpipe_app_state_under_test", opts={"cachedir": cachedir})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake_worker(title):
    """A child of this process titled like an nginx worker (this process plays the master)."""
    return subprocess.Popen(["bash", "-c", f"exec -a '{title}' sleep 30"])  # pylint: disable=consider-using-with


class PlanFixture(unittest.TestCase):
    """The deploy plan's two halves over fake loaders: the state's ``planned`` (app.prepare,
    app.deploy) and the execution module's direct ``saltpipe_app.deploy`` /
    ``saltpipe_app.prepare`` calls, which rebase a plan onto a new digest only under the
    same generation and grains. The module's ``deployed`` state is a recorder (``seen``)."""

    ARGS = {"image": IMAGE, "digest": B, "port": 8080, "slots": {"blue": 18081, "green": 18082},
            "env": {"SECRET_ISH": "x"}, "labels": {"saltpipe.tag": "dev-1"}, "pull_timeout": 77}
    GEN = "g" * 64

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.pulled = []
        self.grains = {"os_family": "Debian", "id": "m1"}
        self.mod = load(MODULE, "saltpipe_app_module_plan_under_test", opts={"cachedir": self.tmp},
                        pillar={"app": {"name": "app"}}, grains=self.grains, context={}, utils={}, salt={})
        self.mod.pull = lambda digest, timeout=None: self.pulled.append((digest, timeout)) or {"result": True, "pulled": True, "comment": "pulled"}
        self.state = load(STATE, "saltpipe_app_state_plan_under_test", opts={"cachedir": self.tmp}, salt={
            "saltpipe_app.write_plan": self.mod.write_plan, "saltpipe_app.pull": self.mod.pull,
        })
        self.seen = []
        self.mod._deployed_state = lambda test: self.deployed

    def deployed(self, **kwargs):
        self.seen.append(kwargs)
        return {"name": "app", "result": True, "changes": {"new": 1}, "comment": f"app serves {kwargs['digest']}"}

    def plan(self):
        with open(os.path.join(self.tmp, "saltpipe", "deploy-plan.json"), encoding="utf-8") as fh:
            return json.load(fh)
