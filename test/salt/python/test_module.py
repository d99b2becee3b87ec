"""The ``saltpipe_app`` execution module: the rollout's pre-pull (bounded like the deploy's
pull, noted for the drain finisher) and the direct ``saltpipe_app.deploy`` /
``saltpipe_app.prepare`` calls on a minion's plan (rebased onto a new digest only under the
same generation and grains), over fake loaders."""

import json
import os
import tempfile
import time
import unittest

from minion_support import MODULE, C, B, PlanFixture, load


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


class PlanTest(PlanFixture):
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


if __name__ == "__main__":
    unittest.main()
