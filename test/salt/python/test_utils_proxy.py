"""The proxy switch (_utils/saltpipe_proxy.py): after ``nginx -s reload`` the deploy waits
until no old worker accepts connections (the fake workers are children of this process,
which plays the nginx master)."""

import os
import tempfile
import threading
import time
import unittest

from minion_support import fake_worker

import saltpipe_proxy as proxy


class ReloadWaitTest(unittest.TestCase):
    """After ``nginx -s reload`` the state waits until no old worker accepts connections."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
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
        self.assertEqual(proxy.accepting_workers(self.pid_file), {old.pid})
        self.assertIsNone(proxy.accepting_workers(os.path.join(self.tmp, "absent.pid")))
        self.assertIsNone(proxy.accepting_workers(""))

    def test_the_wait_ends_when_every_accepting_worker_is_new(self):
        old = self.worker()
        before = proxy.accepting_workers(self.pid_file)

        def reload():
            time.sleep(0.3)
            self.worker()
            old.kill()

        threading.Thread(target=reload).start()
        started = time.monotonic()
        self.assertTrue(proxy.await_reload(self.pid_file, before, bound=5))
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        self.assertLess(time.monotonic() - started, 2)

    def test_without_settle_the_wait_ends_once_the_new_workers_are_up(self):
        old = self.worker()
        before = proxy.accepting_workers(self.pid_file)
        threading.Thread(target=lambda: (time.sleep(0.2), self.worker())).start()
        started = time.monotonic()
        self.assertTrue(proxy.await_reload(self.pid_file, before, bound=5, settle=False))
        self.assertGreaterEqual(time.monotonic() - started, 0.2)
        self.assertLess(time.monotonic() - started, 1)
        self.assertIn(old.pid, proxy.accepting_workers(self.pid_file), "the old worker was not waited for")

    def test_a_reload_that_renews_nothing_is_bounded(self):
        self.worker()
        before = proxy.accepting_workers(self.pid_file)
        started = time.monotonic()
        self.assertFalse(proxy.await_reload(self.pid_file, before, bound=0.3))
        self.assertLess(time.monotonic() - started, 1)

    def test_no_master_is_no_wait(self):
        self.assertTrue(proxy.await_reload(os.path.join(self.tmp, "absent.pid"), None, bound=5))


if __name__ == "__main__":
    unittest.main()
