"""Issue 16 (deploy path): each test failed before its fix.

Registry verification (1), clock sanity (3), fencing (4), failed rollbacks (5), the health
gate (6), the notification sender (7), app output (8), strict matching (9), no-op
convergences (10), the record's directory fsync (12).
"""

import os
import socket
import tempfile
import threading
import time
import unittest
from unittest import mock

from support import Env, FakePort, digest
from saltpipe_core import claim, clock, decide, notify, policy, refusals, registry, results, rollout, store

DEPLOY = "saltpipe_app_|-app-deploy-saltpipe-app-deployed_|-app_|-deployed"
REGISTRY_SLS = "file_|-app-registry-file-managed_|-/etc/saltpipe/docker/config.json_|-managed"


def push(env, n, order=None, owner=None):
    lc = env.lifecycle(owner or claim.me(f"job-{n}"))
    request = {"digest": digest(n), "tag": f"dev-{n}", "event_id": f"ev-{n}", "order": order or n, "kind": "push"}
    with env.store.transaction("dev") as rec:
        action, _, _ = decide.receive(rec, request, env.settings, clock.now())
        claimed = action == "deploy" and lc.try_claim(rec, request["digest"], "push")
    return lc, action, claimed


class FakeRegistry:
    """A registry client (the pluggable interface): {(repo, ref): digest}."""

    def __init__(self, held):
        self.held = dict(held)
        self.asked = []

    def manifest_digest(self, repository, reference):
        self.asked.append((repository, reference))
        return self.held.get((repository, reference))


class RegistryVerifyTest(unittest.TestCase):
    def test_only_a_digest_the_registry_holds_under_that_tag_passes(self):
        d1, d2 = digest(1), digest(2)
        client = FakeRegistry({("app", d1): d1, ("app", "dev-1"): d1, ("app", d2): d2, ("app", "dev-2"): d1})
        self.assertEqual(registry.verify(client, "app", d1, "dev-1"), (True, ""))
        ok, why = registry.verify(client, "app", digest(3), "dev-3")
        self.assertFalse(ok)
        self.assertIn("does not hold", why)
        ok, why = registry.verify(client, "app", d2, "dev-2")  # the tag moved on (or never pointed there)
        self.assertFalse(ok)
        self.assertIn("resolves to", why)
        self.assertEqual(registry.verify(client, "app", d2), (True, ""), "a push by digest has no tag to check")

    def test_an_unreachable_registry_or_no_client_refuses(self):
        class Down:
            def manifest_digest(self, repository, reference):
                raise registry.RegistryError("connection refused")

        ok, why = registry.verify(Down(), "app", digest(1), "dev-1")
        self.assertFalse(ok)
        self.assertIn("could not verify", why)
        with self.assertRaisesRegex(ValueError, "no registry client for kind 'ecr'"):
            registry.client_for({"kind": "ecr"})
        registry.register("fake-kind", lambda cfg: FakeRegistry({}))
        self.assertIsInstance(registry.client_for({"kind": "fake-kind"}), FakeRegistry)

    def test_http_client_asks_head_with_manifest_types_and_basic_credentials(self):
        import http.server

        seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self):  # noqa: N802
                seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Accept")))
                self.send_response(200 if self.path.endswith(digest(1)) else 404)
                if self.path.endswith(digest(1)):
                    self.send_header("Docker-Content-Digest", digest(1))
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            client = registry.HttpRegistry(f"http://127.0.0.1:{server.server_address[1]}", "ci", "pw")
            self.assertEqual(client.manifest_digest("team/app", digest(1)), digest(1))
            self.assertIsNone(client.manifest_digest("team/app", digest(2)))
        finally:
            server.shutdown()
            server.server_close()
        path, auth, accept = seen[0]
        self.assertEqual(path, f"/v2/team/app/manifests/{digest(1)}")
        self.assertEqual(auth, "Basic Y2k6cHc=")
        self.assertIn("application/vnd.docker.distribution.manifest.v2+json", accept)


