"""[perf] The deploy state's detached drain: the lock handed over to the finisher, which stops
and removes the old containers and prunes images; a following deploy waits for it (a fake
docker CLI that records its argv; no Salt, no Docker)."""

import importlib.util
import json
import os
import stat
import tempfile
import time
import unittest
import warnings

STATE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "salt-states", "salt", "_states", "saltpipe_app.py")
IMAGE = "127.0.0.1:5000/saltpipe/app"


def load_state(cachedir):
    spec = importlib.util.spec_from_file_location("saltpipe_app_state_under_test", os.path.abspath(STATE))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.__opts__ = {"cachedir": cachedir}
    return mod


def fake_docker(tmp, stop_seconds):
    """Records each call; `stop` takes stop_seconds; `images` lists three digests."""
    path = os.path.join(tmp, "docker")
    calls = os.path.join(tmp, "calls")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(
            "#!/bin/sh\n"
            f'echo "$*" >> {calls}\n'
            f'case "$1" in stop) sleep {stop_seconds};; images) printf "sha256:{"a" * 64}\\nsha256:{"b" * 64}\\nsha256:{"c" * 64}\\n";; esac\n'
        )
    os.chmod(path, stat.S_IRWXU)
    return path, calls


class DrainTest(unittest.TestCase):
    def setUp(self):
        # The finisher outlives its Popen object on purpose (it is detached): no ResourceWarning.
        warnings.simplefilter("ignore", ResourceWarning)
        self.tmp = tempfile.mkdtemp()
        self.mod = load_state(self.tmp)

    def calls(self, path):
        with open(path, encoding="utf-8") as fh:
            return [line.split() for line in fh.read().splitlines()]

    def test_the_finisher_drains_removes_prunes_and_holds_the_lock_until_done(self):
        cli, calls = fake_docker(self.tmp, 0.6)
        fd = self.mod._drain_lock("app", 1)
        started = time.monotonic()
        self.mod._spawn_drain(
            fd,
            {"app": "app", "docker": [cli], "grace": 0.2, "drain": 7, "stop": ["app-blue"], "image": IMAGE,
             "retained": ["sha256:" + "a" * 64]},
        )
        os.close(fd)  # as the state does: only the finisher holds it now
        # A following deploy cannot take the lock before the drain ended…
        with self.assertRaises(self.mod._Fail):
            self.mod._drain_lock("app", 0.3)
        fd2 = self.mod._drain_lock("app", 10)
        waited = time.monotonic() - started
        os.close(fd2)
        self.assertGreaterEqual(waited, 0.8)  # grace + docker stop
        self.assertEqual(
            self.calls(calls),
            [
                ["stop", "-t", "7", "app-blue"],
                ["rm", "-f", "app-blue"],
                ["images", "--digests", "--no-trunc", "--format", "{{.Digest}}", IMAGE],
                ["rmi", f"{IMAGE}@sha256:{'b' * 64}"],
                ["rmi", f"{IMAGE}@sha256:{'c' * 64}"],
            ],
        )
        with open(os.path.join(self.tmp, "saltpipe", "app-drain.log"), encoding="utf-8") as fh:
            entry = json.loads(fh.read().splitlines()[-1])
        self.assertEqual(entry["stopped"], ["app-blue"])
        self.assertEqual(len(entry["pruned_images"]), 2)

    def test_an_unlocked_app_is_taken_at_once(self):
        started = time.monotonic()
        fd = self.mod._drain_lock("other", 5)
        os.close(fd)
        self.assertLess(time.monotonic() - started, 0.2)

    def test_health_probe_backs_off_from_50_ms_to_the_interval(self):
        sleeps = []
        self.mod.time.sleep = sleeps.append  # no real waiting; the probes fail at once (closed port)
        real_monotonic = self.mod.time.monotonic
        clock = {"t": real_monotonic()}

        def monotonic():
            clock["t"] += 0.01 + (sleeps[-1] if sleeps else 0) / 10
            return clock["t"]

        self.mod.time.monotonic = monotonic
        try:
            ok, _ = self.mod._wait_healthy(lambda *a: {"ok": True, "stdout": "true"}, "c", "http://127.0.0.1:9/h", 1, 1)
        finally:
            self.mod.time.monotonic = real_monotonic
            import time as real_time
            self.mod.time.sleep = real_time.sleep
        self.assertFalse(ok)
        self.assertEqual([round(s, 4) for s in sleeps[:4]], [0.05, 0.075, 0.1125, 0.1688])
        self.assertEqual(max(sleeps), 1)


if __name__ == "__main__":
    unittest.main()
