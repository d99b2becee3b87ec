"""Unit tests of saltpipe_core: record, claims, ordering, policy, audit (no Salt, no network)."""

import json
import os
import subprocess
import time
import unittest

from support import Env, digest
from saltpipe_core import audit, claim, clock, decide, policy, store


def push(n, order=None, tag=None, event_id=None):
    return {
        "digest": digest(n), "tag": tag or f"dev-{n}", "event_id": event_id or f"ev-{n}",
        "order": order if order is not None else n * 1000, "kind": "push", "repository": "saltpipe/app",
    }


class ClockTest(unittest.TestCase):
    def test_registry_timestamps_keep_nanoseconds_and_offsets(self):
        a = clock.parse_ns("2026-11-25T11:30:01.123456789Z")
        self.assertEqual(a % 1_000_000_000, 123456789)
        self.assertEqual(clock.parse_ns("2026-11-25T12:30:01.123456789+01:00"), a)
        self.assertLess(clock.parse_ns("2026-11-25T11:30:01.123456788Z"), a)
        for bad in ("", "yesterday", None, "2026-13-45T99:00:00Z"):
            self.assertIsNone(clock.parse_ns(bad))


class StoreTest(unittest.TestCase):
    def test_transaction_writes_atomically_and_survives_reopen(self):
        env = Env()
        with env.store.transaction("dev") as rec:
            store.make_current(rec, push(1), 100.0)
        again = store.Store(env.dir).read("dev")
        self.assertEqual(again["current"]["digest"], digest(1))
        self.assertEqual(oct(os.stat(env.store.path("dev")).st_mode & 0o777), "0o600")
        self.assertEqual([n for n in os.listdir(env.dir) if n.startswith(".record-")], [])

    def test_previous_is_newest_first_and_bounded(self):
        rec = store.empty("dev")
        for n in range(1, 30):
            store.make_current(rec, push(n), float(n))
        self.assertEqual(rec["previous"][0]["digest"], digest(28))
        self.assertEqual(len(rec["previous"]), store.PREVIOUS_KEEP)
        self.assertEqual(store.known_digests(rec)[:2], [digest(29), digest(28)])

    def test_rollback_keeps_the_high_water_order(self):
        rec = store.empty("dev")
        store.make_current(rec, push(1), 1.0)
        store.make_current(rec, push(2), 2.0)
        store.make_current(rec, dict(push(1), kind="rollback", order=0), 3.0)
        self.assertEqual(rec["current"]["order"], 2000)

    def test_a_version_1_record_is_migrated(self):
        env = Env()
        with open(env.store.path("dev"), "w", encoding="utf-8") as fh:
            json.dump({"current": digest(2), "history": [digest(1)], "seen": ["a"]}, fh)
        rec = env.store.read("dev")
        self.assertEqual(rec["current"]["digest"], digest(2))
        self.assertEqual(rec["previous"][0]["digest"], digest(1))
        self.assertEqual(rec["seen"], ["a"])

    def test_seen_ids_are_bounded(self):
        rec = store.empty("dev")
        for n in range(store.SEEN_KEEP + 10):
            store.remember_seen(rec, f"e{n}")
        self.assertEqual(len(rec["seen"]), store.SEEN_KEEP)
        self.assertEqual(rec["seen"][-1], f"e{store.SEEN_KEEP + 9}")


class ClaimTest(unittest.TestCase):
    def test_own_live_claim_blocks_others_and_expires(self):
        rec, me = store.empty("dev"), claim.me("j1")
        other = dict(me, jid="j2")
        self.assertTrue(claim.take(rec, me, digest(1), "push", 100.0, 60))
        self.assertFalse(claim.take(rec, other, digest(2), "push", 101.0, 60))
        self.assertTrue(claim.take(rec, other, digest(2), "push", 161.0, 60), "an expired claim is taken over")
        self.assertEqual(rec["claim"]["took_over"]["digest"], digest(1))

    def test_a_dead_owner_is_taken_over_before_expiry(self):
        proc = subprocess.Popen(["true"])
        proc.wait()
        rec = store.empty("dev")
        dead = dict(claim.me("j1"), pid=proc.pid, pid_start="1")
        claim.take(rec, dead, digest(1), "push", time.time(), 3600)
        self.assertFalse(claim.live(rec["claim"], time.time()))
        self.assertTrue(claim.take(rec, claim.me("j2"), digest(2), "push", time.time(), 60))

    def test_another_thread_of_this_process_is_another_owner(self):
        rec, me = store.empty("dev"), claim.me()
        claim.take(rec, me, digest(1), "push", time.time(), 60)
        self.assertFalse(claim.take(rec, dict(me, thread=me["thread"] + 1), digest(2), "push", time.time(), 60))


