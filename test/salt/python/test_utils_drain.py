"""The deploy's detached drain (_utils/saltpipe_drain.py): the lock handed over to the
finisher, which stops and removes the old containers and prunes images; a following deploy
waits for it. The finisher's docker calls are bounded, it never stops the container the
upstream names nor prunes a later pre-pull's image. A fake Docker Engine API on a unix socket
(fake_engine.py) records each request; no Salt daemons, no Docker."""

import json
import os
import tempfile
import time
import unittest
import warnings

from fake_engine import FakeEngine
from minion_support import IMAGE, A, B, C

import saltpipe_drain as drain
from saltpipe_proxy import upstream_text
from saltpipe_shared import StepFailed


class DrainTest(unittest.TestCase):
    def setUp(self):
        # The finisher outlives its Popen object on purpose (it is detached): no ResourceWarning.
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp()
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
        fd = drain.lock(self.tmp, "app", seconds)
        os.close(fd)

    def test_the_finisher_drains_removes_prunes_and_holds_the_lock_until_done(self):
        engine = self.fake_engine(stop=0.6)
        fd = drain.lock(self.tmp, "app", 1)
        started = time.monotonic()
        drain.spawn(fd, self.plan(engine))
        os.close(fd)  # as the state does: only the finisher holds it now
        # A following deploy cannot take the lock before the drain ended…
        with self.assertRaises(StepFailed):
            drain.lock(self.tmp, "app", 0.3)
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
            fh.write(upstream_text("app", "127.0.0.1:18081", {"container": "app-blue", "digest": A}))
        drain.finish(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        stopped = [c[-1] for c in engine.ops("stop", "rm")]
        self.assertEqual(stopped, ["app-green", "app-green"])

    def test_an_image_a_later_pre_pull_fetched_is_not_pruned(self):
        engine = self.fake_engine()
        plan = self.plan(engine, grace=0, stop=[])
        os.makedirs(os.path.join(self.tmp, "saltpipe"), exist_ok=True)
        with open(os.path.join(self.tmp, "saltpipe", "app-prepull.log"), "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": plan["planned_at"] - 60, "digest": B}) + "\n")  # before the plan: prunable
            fh.write(json.dumps({"at": plan["planned_at"] + 1, "digest": C}) + "\n")  # the next deploy's
        entry = drain.finish(dict(plan, log=os.path.join(self.tmp, "drain.log")))
        self.assertEqual(entry["pruned_images"], [B])
        self.assertEqual(engine.ops("rmi"), [["rmi", f"{IMAGE}@{B}"]])

    def test_the_finishers_docker_calls_are_bounded_and_the_lock_is_released_anyway(self):
        engine = self.fake_engine(images=5)
        fd = drain.lock(self.tmp, "app", 1)
        started = time.monotonic()
        drain.spawn(fd, self.plan(engine, grace=0, command_timeout=1))
        os.close(fd)
        self.wait_unlocked()
        self.assertLess(time.monotonic() - started, 4, "docker images was cut at the command timeout")
        entry = self.drain_log()
        self.assertEqual((entry["stopped"], entry["pruned_images"]), (["app-blue"], []))
        self.assertTrue([e for e in entry["errors"] if e.startswith("docker images:") and "timed out" in e], entry["errors"])

    def test_without_a_finisher_the_hand_over_drains_in_place_and_releases_the_lock(self):
        engine = self.fake_engine()
        fd = drain.lock(self.tmp, "app", 1)
        spawn = drain.spawn

        def no_process(lock_fd, job):
            raise OSError("fork refused")

        drain.spawn = no_process
        try:
            drain.log.disabled = True
            entry = drain.hand_over(fd, self.plan(engine, grace=0))
        finally:
            drain.spawn = spawn
            drain.log.disabled = False
        self.assertEqual(entry["stopped"], ["app-blue"])
        self.assertEqual(engine.ops("stop", "rm"), [["stop", "-t", "7", "app-blue"], ["rm", "-f", "app-blue"]])
        self.assertEqual(self.drain_log()["stopped"], ["app-blue"])
        self.wait_unlocked(0)

    def test_an_unlocked_app_is_taken_at_once(self):
        started = time.monotonic()
        fd = drain.lock(self.tmp, "other", 5)
        os.close(fd)
        self.assertLess(time.monotonic() - started, 0.2)


if __name__ == "__main__":
    unittest.main()