class ClockSanityTest(unittest.TestCase):
    def test_a_far_future_timestamp_is_refused_and_not_remembered(self):
        env = Env()
        push(env, 1, order=clock.now_ns())[0].drive()
        future = clock.now_ns() + 3600 * 10**9
        with env.store.transaction("dev") as rec:
            action, reason, _ = decide.receive(rec, {"digest": digest(2), "event_id": "ev-f", "order": future}, {}, clock.now())
        self.assertEqual(action, "future")
        self.assertIn("ahead of the master's clock", reason)
        rec = env.store.read("dev")
        self.assertNotIn("ev-f", rec["seen"])
        self.assertLess(rec["current"]["order"], future)
        # A small skew is fine.
        with env.store.transaction("dev") as rec:
            action, _, _ = decide.receive(rec, {"digest": digest(3), "event_id": "ev-s", "order": clock.now_ns() + 5 * 10**9}, {}, clock.now())
        self.assertEqual(action, "deploy")

    def test_reset_order_lowers_the_mark_so_real_pushes_deploy_again(self):
        env = Env()
        push(env, 1, order=clock.now_ns())[0].drive()
        future = clock.now_ns() + 10**18
        with env.store.transaction("dev") as rec:  # got in before the check existed
            rec["current"]["order"] = future
        _, action, _ = push(env, 2, order=clock.now_ns())
        self.assertEqual(action, "replay")
        with env.store.transaction("dev") as rec:
            old = decide.reset_order(rec, clock.now_ns())
        self.assertEqual(old, {"current": future})
        _, action, _ = push(env, 3, order=clock.now_ns() + 1)
        self.assertEqual(action, "deploy")


class FencingTest(unittest.TestCase):
    def test_a_deploy_that_lost_its_claim_stops_before_its_next_batch_and_writes_nothing(self):
        env = Env(port=FakePort(["m1", "m2", "m3"]))
        push(env, 1)[0].drive()
        old, _, _ = push(env, 2, owner=claim.me("slow"))
        other = env.lifecycle(claim.me("newer"))
        done = []

        def takeover(request):
            if request["digest"] == digest(2) and not done:
                done.append(1)
                # The first batch outlived the claim; a newer push took the environment over.
                with env.store.transaction("dev") as rec:
                    rec["claim"]["expires"] = 0
                    decide.receive(rec, {"digest": digest(3), "tag": "dev-3", "event_id": "ev-3", "order": 3, "kind": "push"}, {}, clock.now())
                    self.assertTrue(other.try_claim(rec, digest(3), "push"))

        env.port.on_apply = takeover
        (outcome,) = old.drive()
        self.assertFalse(outcome["result"])
        self.assertIn("lost the deploy claim", outcome["reason"])
        self.assertEqual(outcome["batches"], [["m1"]], "no batch after the renewal failed")
        env.port.on_apply = None
        other.drive()
        rec = env.store.read("dev")
        self.assertEqual(rec["current"]["digest"], digest(3), "the newer owner's release wins")
        self.assertNotIn(digest(2), [d["digest"] for d in rec["deploys"] if d["result"]])
        self.assertEqual(set(env.port.serving.values()), {digest(3)})

    def test_the_record_is_never_written_without_holding_the_claim(self):
        env = Env()
        lc, _, _ = push(env, 1)
        with env.store.transaction("dev") as rec:
            rec["claim"]["expires"] = 0  # expired, then taken over: the fencing counter moves on
            self.assertTrue(claim.take(rec, claim.me("thief"), digest(9), "push", clock.now(), 60))
        rec_before = env.store.read("dev")
        self.assertFalse(lc._record({"minions": {}, "digest": digest(1)}, {"digest": digest(1)}, False, clock.now()))
        self.assertEqual(env.store.read("dev")["current"], rec_before["current"])
        self.assertEqual(env.store.read("dev")["claim"]["fence"], rec_before["fence"])


class FailedRollbackTest(unittest.TestCase):
    def _env(self):
        env = Env(port=FakePort(["m1", "m2", "m3"]))
        push(env, 1)[0].drive()
        env.port.fail.add(("m2", digest(2)))
        env.port.fail.add(("m1", digest(1)))  # putting m1 back fails
        return env

    def test_a_failed_rollback_is_a_failure_and_the_environment_is_mixed(self):
        env = self._env()
        (outcome,) = push(env, 2)[0].drive()
        self.assertFalse(outcome["result"])
        self.assertEqual(outcome["rolled_back"], [])
        self.assertEqual(outcome["mixed"], {"m1": digest(2)})
        self.assertFalse(outcome["minions"]["m1"]["result"])
        self.assertIn("rollback to", outcome["minions"]["m1"]["comment"])
        rec = env.store.read("dev")
        self.assertEqual(rec["mixed"], {"m1": digest(2)})
        self.assertEqual(rec["minions"]["m1"]["digest"], digest(2), "the record says what m1 really runs")
        self.assertEqual(rec["current"]["digest"], digest(1))

    def test_reconciliation_converges_a_mixed_environment(self):
        env = self._env()
        push(env, 2)[0].drive()
        env.port.fail.discard(("m1", digest(1)))
        lc = env.lifecycle()
        with env.store.transaction("dev") as rec:
            lc.try_claim(rec, digest(1), "converge")
        outcome = lc.converge(None, env.store.read("dev")["current"])
        lc.drive()
        self.assertEqual(outcome["batches"], [["m1"]], "not held back by the retry interval")
        self.assertEqual(env.port.serving["m1"], digest(1))
        self.assertIsNone(env.store.read("dev")["mixed"])

    def test_a_minion_whose_state_raised_after_switching_counts_as_switched(self):
        env = Env(port=FakePort(["m1", "m2"]))
        push(env, 1)[0].drive()
        real_apply = env.port.apply

        def apply(minions, request, settle=True):
            out = real_apply(minions, request, settle)
            if request["digest"] == digest(2):
                # m1 switched, then its state raised: result False, no "restored" report.
                out["m1"] = {"result": False, "changed": False, "switched": True, "comment": "An exception occurred", "duration": 1}
            return out

        env.port.apply = apply
        (outcome,) = push(env, 2)[0].drive()
        self.assertEqual(outcome["rolled_back"], ["m1"])
        self.assertEqual(env.port.serving["m1"], digest(1))


