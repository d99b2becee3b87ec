"""The deploy loop over a fake Salt port: ordering, newest-wins, rollback of switched minions,
pre-switch, convergence, claims (no Salt, no network)."""

import unittest

from support import Env, FakePort, digest
from saltpipe_core import claim, clock, decide


def push(env, n, order=None):
    """Receive push n the way the runner does (each push its own job); returns (lc, action, claimed)."""
    lc = env.lifecycle(claim.me(f"job-{n}"))
    request = {"digest": digest(n), "tag": f"dev-{n}", "event_id": f"ev-{n}", "order": order or n, "kind": "push"}
    with env.store.transaction("dev") as rec:
        action, _, _ = decide.receive(rec, request, env.settings, clock.now())
        claimed = action == "deploy" and lc.try_claim(rec, request["digest"], "push")
    return lc, action, claimed


class RolloutTest(unittest.TestCase):
    def test_with_more_than_one_batch_every_target_pulls_first_all_at_once(self):
        # prepare (pull + plan) before the first batch; none when one batch takes every minion.
        env = Env(port=FakePort(minions=("m1", "m2", "m3")))
        lc, _, _ = push(env, 1)
        (outcome,) = lc.drive()
        self.assertTrue(outcome["result"])
        self.assertEqual(env.port.pulled, [(["m1", "m2", "m3"], digest(1))])
        self.assertEqual(outcome["batches"], [["m1"], ["m2"], ["m3"]])
        # Each batch waits for its own minions' prepare only; the round is over before the outcome.
        self.assertEqual(env.port.waited, [["m1"], ["m2"], ["m3"], "joined"])
        env = Env(settings={"batch": "100%"})
        lc, _, _ = push(env, 1)
        lc.drive()
        self.assertFalse(hasattr(env.port, "pulled"))

    def test_a_deploy_that_lost_its_claim_before_the_prepare_round_pulls_nothing_and_stops(self):
        # + fencing: the prepare round runs only after a successful renewal.
        env = Env(port=FakePort(minions=("m1", "m2", "m3")))
        lc, _, _ = push(env, 1)
        real_targets = env.port.targets

        def targets(only=None):
            with env.store.transaction("dev") as rec:  # taken over while the targets were asked
                rec["claim"]["expires"] = 0
                self.assertTrue(claim.take(rec, claim.me("newer"), digest(2), "push", clock.now(), 60))
            return real_targets(only)

        env.port.targets = targets
        (outcome,) = lc.drive()
        self.assertFalse(outcome["result"])
        self.assertIn("lost the deploy claim", outcome["reason"])
        self.assertFalse(hasattr(env.port, "pulled"), "no prepare round without the claim")
        self.assertEqual((outcome["batches"], env.port.applied), ([], []))

    def test_a_push_deploys_in_batches_and_becomes_current(self):
        env = Env()
        lc, action, claimed = push(env, 1)
        self.assertEqual((action, claimed), ("deploy", True))
        (outcome,) = lc.drive()
        self.assertTrue(outcome["result"])
        self.assertEqual(outcome["batches"], [["m1"], ["m2"]])
        rec = env.store.read("dev")
        self.assertEqual((rec["current"]["digest"], rec["claim"], rec["pending"]), (digest(1), None, None))
        self.assertEqual(rec["minions"]["m1"]["digest"], digest(1))
        self.assertEqual([t for t, _ in env.port.events], ["saltpipe/deploy/dev/start", "saltpipe/deploy/dev/batch", "saltpipe/deploy/dev/batch", "saltpipe/deploy/dev/outcome"])
        batches = [d for t, d in env.port.events if t.endswith("/batch")]
        self.assertEqual([(b["index"], b["of"], b["minions"]) for b in batches], [(1, 2, ["m1"]), (2, 2, ["m2"])])
        self.assertEqual(env.port.settled, [False, True], "only the last batch waits for nginx's old workers")

    def test_pushes_during_a_deploy_collapse_to_the_newest_which_runs_next(self):
        env = Env()
        lc, _, _ = push(env, 1)
        arrivals = []

        def during(request):
            if request["digest"] == digest(1) and not arrivals:
                for n in (2, 3, 4):  # three pushes while 1 deploys
                    _, action, claimed = push(env, n)
                    arrivals.append((action, claimed))

        env.port.on_apply = during
        outcomes = lc.drive()
        self.assertEqual(arrivals, [("deploy", False)] * 3, "queued, not claimed")
        self.assertEqual([o["digest"] for o in outcomes], [digest(1), digest(4)])
        rec = env.store.read("dev")
        self.assertEqual(rec["current"]["digest"], digest(4))
        self.assertIsNone(rec["claim"])
        starts = [i for i, (t, _) in enumerate(env.port.events) if t.endswith("/start")]
        ends = [i for i, (t, _) in enumerate(env.port.events) if t.endswith("/outcome")]
        self.assertLess(ends[0], starts[1], "deploys never overlap")

    def test_replays_and_duplicates_start_nothing(self):
        env = Env()
        lc, _, _ = push(env, 2)
        lc.drive()
        self.assertEqual(push(env, 1)[1], "replay")
        self.assertEqual(push(env, 2)[1], "duplicate")
        self.assertEqual(len(env.port.applied), 2)

    def test_a_failed_batch_puts_switched_minions_back(self):
        env = Env(port=FakePort(["m1", "m2", "m3"]))
        push(env, 1)[0].drive()
        env.port.fail.add(("m2", digest(2)))
        (outcome,) = push(env, 2)[0].drive()
        self.assertFalse(outcome["result"])
        self.assertEqual(outcome["reason"], "batch 2 failed")
        self.assertEqual(outcome["rolled_back"], ["m1"])
        self.assertEqual(env.port.serving, {"m1": digest(1), "m2": digest(1), "m3": digest(1)})
        self.assertIn("skipped", outcome["minions"]["m3"]["comment"])
        self.assertEqual(env.store.read("dev")["current"]["digest"], digest(1))
        (revert,) = [d for t, d in env.port.events if t == "saltpipe/deploy/dev/revert" and d["digest"] == digest(2)]
        self.assertEqual((revert["to"], revert["minions"]), (digest(1), ["m1"]))

    def test_a_failing_pre_switch_step_touches_no_minion(self):
        env = Env(settings={"pre_switch": {"command": ["migrate"], "timeout": 10}})
        push(env, 1)[0].drive()
        env.port.pre_fail = True
        (outcome,) = push(env, 2)[0].drive()
        self.assertFalse(outcome["result"])
        self.assertIn("pre-switch step failed", outcome["reason"])
        self.assertEqual(set(env.port.serving.values()), {digest(1)})

    def test_a_silent_minion_is_reported_and_the_others_deployed(self):
        env = Env(port=FakePort(["m1", "m2"], silent=["m2"]))
        (outcome,) = push(env, 1)[0].drive()
        self.assertFalse(outcome["result"])
        self.assertIn("m2", outcome["reason"])
        self.assertEqual(outcome["minions"]["m2"]["comment"], "did not answer")
        self.assertTrue(outcome["minions"]["m1"]["result"])
        self.assertEqual(env.port.serving["m1"], digest(1))
        # The deploy's digest is current, so m2 converges to it when it returns.
        self.assertEqual(env.store.read("dev")["current"]["digest"], digest(1))

    def test_converge_only_the_drifted_minions(self):
        env = Env()
        push(env, 1)[0].drive()
        env.port.serving["m2"] = None  # container removed by hand
        lc = env.lifecycle()
        with env.store.transaction("dev") as rec:
            lc.try_claim(rec, digest(1), "converge")
        outcome = lc.converge(None, env.store.read("dev")["current"])
        lc.drive()
        self.assertEqual(outcome["batches"], [["m2"]])
        self.assertEqual(env.port.serving["m2"], digest(1))
        self.assertIsNone(env.store.read("dev")["claim"])

    def test_the_periodic_pass_does_not_hammer_a_minion_that_just_failed(self):
        env = Env()
        push(env, 1)[0].drive()
        env.port.serving["m2"] = None
        env.port.fail.add(("m2", digest(1)))
        for expected in (["m2"], []):  # fails once, then waits for the retry interval
            lc = env.lifecycle()
            with env.store.transaction("dev") as rec:
                lc.try_claim(rec, digest(1), "converge")
            outcome = lc.converge(None, env.store.read("dev")["current"])
            lc.drive()
            self.assertEqual(outcome.get("batches", []), [expected] if expected else [])

    def test_a_dead_owners_interrupted_deploy_is_requeued_and_finished(self):
        env = Env()
        push(env, 1)[0].drive()
        dead = dict(claim.me("dead"), pid=999999999, pid_start="1")
        with env.store.transaction("dev") as rec:
            rec["claim"] = {"owner": dead, "digest": digest(2), "kind": "push", "started": 0, "expires": clock.now() + 3600,
                            "request": {"digest": digest(2), "tag": "dev-2", "order": 2, "kind": "push"}}
        lc = env.lifecycle()
        with env.store.transaction("dev") as rec:
            self.assertTrue(lc.try_claim(rec, "", "reconcile"))
        lc.drive()
        rec = env.store.read("dev")
        self.assertEqual((rec["current"]["digest"], rec["claim"]), (digest(2), None))


if __name__ == "__main__":
    unittest.main()
