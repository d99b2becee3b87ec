"""The deploy state's detached drain: the lock handed over to the finisher, which stops
and removes the old containers and prunes images; a following deploy waits for it. With the
deploy-hardening guarantees kept: the finisher's docker calls are bounded, it never stops the
container the upstream names nor prunes a later pre-pull's image, the state's progress events
carry no app output, the pulls are bounded by ``pull_timeout``. A fake docker CLI that records
its argv and a fake Salt loader; no Salt daemons, no Docker."""

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


def fake_docker(tmp, stop_seconds, images_seconds=0):
    """Records each call; `stop` takes stop_seconds, `images` images_seconds and lists A, B, C."""
    path = os.path.join(tmp, "docker")
    calls = os.path.join(tmp, "calls")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            "#!/bin/sh\n"
            f'echo "$*" >> {calls}\n'
            f'case "$1" in stop) sleep {stop_seconds};; images) sleep {images_seconds}; printf "{A}\\n{B}\\n{C}\\n";; esac\n'
        )
    os.chmod(path, stat.S_IRWXU)
    return path, calls


def read_calls(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return [line.split() for line in fh.read().splitlines()]
    except FileNotFoundError:
        return []


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

    def plan(self, cli, **over):
        return dict(
            {
                "app": "app", "docker": [cli], "grace": 0.2, "drain": 7, "stop": ["app-blue"], "image": IMAGE,
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
        cli, calls = fake_docker(self.tmp, 0.6)
        fd = self.mod._drain_lock("app", 1)
        started = time.monotonic()
        self.mod._spawn_drain(fd, self.plan(cli))
        os.close(fd)  # as the state does: only the finisher holds it now
        # A following deploy cannot take the lock before the drain ended…
        with self.assertRaises(self.mod._Fail):
            self.mod._drain_lock("app", 0.3)
        self.wait_unlocked()
        self.assertGreaterEqual(time.monotonic() - started, 0.8)  # grace + docker stop
        self.assertEqual(
            read_calls(calls),
            [
                ["stop", "-t", "7", "app-blue"],
                ["rm", "-f", "app-blue"],
                ["images", "--digests", "--no-trunc", "--format", "{{.Digest}}", IMAGE],
                ["rmi", f"{IMAGE}@{B}"],
                ["rmi", f"{IMAGE}@{C}"],
            ],
        )
        entry = self.drain_log()
        self.assertEqual(entry["stopped"], ["app-blue"])
        self.assertEqual(len(entry["pruned_images"]), 2)

    def test_the_finisher_never_stops_the_container_the_upstream_names(self):
        cli, calls = fake_docker(self.tmp, 0)
        plan = self.plan(cli, grace=0, stop=["app-blue", "app-green"])
        with open(plan["upstream_file"], "w", encoding="utf-8") as fh:
            fh.write(self.mod._upstream_text("app", "127.0.0.1:18081", {"container": "app-blue", "digest": A}))
        self.mod._drain_main(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        stopped = [c[-1] for c in read_calls(calls) if c[0] in ("stop", "rm")]
        self.assertEqual(stopped, ["app-green", "app-green"])

    def test_an_image_a_later_pre_pull_fetched_is_not_pruned(self):
        cli, calls = fake_docker(self.tmp, 0)
        plan = self.plan(cli, grace=0, stop=[])
        os.makedirs(os.path.join(self.tmp, "saltpipe"), exist_ok=True)
        with open(os.path.join(self.tmp, "saltpipe", "app-prepull.log"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": plan["planned_at"] - 60, "digest": B}) + "\n")  # before the plan: prunable
            fh.write(json.dumps({"at": plan["planned_at"] + 1, "digest": C}) + "\n")  # the next deploy's
        entry = self.mod._drain_main(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        self.assertEqual(entry["pruned_images"], [B])
        self.assertEqual([c for c in read_calls(calls) if c[0] == "rmi"], [["rmi", f"{IMAGE}@{B}"]])

    def test_the_finishers_docker_calls_are_bounded_and_the_lock_is_released_anyway(self):
        cli, _ = fake_docker(self.tmp, 0, images_seconds=5)
        fd = self.mod._drain_lock("app", 1)
        started = time.monotonic()
        self.mod._spawn_drain(fd, self.plan(cli, grace=0, command_timeout=1))
        os.close(fd)
        self.wait_unlocked()
        self.assertLess(time.monotonic() - started, 4, "docker images was cut at the command timeout")
        entry = self.drain_log()
        self.assertEqual((entry["stopped"], entry["pruned_images"]), (["app-blue"], []))
        self.assertIn("docker images: TimeoutExpired", entry["errors"])

    def test_an_unlocked_app_is_taken_at_once(self):
        started = time.monotonic()
        fd = self.mod._drain_lock("other", 5)
        os.close(fd)
        self.assertLess(time.monotonic() - started, 0.2)

    def test_health_probe_backs_off_from_50_ms_to_the_interval(self):
        sleeps = []
        real = time.monotonic()
        clock = {"t": real}

        def monotonic():
            clock["t"] += 0.01 + (sleeps[-1] if sleeps else 0) / 10
            return clock["t"]

        # The module's own clock only (the time module itself stays as it is for other tests).
        self.mod.time = types.SimpleNamespace(sleep=sleeps.append, monotonic=monotonic, time=time.time)
        try:
            ok, _ = self.mod._wait_healthy(lambda *a: {"ok": True, "stdout": "true"}, "c", "http://127.0.0.1:9/h", 1, 1)
        finally:
            self.mod.time = time
        self.assertFalse(ok)
        self.assertEqual([round(s, 4) for s in sleeps[:4]], [0.05, 0.075, 0.1125, 0.1688])
        self.assertEqual(max(sleeps), 1)


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


class DeployedTest(unittest.TestCase):
    """``saltpipe_app.deployed`` end to end over a fake loader: the state's docker calls are
    simulated, the finisher runs the fake CLI for real."""

    OLD, NEW = digest(1), digest(2)

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp()
        self.mod = load_state(self.tmp)
        self.module = load(MODULE, "saltpipe_app_module_under_test")
        self.cli, self.finisher_calls = fake_docker(self.tmp, 0.5)
        self.upstream = os.path.join(self.tmp, "upstream.conf")
        self.ports = {"blue": free_port(), "green": free_port()}
        # app-green serves the old digest.
        with open(self.upstream, "w", encoding="utf-8") as fh:
            fh.write(self.mod._upstream_text("app", f"127.0.0.1:{self.ports['green']}",
                                             {"container": "app-green", "digest": self.OLD, "slot": "green", "port": self.ports["green"]}))
        self.containers = {"app-green": {"digest": self.OLD, "slot": "green"}}
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

    def run_all(self, argv, timeout=None, **_):
        """The state's commands: docker simulated here, nginx always fine."""
        self.calls.append((list(argv), timeout))
        ok = {"retcode": 0, "stdout": "", "stderr": ""}
        if argv[0] != self.cli:
            return ok
        args = argv[1:]
        if args[0] == "ps":
            return dict(ok, stdout="\n".join(self.containers))
        if args[:2] == ["image", "inspect"]:
            return dict(ok, retcode=1)  # not here: pulled
        if args[0] == "inspect" and args[1] == "--format":
            return dict(ok, stdout="true")
        if args[0] == "inspect":
            return dict(ok, stdout=json.dumps([
                {"Name": "/" + n, "State": {"Running": True},
                 "Config": {"Labels": {"saltpipe.digest": c["digest"], "saltpipe.slot": c["slot"]}}}
                for n, c in self.containers.items()
            ]))
        if args[0] == "run":
            name = args[args.index("--name") + 1]
            self.containers[name] = {"digest": self.NEW, "slot": name.split("-")[-1]}
        if args[0] == "logs":
            return dict(ok, stdout="SECRET-LOG-LINE from the app")
        return ok

    def deploy(self, **over):
        kwargs = dict(
            name="app", image=IMAGE, digest=self.NEW, port=8080, health_timeout=1, health_interval=0.1,
            drain_seconds=3, switch_grace_seconds=0, slots=self.ports, upstream_file=self.upstream,
            nginx_test_cmd=["true"], nginx_reload_cmd=["true"], docker_cli=self.cli,
            nginx_pid_file=os.path.join(self.tmp, "no-nginx.pid"),
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
        # Bounded: the pull by pull_timeout, every other docker call by command_timeout.
        docker_calls = [(a[1:], t) for a, t in self.calls if a[0] == self.cli]
        self.assertEqual([t for a, t in docker_calls if a[0] == "pull"], [77])
        self.assertEqual({t for a, t in docker_calls if a[0] != "pull"}, {33})
        # The finisher holds the lock: the next deploy on this minion waits for the drain.
        with self.assertRaises(self.mod._Fail):
            self.mod._drain_lock("app", 0.1)
        fd = self.mod._drain_lock("app", 10)
        os.close(fd)
        self.assertEqual(
            [c[:2] for c in read_calls(self.finisher_calls)][:2], [["stop", "-t"], ["rm", "-f"]]
        )
        self.assertIn(["stop", "-t", "3", "app-green"], read_calls(self.finisher_calls))

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
        self.assertEqual(read_calls(self.finisher_calls), [], "no finisher: nothing switched")
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
        self.assertEqual(self.calls, [])

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

    def test_a_reload_that_renews_nothing_is_bounded(self):
        self.worker()
        before = self.mod._accepting_workers(self.pid_file)
        started = time.monotonic()
        self.assertFalse(self.mod._await_reload(self.pid_file, before, bound=0.3))
        self.assertLess(time.monotonic() - started, 1)

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
    """app.prepare's ``planned`` state and the batch's direct ``saltpipe_app.deploy``."""

    ARGS = {"image": IMAGE, "digest": B, "port": 8080, "slots": {"blue": 18081, "green": 18082},
            "env": {"SECRET_ISH": "x"}, "labels": {"saltpipe.tag": "dev-1"}, "pull_timeout": 77}

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.pulled = []
        self.mod = load(MODULE, "saltpipe_app_module_plan_under_test", opts={"cachedir": self.tmp},
                        pillar={"app": {"name": "app"}}, context={}, utils={}, salt={})
        self.state = load(STATE, "saltpipe_app_state_plan_under_test", opts={"cachedir": self.tmp}, salt={
            "saltpipe_app.write_plan": self.mod.write_plan,
            "saltpipe_app.pull": lambda digest, timeout=None: self.pulled.append((digest, timeout)) or {"result": True, "pulled": True, "comment": "pulled"},
        })

    def test_a_plan_keeps_the_validated_arguments_privately_and_pulls(self):
        ret = self.state.planned("app", __id__="x", __sls__="app.prepare", **self.ARGS)
        self.assertTrue(ret["result"], ret)
        self.assertEqual(self.pulled, [(B, 77)])
        path = os.path.join(self.tmp, "saltpipe", "deploy-plan.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path, encoding="utf-8") as fh:
            self.assertEqual(json.load(fh)["args"], dict(self.ARGS, name="app"))

    def test_a_bad_or_unknown_argument_plans_nothing(self):
        for bad in ({"digest": "sha256:nothex"}, {"port": 0}, {"colour": "blue"}):
            ret = self.state.planned("app", **dict(self.ARGS, **bad))
            self.assertFalse(ret["result"])
            self.assertIn(next(iter(bad)) if "colour" in bad else "invalid", ret["comment"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "saltpipe", "deploy-plan.json")))
        self.assertEqual(self.pulled, [])

    def test_the_direct_deploy_calls_the_state_with_the_plan_and_returns_like_state_sls(self):
        self.state.planned("app", **self.ARGS)
        seen = []

        def deployed(**kwargs):
            seen.append(kwargs)
            return {"name": "app", "result": True, "changes": {"new": 1}, "comment": f"app serves {B}"}

        self.mod._deployed_state = lambda test: deployed
        ret = self.mod.deploy(B)
        self.assertEqual(seen, [dict(self.ARGS, name="app")])
        ((key, chunk),) = ret.items()
        self.assertEqual(key, "saltpipe_app_|-app-deploy-saltpipe-app-deployed_|-app_|-deployed")
        self.assertTrue(chunk["result"])
        self.assertIsInstance(chunk["duration"], float)

    def test_without_a_plan_for_that_digest_nothing_runs(self):
        self.state.planned("app", **self.ARGS)
        self.mod._deployed_state = lambda test: self.fail("the state ran without a plan")
        (chunk,) = self.mod.deploy(C).values()
        self.assertFalse(chunk["result"])
        self.assertIn("no deploy plan for", chunk["comment"])
        self.assertEqual(chunk["changes"], {})

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

    def cmd(self, tgt, fun, *args, **kwargs):
        self.calls.append((tgt, fun, args, kwargs))
        if isinstance(self.answers, list):
            return dict(self.answers[len(self.calls) - 1])
        return dict(self.answers)


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

    def port(self, ck, answers, plan_only=False):
        runner = load(RUNNER, "saltpipe_runner_under_test", opts={})
        runner.salt.utils.minions.CkMinions = lambda opts: ck
        port = object.__new__(runner.SaltPort)
        port.env, port.role, port.tgt, port.timeout = "dev", "app", self.TGT, 300
        port.plan_only, port.client = plan_only, _Client(answers)
        port._planned = (None, frozenset())
        return port

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

    def test_prepare_plans_on_a_real_master_only_and_a_planned_batch_is_one_direct_call(self):
        port = self.port(_Ck([], [], {}), {}, plan_only=True)
        self.assertEqual(port.prepare(["m1"], {"digest": B}), set())
        self.assertEqual(port.client.calls, [])

        def chunk(fun, sls, result, comment):
            return {"ret": {f"saltpipe_app_|-app-{sls}-saltpipe-app-{fun}_|-app_|-{fun}": {
                "result": result, "changes": {}, "comment": comment, "duration": 1}}}

        planned, unplanned = chunk("planned", "prepare", True, "planned"), chunk("planned", "prepare", False, "no")
        deployed = chunk("deployed", "deploy", True, f"app serves {B} from app-blue")
        port = self.port(_Ck([], [], {}), [{"m1": planned, "m2": unplanned}, {"m1": deployed}, {"m2": deployed}, {"m1": deployed}])
        request = {"digest": B}
        self.assertEqual(port.prepare(["m1", "m2"], request), {"m1"})
        self.assertEqual(port.client.calls[0][1:3], ("state.sls", (["app.prepare"],)))
        self.assertEqual(port.client.calls[0][3]["kwarg"]["pillar"]["saltpipe_deploy"]["digest"], B)
        self.assertTrue(port.apply(["m1"], request)["m1"]["result"])
        self.assertEqual(port.client.calls[1][1:3], ("saltpipe_app.deploy", ([B],)))
        # m2 did not prepare, and a revert is another request: the whole deploy state.
        self.assertTrue(port.apply(["m2"], request)["m2"]["result"])
        port.apply(["m1"], dict(request, kind="rollback"))
        self.assertEqual([c[1:3] for c in port.client.calls[2:]], [("state.sls", (["app.deploy"],))] * 2)

if __name__ == "__main__":
    unittest.main()