class HealthGateTest(unittest.TestCase):
    D = digest(7)

    def ret(self, result, comment, changes=None):
        return {
            REGISTRY_SLS: {"result": True, "comment": "ok", "changes": {}, "duration": 1},
            DEPLOY: {"result": result, "comment": comment, "changes": changes or {}, "duration": 2},
        }

    def test_only_result_true_with_the_digest_serving_counts(self):
        ok = results.minion_result(self.ret(True, f"app now serves {self.D} from app-blue", {"new": {}}), self.D)
        self.assertEqual((ok["result"], ok["changed"], ok["switched"]), (True, True, True))
        self.assertTrue(results.minion_result(self.ret(True, f"app already serves {self.D} from app-blue"), self.D)["result"])
        planned = results.minion_result(self.ret(None, f"would deploy r/app@{self.D} as app-blue"), self.D)
        self.assertFalse(planned["result"], "test mode plans; it is not a deploy")
        other = results.minion_result(self.ret(True, f"app already serves {digest(8)} from app-blue"), self.D)
        self.assertFalse(other["result"])
        fallback = {"test_|-app-deploy-test-nop-no-digest_|-no digest_|-nop": {"result": True, "comment": "Success!", "changes": {}}}
        res = results.minion_result(fallback, self.D)
        self.assertFalse(res["result"])
        self.assertIn("did not run", res["comment"])
        self.assertTrue(results.minion_result(self.ret(None, f"would deploy r/app@{self.D} as app-blue"), self.D, planned=True)["result"])

    def test_a_clean_failure_is_not_switched_a_raise_is(self):
        clean = results.minion_result(self.ret(False, "health check failed", {"rolled_back": {}}), self.D)
        self.assertEqual((clean["result"], clean["switched"]), (False, False))
        raised = results.minion_result(self.ret(False, "An exception occurred in this state: Traceback ..."), self.D)
        self.assertEqual((raised["result"], raised["switched"]), (False, True))
        self.assertTrue(results.minion_result(["Rendering SLS failed"], self.D)["switched"])


class OutputStaysOnTheMasterTest(unittest.TestCase):
    def test_the_summary_leaves_the_detail_stays_redacted(self):
        comment = (
            "health check failed: no 2xx; removed app-green; app-blue keeps serving"
            "\n--- output ---\ncontainer log tail:\nconnecting to postgres://app:s3cr3t@db:5432/app password=hunter2 "
            "Authorization: Bearer abcdefghijklmnop token=xyz AKIAABCDEFGHIJKLMNOP"
        )
        env = Env(port=FakePort(["m1"]))
        push(env, 1)[0].drive()
        summary, detail = results.split(comment)
        self.assertNotIn("postgres", summary)
        for secret in ("s3cr3t", "hunter2", "abcdefghijklmnop", "xyz", "AKIAABCDEFGHIJKLMNOP"):
            self.assertNotIn(secret, detail)
        self.assertIn("postgres://***:***@db:5432/app", detail)

        def apply(minions, request, settle=True):  # noqa: ARG001
            return {m: {"result": False, "changed": False, "switched": False, "comment": summary, "detail": detail, "duration": 1} for m in minions}

        env.port.apply = apply
        (outcome,) = push(env, 2)[0].drive()
        with open(env.audit.path, encoding="utf-8") as fh:
            everything = repr(env.port.events) + repr(outcome) + fh.read()
        self.assertNotIn("container log tail", everything)
        rec = env.store.read("dev")
        self.assertIn("container log tail", rec["details"]["m1"]["text"])
        self.assertEqual(rec["details"]["m1"]["digest"], digest(2))


