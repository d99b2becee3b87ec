"""The deploy's health gate (_utils/saltpipe_health.py): how often it probes."""

import time
import types
import unittest

import minion_support  # noqa: F401 (the utils directory on sys.path)
import saltpipe_health as health


class HealthGateTest(unittest.TestCase):
    def test_health_probe_backs_off_from_10_ms_to_the_interval(self):
        sleeps = []
        real = time.monotonic()
        clock = {"t": real}

        def monotonic():
            clock["t"] += 0.01 + (sleeps[-1] if sleeps else 0) / 10
            return clock["t"]

        # The module's own clock only (the time module itself stays as it is for other tests).
        health.time = types.SimpleNamespace(sleep=sleeps.append, monotonic=monotonic, time=time.time)
        try:
            engine = types.SimpleNamespace(running=lambda name: True)
            ok, _ = health.wait_healthy(engine, "c", "http://127.0.0.1:9/h", 10, 1)
        finally:
            health.time = time
        self.assertFalse(ok)
        self.assertEqual([round(s, 4) for s in sleeps[:4]], [0.01, 0.012, 0.0144, 0.0173])
        self.assertEqual(max(sleeps), 1)


if __name__ == "__main__":
    unittest.main()