class DecideTest(unittest.TestCase):
    def setUp(self):
        self.rec = store.empty("dev")
        store.make_current(self.rec, push(5), 1.0)

    def test_duplicate_replay_current(self):
        self.assertEqual(decide.receive(self.rec, push(6), {}, 0)[0], "deploy")
        self.assertEqual(decide.receive(self.rec, push(6), {}, 0)[0], "duplicate")
        self.assertEqual(decide.receive(self.rec, push(4), {}, 0)[0], "replay")
        self.assertEqual(decide.receive(self.rec, push(5, order=9000, event_id="x"), {}, 0)[0], "current")

    def test_pushes_collapse_to_the_newest(self):
        decide.receive(self.rec, push(7), {}, 0)
        self.assertEqual(decide.receive(self.rec, push(6), {}, 0)[0], "replay")
        action, _, superseded = decide.receive(self.rec, push(8), {}, 0)
        self.assertEqual((action, superseded, self.rec["pending"]["digest"]), ("deploy", digest(7), digest(8)))

    def test_policy_and_downgrade(self):
        settings = {"tag_policy": "semver:^1.0.0"}
        rec = store.empty("dev")
        store.make_current(rec, push(1, tag="1.4.0"), 1.0)
        self.assertEqual(decide.receive(rec, push(2, tag="1.3.9"), settings, 0)[:2], ("ignored", "tag 1.3.9 is a downgrade from 1.4.0 (only a rollback goes back)"))
        self.assertEqual(decide.receive(rec, push(3, tag="2.0.0"), settings, 0)[0], "ignored")
        self.assertEqual(decide.receive(rec, push(4, tag="1.5.0"), settings, 0)[0], "deploy")

    def test_approval_supersedes_and_expires(self):
        settings = {"approval_required": True, "approval_expires": 60}
        self.assertEqual(decide.receive(self.rec, push(6), settings, 100)[0], "approval")
        action, _, superseded = decide.receive(self.rec, push(7), settings, 110)
        self.assertEqual((action, superseded), ("approval", digest(6)))
        self.assertIsNone(decide.expire_approval(self.rec, 169))
        self.assertEqual(decide.expire_approval(self.rec, 171)["digest"], digest(7))
        self.assertIsNone(self.rec["approval"])


class PolicyTest(unittest.TestCase):
    def test_ranges(self):
        cases = [
            ("semver:^1.2", "1.9.0", True), ("semver:^1.2", "2.0.0", False), ("semver:~1.2.3", "1.2.9", True),
            ("semver:~1.2.3", "1.3.0", False), ("semver:>=1.2.0 <2.0.0", "v1.5.1", True), ("semver:1.x", "1.0.0-rc.1", False),
            ("semver:>=1.0.0-rc.1", "1.0.0-rc.2", True), ("semver:^0.2.3", "0.3.0", False), ("semver:> 1.2", "1.3.0", True),
            ("semver:1.2 || 3.x", "3.1.0", True), ("semver:*", "dev-1", False), ("glob:prod-*", "prod-12", True),
            ("glob:prod-*", "dev-12", False), ("exact:stable", "stable", True), ("exact:stable", "beta", False), ("", "x", True),
        ]
        for pol, tag, ok in cases:
            self.assertEqual(policy.check(pol, tag)[0], ok, (pol, tag))

    def test_invalid_policies(self):
        for bad in ("semver:", "semver:>=a", "semver:1.x.3", "regex:.*", "semver:>=1.2-rc", "semver:1 || "):
            with self.assertRaises(policy.PolicyError, msg=bad):
                policy.parse(bad)


class AuditTest(unittest.TestCase):
    def test_bounded_rotation_and_tail(self):
        env = Env()
        log = audit.Audit(env.dir, "dev", max_bytes=2000, backups=2)
        for n in range(100):
            log.append("received", n=n, reason="x" * 2000)
        self.assertTrue(os.path.exists(log.path + ".2"))
        self.assertFalse(os.path.exists(log.path + ".3"))
        self.assertLessEqual(os.path.getsize(log.path), 2000)
        tail = log.tail(3)
        self.assertEqual([e["n"] for e in tail], [97, 98, 99])
        self.assertEqual(len(tail[0]["reason"]), audit.FIELD_MAX)


if __name__ == "__main__":
    unittest.main()
