"""The ``saltpipe_app.deployed`` state end to end over a fake loader and a fake Docker Engine
API (fake_engine.py; the drain finisher, a process of its own, calls the same fake engine):
the switch, the hand-over of the drain, the health gate, the wait for a previous drain, test
mode. The state's progress events carry no app output; the pull is a simulated CLI run,
bounded by ``pull_timeout``. No Salt daemons, no Docker."""

import http.server
import json
import os
import stat
import tempfile
import threading
import time
import unittest
import warnings

from fake_engine import FakeEngine
from minion_support import IMAGE, MODULE, B, PlanFixture, fake_worker, free_port, load, load_state
from support import digest

import saltpipe_drain as drain
from saltpipe_proxy import upstream_text
from saltpipe_shared import DETAIL_MARK, StepFailed


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
            fh.write(upstream_text("app", f"127.0.0.1:{self.ports['green']}",
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
        with self.assertRaises(StepFailed):
            drain.lock(self.tmp, "app", 0.1)
        fd = drain.lock(self.tmp, "app", 10)
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

    def proxy(self, status):
        """A stand-in for the minion's nginx on its proxy port, answering ``status``."""
        port = free_port()
        server = http.server.HTTPServer(("127.0.0.1", port), _Health)
        server.status = status
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return f"http://127.0.0.1:{port}/healthz"

    def test_a_proxy_that_cannot_reach_the_new_container_fails_the_deploy_and_the_old_upstream_is_back(self):
        before = open(self.upstream, encoding="utf-8").read()
        ret = self.deploy(proxy_health_url=self.proxy(502))
        self.assertFalse(ret["result"])
        self.assertIn("the proxy does not reach the new container", ret["comment"])
        self.assertIn("answered 502", ret["comment"])
        self.assertIn("app-green", ret["comment"], "the old container keeps serving")
        self.assertEqual(open(self.upstream, encoding="utf-8").read(), before)
        self.assertNotIn("switched", self.steps())
        self.assertEqual(self.steps()[-1], "failed")
        self.assertNotIn("app-blue", self.engine.containers, "the new container is removed")
        self.assertIn("app-green", self.engine.containers)

    def test_a_proxy_that_reaches_the_new_container_lets_the_deploy_switch(self):
        ret = self.deploy(proxy_health_url=self.proxy(200))
        self.assertTrue(ret["result"], ret["comment"])
        self.assertEqual(self.module.marker(self.upstream)["container"], "app-blue")

    def test_a_proxy_health_url_off_this_host_is_refused_before_anything_runs(self):
        ret = self.deploy(proxy_health_url="http://10.0.0.1:80/healthz")
        self.assertFalse(ret["result"])
        self.assertIn("invalid proxy_health_url", ret["comment"])
        self.assertEqual(self.engine.ops("create"), [])

    def test_a_failed_health_gate_keeps_app_output_out_of_the_events_and_releases_the_lock(self):
        self.server.status = 500
        ret = self.deploy()
        self.assertFalse(ret["result"])
        summary, _, detail = ret["comment"].partition(DETAIL_MARK)
        self.assertIn("health check failed", summary)
        self.assertNotIn("SECRET-LOG-LINE", summary)
        self.assertIn("SECRET-LOG-LINE", detail, "the detail goes to the master's record only")
        self.assertEqual(self.steps()[-1], "failed")
        self.assertNotIn("SECRET-LOG-LINE", json.dumps(self.events))
        self.assertEqual(self.engine.ops("stop"), [], "no finisher: nothing switched")
        self.assertEqual(self.engine.ops("rm"), [["rm", "-f", "app-blue"]], "the new container removed")
        fd = drain.lock(self.tmp, "app", 0)  # released on the way out
        os.close(fd)

    def test_a_deploy_waits_for_the_previous_drain_and_fails_cleanly_when_it_does_not_end(self):
        held = drain.lock(self.tmp, "app", 0)
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
        held = drain.lock(self.tmp, "app", 0)
        try:
            self.mod.__opts__["test"] = True
            ret = self.deploy()
        finally:
            self.mod.__opts__["test"] = False
            os.close(held)
        self.assertIsNone(ret["result"])
        self.assertIn("would deploy", ret["comment"])
        self.assertEqual(self.events, [])


class PlannedTest(PlanFixture):
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


if __name__ == "__main__":
    unittest.main()
