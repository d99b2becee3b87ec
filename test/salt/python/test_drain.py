"""The deploy state's detached drain: the lock handed over to the finisher, which stops
and removes the old containers and prunes images; a following deploy waits for it. With the
deploy-hardening guarantees kept: the finisher's docker calls are bounded, it never stops the
container the upstream names nor prunes a later pre-pull's image, the state's progress events
carry no app output, the pulls are bounded by ``pull_timeout``. A fake Docker Engine API on a
unix socket (fake_engine.py) that records each request, and a fake Salt loader; no Salt
daemons, no Docker."""

import http.server
import importlib.util
import json
import os
import socket
import stat
import sys
import tempfile
import threading
import time
import types
import unittest
import warnings

from fake_engine import FakeEngine
from support import digest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "salt-states")
STATE = os.path.join(ROOT, "salt", "_states", "saltpipe_app.py")
MODULE = os.path.join(ROOT, "salt", "_modules", "saltpipe_app.py")
RUNNER = os.path.join(ROOT, "salt", "_runners", "saltpipe.py")
IMAGE = "127.0.0.1:5000/saltpipe/app"
A, B, C = ("sha256:" + ch * 64 for ch in "abc")


def load(path, name, **dunders):
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


class DrainTest(unittest.TestCase):
    def setUp(self):
        # The finisher outlives its Popen object on purpose (it is detached): no ResourceWarning.
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp()
        self.mod = load_state(self.tmp)
        self.engine = None

    def tearDown(self):
        if self.engine:
            self.engine.close()

    def fake_engine(self, **delays):
        """An engine holding app-blue and app-green, and images A, B, C of the app."""
        self.engine = FakeEngine(self.tmp, images=[f"{IMAGE}@{d}" for d in (A, B, C)], delays=delays)
        self.engine.add("app-blue", A, "blue")
        self.engine.add("app-green", B, "green")
        return self.engine

    def plan(self, engine, **over):
        return dict(
            {
                "app": "app", "socket": engine.path, "grace": 0.2, "drain": 7, "stop": ["app-blue"], "image": IMAGE,
                "retained": [A], "command_timeout": 60, "upstream_file": os.path.join(self.tmp, "upstream.conf"),
                "planned_at": round(time.time(), 3), "cachedir": self.tmp,
            },
            **over,
        )

    def drain_log(self):
        with open(os.path.join(self.tmp, "saltpipe", "app-drain.log"), encoding="utf-8") as fh:
            return json.loads(fh.read().splitlines()[-1])

    def wait_unlocked(self, seconds=10):
        fd = self.mod._drain_lock("app", seconds)
        os.close(fd)

    def test_the_finisher_drains_removes_prunes_and_holds_the_lock_until_done(self):
        engine = self.fake_engine(stop=0.6)
        fd = self.mod._drain_lock("app", 1)
        started = time.monotonic()
        self.mod._spawn_drain(fd, self.plan(engine))
        os.close(fd)  # as the state does: only the finisher holds it now
        # A following deploy cannot take the lock before the drain ended…
        with self.assertRaises(self.mod._Fail):
            self.mod._drain_lock("app", 0.3)
        self.wait_unlocked()
        self.assertGreaterEqual(time.monotonic() - started, 0.8)  # grace + docker stop
        self.assertEqual(
            engine.ops(),
            [
                ["stop", "-t", "7", "app-blue"],
                ["rm", "-f", "app-blue"],
                ["images"],
                ["rmi", f"{IMAGE}@{B}"],
                ["rmi", f"{IMAGE}@{C}"],
            ],
        )
        entry = self.drain_log()
        self.assertEqual(entry["stopped"], ["app-blue"])
        self.assertEqual(len(entry["pruned_images"]), 2)

    def test_the_finisher_never_stops_the_container_the_upstream_names(self):
        engine = self.fake_engine()
        plan = self.plan(engine, grace=0, stop=["app-blue", "app-green"])
        with open(plan["upstream_file"], "w", encoding="utf-8") as fh:
            fh.write(self.mod._upstream_text("app", "127.0.0.1:18081", {"container": "app-blue", "digest": A}))
        self.mod._drain_main(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        stopped = [c[-1] for c in engine.ops("stop", "rm")]
        self.assertEqual(stopped, ["app-green", "app-green"])

    def test_an_image_a_later_pre_pull_fetched_is_not_pruned(self):
        engine = self.fake_engine()
        plan = self.plan(engine, grace=0, stop=[])
        os.makedirs(os.path.join(self.tmp, "saltpipe"), exist_ok=True)
        with open(os.path.join(self.tmp, "saltpipe", "app-prepull.log"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": plan["planned_at"] - 60, "digest": B}) + "\n")  # before the plan: prunable
            fh.write(json.dumps({"at": plan["planned_at"] + 1, "digest": C}) + "\n")  # the next deploy's
        entry = self.mod._drain_main(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        self.assertEqual(entry["pruned_images"], [B])
        self.assertEqual(engine.ops("rmi"), [["rmi", f"{IMAGE}@{B}"]])

    def test_the_finishers_docker_calls_are_bounded_and_the_lock_is_released_anyway(self):
        engine = self.fake_engine(images=5)
        fd = self.mod._drain_lock("app", 1)
        started = time.monotonic()
        self.mod._spawn_drain(fd, self.plan(engine, grace=0, command_timeout=1))
        os.close(fd)
        self.wait_unlocked()
        self.assertLess(time.monotonic() - started, 4, "docker images was cut at the command timeout")
        entry = self.drain_log()
        self.assertEqual((entry["stopped"], entry["pruned_images"]), (["app-blue"], []))
        self.assertTrue([e for e in entry["errors"] if e.startswith("docker images:") and "timed out" in e], entry["errors"])

    def test_an_unlocked_app_is_taken_at_once(self):
        started = time.monotonic()
        fd = self.mod._drain_lock("other", 5)
        os.close(fd)
        self.assertLess(time.monotonic() - started, 0.2)

    def test_health_probe_backs_off_from_10_ms_to_the_interval(self):
        sleeps = []
        real = time.monotonic()
        clock = {"t": real}

        def monotonic():
            clock["t"] += 0.01 + (sleeps[-1] if sleeps else 0) / 10
            return clock["t"]

        # The module's own clock only (the time module itself stays as it is for other tests).
        self.mod.time = types.SimpleNamespace(sleep=sleeps.append, monotonic=monotonic, time=time.time)
        try:
            engine = types.SimpleNamespace(running=lambda name: True)
            ok, _ = self.mod._wait_healthy(engine, "c", "http://127.0.0.1:9/h", 10, 1)
        finally:
            self.mod.time = time
        self.assertFalse(ok)
        self.assertEqual([round(s, 4) for s in sleeps[:4]], [0.01, 0.012, 0.0144, 0.0173])
        self.assertEqual(max(sleeps), 1)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


class DeployedTest(unittest.TestCase):
    """``saltpipe_app.deployed`` end to end over a fake loader and a fake engine (the finisher,
    a process of its own, calls the same fake engine); the pull is a simulated CLI run."""

    OLD, NEW = digest(1), digest(2)

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp()
        self.mod = load_state(self.tmp)
        self.module = load(MODULE, "saltpipe_app_module_under_test")
        self.cli = os.path.join(self.tmp, "docker")
        self.engine = FakeEngine(self.tmp, delays={"stop": 0.5}, logs="SECRET-LOG-LINE from the app")
        self.engine.add("app-green", self.OLD, "green")
        self.upstream = os.path.join(self.tmp, "upstream.conf")
        self.ports = {"blue": free_port(), "green": free_port()}
        # app-green serves the old digest.
        with open(self.upstream, "w", encoding="utf-8") as fh:
            fh.write(self.mod._upstream_text("app", f"127.0.0.1:{self.ports['green']}",
                                             {"container": "app-green", "digest": self.OLD, "slot": "green", "port": self.ports["green"]}))
        self.calls, self.events = [], []
        self.server = http.server.HTTPServer(("127.0.0.1", self.ports["blue"]), _Health)
        self.server.status = 200
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.mod.__salt__ = {
            "cmd.run_all": self.run_all,
            "saltpipe_app.marker": self.module.marker,
            "event.fire_master": lambda data, tag: self.events.append((tag, data)),
        }

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()
        self.engine.close()

    def run_all(self, argv, timeout=None, **_):
        """The state's commands: `docker pull` (the image then present) and nginx, always fine."""
        self.calls.append((list(argv), timeout))
        if argv[0] == self.cli and argv[1] == "pull":
            self.engine.present.add(argv[2])
        return {"retcode": 0, "stdout": "", "stderr": ""}

    def deploy(self, **over):
        kwargs = dict(
            name="app", image=IMAGE, digest=self.NEW, port=8080, health_timeout=1, health_interval=0.1,
            drain_seconds=3, switch_grace_seconds=0, slots=self.ports, upstream_file=self.upstream,
            nginx_test_cmd=["true"], nginx_reload_cmd=["true"], docker_cli=self.cli,
            docker_socket=self.engine.path, nginx_pid_file=os.path.join(self.tmp, "no-nginx.pid"),
            progress="saltpipe/deploy/dev/minion", pull_timeout=77, command_timeout=33,
        )
        kwargs.update(over)
        return self.mod.deployed(**kwargs)

    def steps(self):
        return [tag.rsplit("/", 1)[-1] for tag, _ in self.events]

    def test_the_state_switches_hands_the_drain_over_and_returns(self):
        ret = self.deploy()
        self.assertTrue(ret["result"], ret["comment"])
        self.assertIn(f"serves {self.NEW}", ret["comment"], "what the master's health gate reads")
        self.assertEqual(ret["changes"]["stopped"], ["app-green"])
        self.assertEqual(ret["changes"]["drain"], "detached")
        self.assertEqual(self.module.marker(self.upstream)["container"], "app-blue")
        self.assertEqual(self.steps(), ["pull", "start", "healthy", "switched", "draining"])
        self.assertEqual(self.events[-1][1]["stopped"], ["app-green"])
        # The CLI only pulls (bounded by pull_timeout); the rest went to the engine's API.
        self.assertEqual([(a[1:], t) for a, t in self.calls if a[0] == self.cli], [(["pull", f"{IMAGE}@{self.NEW}"], 77)])
        self.assertEqual(
            self.engine.ops("ps", "image-inspect", "create", "start")[:4],
            [["ps"], ["image-inspect", f"{IMAGE}@{self.NEW}"], ["create", "app-blue"], ["start", "app-blue"]],
        )
        created = self.engine.last_create
        self.assertEqual(created["Image"], f"{IMAGE}@{self.NEW}")
        self.assertEqual(created["HostConfig"]["PortBindings"], {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(self.ports["blue"])}]})
        self.assertEqual(created["HostConfig"]["RestartPolicy"], {"Name": "unless-stopped"})
        self.assertEqual((created["Labels"]["saltpipe.digest"], created["Labels"]["saltpipe.slot"]), (self.NEW, "blue"))
        self.assertIn(f"SALTPIPE_IMAGE_DIGEST={self.NEW}", created["Env"])
        # The finisher holds the lock: the next deploy on this minion waits for the drain.
        with self.assertRaises(self.mod._Fail):
            self.mod._drain_lock("app", 0.1)
        fd = self.mod._drain_lock("app", 10)
        os.close(fd)
        self.assertEqual(self.engine.ops("stop", "rm")[:2], [["stop", "-t", "3", "app-green"], ["rm", "-f", "app-green"]])

    def test_switched_is_reported_once_the_reload_renewed_the_workers(self):
        pid_file = os.path.join(self.tmp, "nginx.pid")
        with open(pid_file, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        old = fake_worker("nginx: worker process")
        workers = [old]
        time.sleep(0.1)
        reloaded = {}

        def renew():
            time.sleep(0.3)
            workers.append(fake_worker("nginx: worker process"))
            old.kill()

        def run_all(argv, timeout=None, **_):
            if argv == ["fake-reload"]:
                reloaded["at"] = time.monotonic()
                threading.Thread(target=renew).start()
            return self.run_all(argv, timeout)

        self.mod.__salt__["cmd.run_all"] = run_all
        self.mod.__salt__["event.fire_master"] = lambda data, tag: self.events.append((tag, time.monotonic()))
        try:
            ret = self.deploy(nginx_reload_cmd=["fake-reload"], nginx_pid_file=pid_file)
        finally:
            for proc in workers:
                proc.kill()
                proc.wait()
        self.assertTrue(ret["result"], ret["comment"])
        switched = dict((tag.rsplit("/", 1)[-1], at) for tag, at in self.events)["switched"]
        self.assertGreaterEqual(switched - reloaded["at"], 0.3, "not before the old worker is gone")

    def test_a_failed_health_gate_keeps_app_output_out_of_the_events_and_releases_the_lock(self):
        self.server.status = 500
        ret = self.deploy()
        self.assertFalse(ret["result"])
        summary, _, detail = ret["comment"].partition(self.mod.DETAIL_MARK)
        self.assertIn("health check failed", summary)
        self.assertNotIn("SECRET-LOG-LINE", summary)
        self.assertIn("SECRET-LOG-LINE", detail, "the detail goes to the master's record only")
        self.assertEqual(self.steps()[-1], "failed")
        self.assertNotIn("SECRET-LOG-LINE", json.dumps(self.events))
        self.assertEqual(self.engine.ops("stop"), [], "no finisher: nothing switched")
        self.assertEqual(self.engine.ops("rm"), [["rm", "-f", "app-blue"]], "the new container removed")
        fd = self.mod._drain_lock("app", 0)  # released on the way out
        os.close(fd)

    def test_a_deploy_waits_for_the_previous_drain_and_fails_cleanly_when_it_does_not_end(self):
        held = self.mod._drain_lock("app", 0)
        try:
            started = time.monotonic()
            self.mod.DRAIN_WAIT_MARGIN_SECONDS = 0
            ret = self.deploy(drain_seconds=0, switch_grace_seconds=0.3)
        finally:
            os.close(held)
        self.assertFalse(ret["result"])
        self.assertIn("did not end within", ret["comment"])
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertEqual(ret["changes"], {}, "nothing touched")
        self.assertEqual((self.calls, self.engine.ops()), ([], []))

    def test_test_mode_plans_without_the_lock_or_events(self):
        held = self.mod._drain_lock("app", 0)
        try:
            self.mod.__opts__["test"] = True
            ret = self.deploy()
        finally:
            self.mod.__opts__["test"] = False
            os.close(held)
        self.assertIsNone(ret["result"])
        self.assertIn("would deploy", ret["comment"])
        self.assertEqual(self.events, [])


def fake_worker(title):
    """A child of this process titled like an nginx worker (this process plays the master)."""
    import subprocess  # pylint: disable=import-outside-toplevel

    return subprocess.Popen(["bash", "-c", f"exec -a '{title}' sleep 30"])


class ReloadWaitTest(unittest.TestCase):
    """After ``nginx -s reload`` the state waits until no old worker accepts connections."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.mod = load_state(self.tmp)
        self.pid_file = os.path.join(self.tmp, "nginx.pid")
        with open(self.pid_file, "w", encoding="ascii") as fh:
            fh.write(f"{os.getpid()}\n")
        self.procs = []

    def tearDown(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()

    def worker(self, title="nginx: worker process"):
        proc = fake_worker(title)
        self.procs.append(proc)
        time.sleep(0.1)  # exec'd under its title
        return proc

    def test_only_the_masters_accepting_workers_count(self):
        old = self.worker()
        self.worker("nginx: worker process is shutting down")
        self.assertEqual(self.mod._accepting_workers(self.pid_file), {old.pid})
        self.assertIsNone(self.mod._accepting_workers(os.path.join(self.tmp, "absent.pid")))
        self.assertIsNone(self.mod._accepting_workers(""))

    def test_the_wait_ends_when_every_accepting_worker_is_new(self):
        old = self.worker()
        before = self.mod._accepting_workers(self.pid_file)

        def reload():
            time.sleep(0.3)
            self.worker()
            old.kill()

        threading.Thread(target=reload).start()
        started = time.monotonic()
        self.assertTrue(self.mod._await_reload(self.pid_file, before, bound=5))
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertLess(time.monotonic() - started, 2)

    def test_without_settle_the_wait_ends_once_the_new_workers_are_up(self):
        old = self.worker()
        before = self.mod._accepting_workers(self.pid_file)
        threading.Thread(target=lambda: (time.sleep(0.2), self.worker())).start()
        started = time.monotonic()
        self.assertTrue(self.mod._await_reload(self.pid_file, before, bound=5, settle=False))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertLess(time.monotonic() - started, 1)
        self.assertIn(old.pid, self.mod._accepting_workers(self.pid_file), "the old worker was not waited for")

    def test_a_reload_that_renews_nothing_is_bounded(self):
        self.worker()
        before = self.mod._accepting_workers(self.pid_file)
        started = time.monotonic()
        self.assertFalse(self.mod._await_reload(self.pid_file, before, bound=0.3))
        self.assertLess(time.monotonic() - started, 1)

    def test_a_bad_pid_file_is_refused_by_name_before_anything_runs(self):
        for bad in (5, "run/nginx.pid"):
            errors = self.mod._validate("app", IMAGE, A, 8080, "/healthz", {"blue": 1, "green": 2}, "127.0.0.1", {}, {}, bad)
            self.assertEqual(len(errors), 1, errors)
            self.assertIn(f"invalid nginx_pid_file {bad!r}", errors[0])
        self.assertEqual(self.mod._validate("app", IMAGE, A, 8080, "/healthz", {"blue": 1, "green": 2}, "127.0.0.1", {}, {}, ""), [])

    def test_no_master_is_no_wait(self):
        self.assertTrue(self.mod._await_reload(os.path.join(self.tmp, "absent.pid"), None, bound=5))


class PrePullModuleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.calls = []
        self.mod = load(
            MODULE, "saltpipe_app_module_pull_under_test",
            opts={"cachedir": self.tmp},
            pillar={"app": {"registry": {"server": "127.0.0.1:5000", "repository": "saltpipe/app"},
                            "deploy": {"pull_timeout": 77}, "docker_config_dir": ""}},
            salt={"cmd.run_all": self.run_all},
        )

    def run_all(self, argv, timeout=None, **_):
        self.calls.append((list(argv), timeout))
        return {"retcode": 1 if argv[1:3] == ["image", "inspect"] else 0, "stdout": "", "stderr": ""}

    def test_the_pre_pull_is_bounded_like_the_deploys_pull_and_noted_for_the_finisher(self):
        res = self.mod.pull(B)
        self.assertTrue(res["result"] and res["pulled"])
        self.assertEqual([(a[1], t) for a, t in self.calls], [("image", 60), ("pull", 77)])
        with open(os.path.join(self.tmp, "saltpipe", "app-prepull.log"), encoding="utf-8") as fh:
            self.assertEqual(json.loads(fh.read().splitlines()[-1])["digest"], B)

    def test_only_a_whole_digest_is_pulled(self):
        self.assertFalse(self.mod.pull(B + "\n")["result"])
        self.assertEqual(self.calls, [])


class PlanTest(unittest.TestCase):
    """The deploy plan: ``planned`` (app.prepare, app.deploy), the direct
    ``saltpipe_app.deploy`` / ``saltpipe_app.prepare`` calls, and the rebase of a plan onto
    a new digest only under the same generation and grains."""

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

    def test_a_plan_keeps_the_validated_arguments_privately_and_pulls(self):
        ret = self.state.planned("app", __id__="x", __sls__="app.prepare", generation=self.GEN, **self.ARGS)
        self.assertTrue(ret["result"], ret)
        self.assertEqual(self.pulled, [(B, 77)])
        path = os.path.join(self.tmp, "saltpipe", "deploy-plan.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(self.plan()["args"], dict(self.ARGS, name="app"))
        self.assertEqual(self.plan()["generation"], self.GEN)

    def test_app_deploys_plan_does_not_pull_the_deployed_state_does(self):
        ret = self.state.planned("app", generation=self.GEN, pull=False, **self.ARGS)
        self.assertTrue(ret["result"], ret)
        self.assertEqual((self.pulled, ret["changes"]), ([], {}))
        self.assertEqual(self.plan()["digest"], B)

    def test_a_bad_or_unknown_argument_plans_nothing(self):
        for bad in ({"digest": "sha256:nothex"}, {"port": 0}, {"colour": "blue"}):
            ret = self.state.planned("app", **dict(self.ARGS, **bad))
            self.assertFalse(ret["result"])
            self.assertIn(next(iter(bad)) if "colour" in bad else "invalid", ret["comment"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "saltpipe", "deploy-plan.json")))
        self.assertEqual(self.pulled, [])

    def test_the_direct_deploy_calls_the_state_with_the_plan_and_returns_like_state_sls(self):
        self.state.planned("app", **self.ARGS)
        ret = self.mod.deploy(B)
        self.assertEqual(self.seen, [dict(self.ARGS, name="app", settle=True)])
        self.mod.deploy(B, settle=False)
        self.assertFalse(self.seen[-1]["settle"], "a batch before the last does not wait for nginx's old workers")
        ((key, chunk),) = ret.items()
        self.assertEqual(key, "saltpipe_app_|-app-deploy-saltpipe-app-deployed_|-app_|-deployed")
        self.assertTrue(chunk["result"])
        self.assertIsInstance(chunk["duration"], float)

    def test_a_plan_is_rebased_onto_a_new_digest_under_the_same_generation(self):
        self.state.planned("app", generation=self.GEN, **self.ARGS)
        (chunk,) = self.mod.deploy(C, generation=self.GEN, event_id="e-2", tag="dev-2").values()
        self.assertTrue(chunk["result"], chunk)
        want = dict(self.ARGS, name="app", digest=C, labels={"saltpipe.event_id": "e-2", "saltpipe.tag": "dev-2"}, settle=True)
        self.assertEqual(self.seen, [want])
        # The plan on disk is the one it was rendered as: a rebase is per call.
        self.assertEqual(self.plan()["digest"], B)

    def test_no_plan_another_generation_or_other_grains_change_nothing(self):
        self.assertEqual(list(self.mod.deploy(C, generation=self.GEN)), [self.mod.NO_PLAN])
        self.state.planned("app", generation=self.GEN, **self.ARGS)
        cases = {
            "no generation, another digest": lambda: self.mod.deploy(C),
            "another generation": lambda: self.mod.deploy(C, generation="h" * 64),
            "a generation against a plan made without one": None,
        }
        for why, call in cases.items():
            if call is None:
                self.state.planned("app", **self.ARGS)
                call = lambda: self.mod.deploy(C, generation=self.GEN)  # noqa: E731
            ret = call()
            self.assertEqual(list(ret), [self.mod.NO_PLAN], why)
            self.assertIn("nothing changed", ret[self.mod.NO_PLAN])
        self.state.planned("app", generation=self.GEN, **self.ARGS)
        self.grains["os_family"] = "RedHat"
        self.assertIn("grains", self.mod.deploy(C, generation=self.GEN)[self.mod.NO_PLAN])
        self.assertEqual(self.seen, [])

    def test_the_direct_prepare_rebases_keeps_the_new_plan_and_pulls(self):
        self.state.planned("app", generation=self.GEN, pull=False, **self.ARGS)
        rendered_at = self.plan()["rendered_at"]
        self.assertEqual(list(self.mod.prepare(C, "h" * 64)), [self.mod.NO_PLAN])
        self.assertEqual(self.pulled, [])
        time.sleep(0.01)
        ret = self.mod.prepare(C, self.GEN, event_id="e-3", tag="dev-3")
        self.assertTrue(ret["result"], ret)
        self.assertEqual(self.plan()["rendered_at"], rendered_at, "rebased, not rendered")
        self.assertGreater(self.plan()["at"], rendered_at)
        self.assertEqual(self.pulled, [(C, 77)])
        self.assertEqual((self.plan()["digest"], self.plan()["args"]["digest"], self.plan()["generation"]), (C, C, self.GEN))
        self.assertEqual(self.plan()["args"]["labels"], {"saltpipe.event_id": "e-3", "saltpipe.tag": "dev-3"})
        (chunk,) = self.mod.deploy(C).values()
        self.assertTrue(chunk["result"])

    def test_a_state_that_raises_reads_as_raised(self):
        self.state.planned("app", **self.ARGS)

        def boom(**_):
            raise RuntimeError("docker went away")

        self.mod._deployed_state = lambda test: boom
        (chunk,) = self.mod.deploy(B).values()
        self.assertFalse(chunk["result"])
        self.assertIn("An exception occurred", chunk["comment"])


class _Client:
    """Answers every call with ``answers``, or call N with ``answers[N]`` when given a list."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []
        self.event = types.SimpleNamespace(cpub=False, close_pub=lambda: None)

    def cmd(self, tgt, fun, *args, **kwargs):
        self.calls.append((tgt, fun, args, kwargs))
        if isinstance(self.answers, list):
            return dict(self.answers[len(self.calls) - 1])
        return dict(self.answers)

    def run_job(self, tgt, fun, arg=(), ret="", listen=False, **kwargs):  # noqa: ARG002
        """Published now (recorded as a call); get_cli_event_returns yields its answers. An
        answer given as a whole return (``{"ret": ...}``) is returned as it is."""
        self.published = self.cmd(tgt, fun, arg, **kwargs)
        return {"jid": str(len(self.calls)), "minions": sorted(self.published)}

    def get_cli_event_returns(self, jid, minions, *args, **kwargs):  # noqa: ARG002
        for mid in minions:
            answer = self.published[mid]
            yield {mid: answer if isinstance(answer, dict) and "ret" in answer else {"ret": answer}}


class _Ck:
    def __init__(self, known, connected, grains):
        self.known, self.connected = known, connected
        self.cache = types.SimpleNamespace(fetch=lambda bank, mid: grains.get(mid) if bank == "grains" else None)

    def check_minions(self, tgt, tgt_type):
        return {"minions": list(self.known)}

    def connected_ids(self, subset=None):
        return set(self.connected) & set(subset or self.known)


@unittest.skipUnless(importlib.util.find_spec("salt"), "needs the Salt venv's Python (scripts/setup-salt.sh)")
class SaltPortTest(unittest.TestCase):
    TGT = "L@m1,m2,m3 and G@environment:dev and G@roles:app"

    def port(self, ck, answers, plan_only=False, opts=None):
        runner = load(RUNNER, "saltpipe_runner_under_test", opts=opts or {})
        runner.salt.utils.minions.CkMinions = lambda opts: ck
        port = object.__new__(runner.SaltPort)
        port.env, port.role, port.tgt, port.timeout = "dev", "app", self.TGT, 300
        port.plan_only, port.client = plan_only, _Client(answers)
        self.runner = runner
        return port

    def master(self):
        """Master opts with a states and a pillar root of a few files, and a state dir."""
        tmp = tempfile.mkdtemp()
        for rel, text in {"states/app/deploy.sls": "x", "states/_modules/m.py": "y", "pillar/app.sls": "password: s3cret"}.items():
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w", encoding="utf-8") as fh:
                fh.write(text)
        return {"cachedir": os.path.join(tmp, "cache"), "file_roots": {"base": [os.path.join(tmp, "states")]},
                "pillar_roots": {"base": [os.path.join(tmp, "pillar")]}}, tmp

    def setUp(self):
        self.real_ck = None
        import salt.utils.minions  # noqa: F401 (the venv's Salt)

        self.real_ck = sys.modules["salt.utils.minions"].CkMinions

    def tearDown(self):
        sys.modules["salt.utils.minions"].CkMinions = self.real_ck

    def test_an_unconnected_minion_is_silent_at_once_the_others_pinged_through_the_whole_target(self):
        ck = _Ck(["m1", "m2", "m3"], connected=["m1", "m2"], grains={"m3": {"ipv4": ["10.0.0.3"]}})
        port = self.port(ck, {"m1": True, "m2": True})
        self.assertEqual(port.targets(), (["m1", "m2"], ["m3"]))
        ((tgt, fun, _, kwargs),) = port.client.calls
        self.assertEqual((tgt, fun, kwargs["tgt_type"]), (f"{self.TGT} and not L@m3", "test.ping", "compound"))
        self.assertEqual(kwargs["timeout"], 5)

    def test_a_connected_minion_that_missed_the_ping_gets_one_more_of_its_own(self):
        ck = _Ck(["m1", "m2", "m3"], connected=["m1", "m2"], grains={"m3": {"ipv4": ["10.0.0.3"]}})
        port = self.port(ck, [{"m1": True, "m2": "Minion did not return. [No response]"}, {"m2": True}])
        self.assertEqual(port.targets(), (["m1", "m2"], ["m3"]))
        self.assertEqual(len(port.client.calls), 2)
        (tgt, fun, _, kwargs) = port.client.calls[1]
        self.assertEqual((tgt, fun, kwargs["tgt_type"]), (["m2"], "test.ping", "list"))

    def test_a_connected_minion_silent_twice_is_reported_silent(self):
        ck = _Ck(["m1", "m2"], connected=["m1", "m2"], grains={})
        port = self.port(ck, [{"m1": True}, {}])
        self.assertEqual(port.targets(), (["m1"], ["m2"]))

    def test_no_connection_seen_at_all_pings_every_minion(self):
        ck = _Ck(["m1", "m2"], connected=[], grains={})
        port = self.port(ck, {"m1": True, "m2": "Minion did not return"})
        self.assertEqual(port.targets(), (["m1"], ["m2"]))
        self.assertEqual(port.client.calls[0][0], self.TGT)

    @staticmethod
    def chunk(fun, sls, result, comment):
        return {"ret": {f"saltpipe_app_|-app-{sls}-saltpipe-app-{fun}_|-app_|-{fun}": {
            "result": result, "changes": {}, "comment": comment, "duration": 1}}}

    def test_a_plan_only_master_renders_every_deploy_and_prepares_nothing(self):
        deployed = self.chunk("deployed", "deploy", None, f"would deploy r/app@{B} as app-blue")
        port = self.port(_Ck([], [], {}), {"m1": deployed}, plan_only=True)
        self.assertEqual(port.prepare(["m1"], {"digest": B}), set())
        self.assertEqual(port.client.calls, [])
        self.assertTrue(port.apply(["m1"], {"digest": B})["m1"]["result"])
        self.assertEqual([c[1:3] for c in port.client.calls], [("state.sls", (["app.deploy"],))])

    def test_prepare_is_one_direct_call_where_a_plan_holds_and_the_state_elsewhere(self):
        opts, _ = self.master()
        planned, unplanned = self.chunk("planned", "prepare", True, "planned"), self.chunk("planned", "prepare", False, "no")
        answers = [{"m1": {"result": True, "comment": "planned"}, "m2": {"saltpipe_app.no_plan": "no plan"},
                    "m3": "'saltpipe_app.prepare' is not available."}, {"m2": planned, "m3": unplanned}]
        port = self.port(_Ck([], [], {}), answers, opts=opts)
        request = {"digest": B, "event_id": "e-1", "tag": "dev-1"}
        self.assertEqual(port.prepare(["m1", "m2", "m3"], request), {"m1", "m2"})
        (tgt, fun, args, kwargs), (tgt2, fun2, args2, kwargs2) = port.client.calls
        generation = self.runner._generation("dev")
        self.assertEqual((tgt, fun, args, kwargs["kwarg"]), (["m1", "m2", "m3"], "saltpipe_app.prepare", ([B, generation],), {"event_id": "e-1", "tag": "dev-1"}))
        self.assertEqual((tgt2, fun2, args2), (["m2", "m3"], "state.sls", (["app.prepare"],)))
        self.assertEqual(kwargs2["kwarg"]["pillar"]["saltpipe_deploy"]["generation"], generation)

    def test_the_prepare_round_runs_beside_the_batches_each_waiting_for_its_own_minions(self):
        opts, _ = self.master()
        gate = threading.Event()
        port = self.port(_Ck([], [], {}), {"m1": {"result": True}, "m2": {"result": True}}, opts=opts)

        class SlowForM2(_Client):
            def get_cli_event_returns(self, jid, minions, *args, **kwargs):
                for returned in super().get_cli_event_returns(jid, minions, *args, **kwargs):
                    if "m2" in returned:
                        gate.wait(5)  # m2 still pulls
                    yield returned

        port.thread_client = lambda: SlowForM2({"m1": {"result": True}, "m2": {"result": True}})
        preparing = port.begin_prepare(["m1", "m2"], {"digest": B})
        self.assertTrue(preparing.wait(["m1"], timeout=2), "batch 1 starts once m1 is prepared")
        self.assertFalse(preparing.wait(["m2"], timeout=0.2), "batch 2 waits for m2's prepare")
        gate.set()
        self.assertTrue(preparing.wait(["m2"], timeout=2))
        preparing.join(2)
        self.assertEqual(preparing.planned, {"m1", "m2"})
        self.assertEqual(port.client.calls, [], "the round used its own thread's client")

    def test_a_failed_prepare_round_releases_every_batch(self):
        port = self.port(_Ck([], [], {}), {})
        port.thread_client = lambda: (_ for _ in ()).throw(RuntimeError("no client"))
        self.runner.log.disabled = True
        preparing = port.begin_prepare(["m1", "m2"], {"digest": B})
        self.assertTrue(preparing.wait(["m1", "m2"], timeout=2))
        self.assertEqual(preparing.planned, set())

    def test_a_deploy_is_one_direct_call_and_the_state_only_where_no_plan_held(self):
        opts, _ = self.master()
        deployed = self.chunk("deployed", "deploy", True, f"app serves {B} from app-blue")
        failed = self.chunk("deployed", "deploy", False, "health check failed")
        answers = [{"m1": deployed, "m2": {"ret": {"saltpipe_app.no_plan": "no plan; nothing changed"}},
                    "m3": {"ret": "'saltpipe_app.deploy' is not available."}, "m4": failed,
                    "m5": {"ret": "Passed invalid arguments to saltpipe_app.deploy: unexpected keyword 'generation'"}},
                   {"m2": deployed, "m3": deployed, "m5": deployed}]
        port = self.port(_Ck([], [], {}), answers, opts=opts)
        out = port.apply(["m1", "m2", "m3", "m4", "m5", "m6"], {"digest": B, "tag": "dev-1", "kind": "rollback"})
        self.assertEqual({m: r["result"] for m, r in out.items()}, {"m1": True, "m2": True, "m3": True, "m4": False, "m5": True, "m6": False})
        # m6 gave no answer to the direct call: it may have switched, so it is not run again.
        self.assertEqual(out["m6"]["comment"], "no return within the timeout")
        direct, state = port.client.calls
        self.assertEqual(direct[1:3], ("saltpipe_app.deploy", ([B],)))
        self.assertEqual(direct[3]["kwarg"], {"test": False, "generation": self.runner._generation("dev"), "event_id": "", "tag": "dev-1", "settle": True})
        self.assertEqual((state[0], state[1:3]), (["m2", "m3", "m5"], ("state.sls", (["app.deploy"],))))

    def test_the_generation_follows_every_state_and_pillar_file_and_is_keyed_to_this_master(self):
        opts, tmp = self.master()
        self.port(_Ck([], [], {}), {}, opts=opts)
        first = self.runner._generation("dev")
        self.assertRegex(first, r"^[0-9a-f]{64}$")
        key = os.path.join(opts["cachedir"], "saltpipe", "generation.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        os.makedirs(os.path.join(tmp, "states", "_modules", "__pycache__"))
        with open(os.path.join(tmp, "states", "_modules", "__pycache__", "m.cpython-311.pyc"), "wb") as fh:
            fh.write(b"compiled")
        self.assertEqual(self.runner._generation("dev"), first, "byte-compiled caches are not configuration")
        self.assertNotEqual(self.runner._generation("prod"), first)
        with open(os.path.join(tmp, "pillar", "app.sls"), "w", encoding="utf-8") as fh:
            fh.write("password: rotated")
        changed = self.runner._generation("dev")
        self.assertNotEqual(changed, first)
        other, _ = self.master()
        self.port(_Ck([], [], {}), {}, opts=dict(opts, cachedir=other["cachedir"]))
        self.assertNotEqual(self.runner._generation("dev"), changed, "another master's key: another generation")
        self.port(_Ck([], [], {}), {}, opts=dict(opts, ext_pillar=[{"vault": {}}]))
        self.assertEqual(self.runner._generation("dev"), "")


if __name__ == "__main__":
    unittest.main()