class StrictMatchingTest(unittest.TestCase):
    def test_a_trailing_newline_is_not_a_digest_tag_batch_or_timestamp(self):
        self.assertFalse(registry.verify(FakeRegistry({}), "app", digest(1) + "\n")[0])
        self.assertIsNone(policy.parse_version("1.2.3\n"))
        self.assertIsNone(clock.parse_ns("2026-11-25T10:00:00Z\n"))
        with self.assertRaises(ValueError):
            rollout.batch_size("2\n", 4)
        with self.assertRaises(ValueError):
            store.Store(tempfile.mkdtemp()).path("dev\n")


class NoopConvergenceTest(unittest.TestCase):
    def test_a_convergence_that_changed_nothing_is_not_recorded_as_a_deploy(self):
        env = Env()
        push(env, 1)[0].drive()
        before = env.store.read("dev")["deploys"]
        audit_before = len(env.audit.tail(1000))
        for _ in range(25):  # a minion firing start events: history must survive
            lc = env.lifecycle()
            with env.store.transaction("dev") as rec:
                lc.try_claim(rec, digest(1), "converge")
                rec["reconverge"] = ["m1"]
            lc.drive()
        self.assertEqual(env.store.read("dev")["deploys"], before)
        self.assertEqual(len(env.audit.tail(1000)), audit_before)


class SenderNeverDiesTest(unittest.TestCase):
    def test_a_malformed_status_line_is_a_failed_attempt_not_a_dead_thread(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        got = []

        def serve():
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)
                    got.append(1)
                    conn.sendall(b"HTTP/1.1 abc nonsense\r\n\r\n")

        threading.Thread(target=serve, daemon=True).start()
        self.addCleanup(sock.close)
        env = Env()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        n = notify.Notifier(os.path.join(env.dir, "notify"), urls=[url], secret="x" * 16, timeout=2, retries=1)
        n.enqueue("succeeded", {"digest": digest(1)})
        deadline = time.time() + 15
        while time.time() < deadline and (n.pending() or n.stranded()):
            time.sleep(0.1)
        sock.close()
        self.assertEqual((n.pending(), n.stranded()), ([], []), "nothing stranded")
        self.assertEqual(len(n.dead_letters()), 1, "retried, then moved to outbox-dead")
        self.assertEqual(len(got), 2)

    def test_a_stranded_sending_file_of_this_process_is_recovered_and_counted(self):
        env = Env()
        n = notify.Notifier(os.path.join(env.dir, "notify"), urls=["http://127.0.0.1:9/"], secret="x" * 16, timeout=1, retries=0)
        os.makedirs(n.outbox)
        name = f"{time.time_ns()}-abc-{notify.url_key('http://127.0.0.1:9/')}.json"
        stranded = os.path.join(n.outbox, f"{name}.sending-{os.getpid()}")
        with open(stranded, "w", encoding="utf-8") as fh:
            fh.write('{"url": "http://127.0.0.1:9/", "event": "x", "delivery": "d", "body": "{}", "attempts": 0, "next_at": 0}')
        self.assertEqual(len(n.stranded()), 1)
        n._recover()  # no live sender thread of this process holds it
        self.assertEqual(n.stranded(), [])
        self.assertEqual(n.pending(), [name])


class RefusalCountsTest(unittest.TestCase):
    def test_the_proxy_log_folds_into_bounded_counts(self):
        d = tempfile.mkdtemp()
        log = os.path.join(d, "refused.log")
        with open(log, "w", encoding="utf-8") as fh:
            for i in range(1000):
                fh.write(f"2026-12-02T01:00:00+00:00 {401 if i % 2 else 429} 10.0.0.{i % 50}\n")
        summary = refusals.fold(log, d, "dev")
        self.assertEqual((summary["total"], summary["by_status"]), (1000, {"401": 500, "429": 500}))
        self.assertEqual(len(summary["addresses"]), refusals.ADDRESSES_KEEP)
        self.assertEqual(os.path.getsize(log), 0)
        self.assertEqual(refusals.fold(log, d, "dev")["total"], 1000)


class DurableRecordTest(unittest.TestCase):
    def test_the_directory_is_fsynced_after_the_rename(self):
        s = store.Store(tempfile.mkdtemp())
        synced = []
        real = os.fsync

        def spy(fd):
            synced.append(os.path.isdir(f"/proc/self/fd/{fd}"))
            return real(fd)

        with mock.patch.object(os, "fsync", spy):
            with s.transaction("dev") as rec:
                rec["current"] = {"digest": digest(1)}
        self.assertEqual(synced, [False, True], "the file, then its directory")


if __name__ == "__main__":
    unittest.main()
