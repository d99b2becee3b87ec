"""Notifications: signed, sent from the spool by a thread, bounded retries, never blocking."""

import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

from support import Env
from saltpipe_core import notify

SECRET = "notify-secret-0123456789"


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self, status=200, delay=0.0):
        self.got, self.status, self.delay = [], status, delay
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.delay)
        self.server.got.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


class NotifyTest(unittest.TestCase):
    def test_every_post_is_signed_over_the_raw_body(self):
        rx = Receiver()
        env = Env()
        n = notify.Notifier(env.dir, [rx.url], SECRET, timeout=2, retries=1)
        n.enqueue("succeeded", {"environment": "dev", "digest": "sha256:" + "0" * 64})
        n.flush(5)
        ((headers, body),) = rx.got
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["X-Saltpipe-Signature"], expected)
        self.assertEqual(headers["X-Saltpipe-Event"], "succeeded")
        self.assertEqual(json.loads(body)["event"], "succeeded")
        self.assertEqual(n.pending(), [])
        rx.shutdown()
        rx.server_close()

    def test_a_slow_receiver_never_blocks_the_caller_and_a_dead_one_is_retried_then_dropped(self):
        slow = Receiver(delay=3)
        env = Env()
        n = notify.Notifier(env.dir, [slow.url, "http://127.0.0.1:9/none"], SECRET, timeout=1, retries=1)
        t0 = time.monotonic()
        n.enqueue("started", {"environment": "dev"})
        self.assertLess(time.monotonic() - t0, 0.2, "enqueue only spools")
        t0 = time.monotonic()
        n.flush(1.0)
        self.assertLess(time.monotonic() - t0, 1.5, "flush waits at most the timeout")
        n.flush(15)  # the senders give up after 1 retry each
        self.assertEqual(n.pending(), [])
        self.assertEqual(len(__import__("os").listdir(n.dead)), 2, "both gave up after 1 retry")
        slow.shutdown()
        slow.server_close()


if __name__ == "__main__":
    unittest.main()
