"""
Outcome notifications: JSON POSTs signed with HMAC-SHA256, delivered from a spool.

``enqueue`` only writes one small file per (notification, URL) into ``<dir>/outbox`` and
wakes this process's sender thread for that URL: the deploy never waits on a receiver, and
a dead receiver only delays its own deliveries (one thread per URL, in order). A thread
POSTs each file (``timeout`` seconds per attempt) and retries a failure up to ``retries``
times with backoff (1 s, 2 s, 4 s … at most 30 s); then the file moves to ``outbox-dead/``
(last 50 kept). Why a spool and a thread rather than an inline POST or a bare queue: an inline POST
lets a slow receiver stall the rollout; an in-memory queue dies with a short-lived
``salt-run`` process. A file survives the process, and whichever saltpipe process runs
next (another event, the reconcile engine every minute) delivers what is left. A short-lived
process calls ``flush(timeout)`` before it exits: at most one timeout more.

The sender never dies: every exception of an attempt is caught and counted as a failed
attempt (a receiver answering a malformed status line raises ``http.client`` errors, not
``OSError``), and a file left as ``*.sending-<pid>`` - by a dead process, or by a thread that
died anyway - goes back into the outbox once its sender is gone or it is older than
``STRANDED_SECONDS``; :meth:`Notifier.stranded` counts what is left (status shows it).

Headers: ``Content-Type: application/json``, ``X-Saltpipe-Event: <event>``,
``X-Saltpipe-Delivery: <id>`` (the same on retries: receivers deduplicate on it),
``X-Saltpipe-Signature: sha256=<hex HMAC-SHA256 of the raw body with the notify secret>``.
"""

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.request
import uuid

from . import clock

DEAD_KEEP = 50
# A file being sent for longer than this is stranded (one attempt takes at most ``timeout``).
STRANDED_SECONDS = 300
_senders = {}
_senders_lock = threading.Lock()


def url_key(url):
    """Short stable key of a URL, in spool file names: each URL's sender picks its own files."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Notifier:
    def __init__(self, directory, urls=(), secret="", timeout=5, retries=3):
        self.outbox = os.path.join(directory, "outbox")
        self.dead = os.path.join(directory, "outbox-dead")
        self.urls = [u for u in urls or () if isinstance(u, str) and u.startswith(("http://", "https://"))]
        self.secret = secret or ""
        self.timeout = float(timeout)
        self.retries = int(retries)

    @property
    def enabled(self):
        return bool(self.urls and self.secret)

    def enqueue(self, event, payload):
        """Spool ``payload`` as event ``event`` for every URL; returns the delivery id."""
        if not self.enabled:
            return None
        os.makedirs(self.outbox, mode=0o700, exist_ok=True)
        delivery = uuid.uuid4().hex
        body = json.dumps({"event": event, "delivery": delivery, "sent_at": clock.iso(clock.now()), **payload}, sort_keys=True)
        for url in self.urls:
            item = {"url": url, "event": event, "delivery": delivery, "body": body, "attempts": 0, "next_at": 0}
            name = f"{time.time_ns()}-{delivery}-{url_key(url)}.json"
            tmp = os.path.join(self.outbox, "." + name)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(item, fh)
            os.replace(tmp, os.path.join(self.outbox, name))
        self.start()
        return delivery

    def start(self):
        """Make sure this process has a live sender for each configured URL."""
        self._recover()
        with _senders_lock:
            for url in self.urls:
                key = (self.outbox, url_key(url))
                thread = _senders.get(key)
                if thread is None or not thread.is_alive():
                    thread = threading.Thread(target=self._drain, args=(key[1],), name="saltpipe-notify", daemon=True)
                    _senders[key] = thread
                    thread.start()

    def flush(self, max_wait=None):
        """Wait until this process's senders are idle, at most ``max_wait`` in all (default: timeout)."""
        deadline = time.monotonic() + (self.timeout if max_wait is None else max_wait)
        for (outbox, _), thread in list(_senders.items()):
            if outbox == self.outbox:
                thread.join(max(0.0, deadline - time.monotonic()))

    def pending(self, key=""):
        """Spooled files (of one URL key when given), oldest first."""
        try:
            names = os.listdir(self.outbox)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.endswith(f"{key}.json") and not n.startswith("."))

    def dead_letters(self):
        """Deliveries that ran out of retries (``outbox-dead/``, last ``DEAD_KEEP``)."""
        try:
            return sorted(os.listdir(self.dead))
        except FileNotFoundError:
            return []

    def stranded(self):
        """Files left in the middle of a send (``*.sending-<pid>``)."""
        try:
            return sorted(n for n in os.listdir(self.outbox) if ".sending-" in n)
        except FileNotFoundError:
            return []

    def _recover(self):
        """Files a dead process - or a dead sender thread - was sending go back into the outbox."""
        now = time.time()
        mine = self._active_keys()
        for name in self.stranded():
            base, _, pid = name.rpartition(".sending-")
            path = os.path.join(self.outbox, name)
            if not pid.isdigit():
                continue
            try:
                age = now - os.path.getmtime(path)
            except OSError:
                continue
            gone = not _pid_alive(int(pid))
            orphaned = int(pid) == os.getpid() and not any(base.endswith(f"{key}.json") for key in mine)
            if gone or orphaned or age > max(STRANDED_SECONDS, self.timeout * 2):
                try:
                    os.replace(path, os.path.join(self.outbox, base))
                except OSError:
                    pass

    def _active_keys(self):
        """URL keys whose sender thread in this process is alive."""
        with _senders_lock:
            return {key for (outbox, key), th in _senders.items() if outbox == self.outbox and th.is_alive()}

    def _drain(self, key):
        while True:
            try:
                names = self.pending(key)
            except Exception:  # pylint: disable=broad-except
                names = []
            if not names:
                return
            # In order; a file that must wait for its retry holds back the later ones of this URL.
            for name in names:
                try:
                    wait = self._attempt(name)
                except Exception:  # pylint: disable=broad-except
                    wait = 1.0  # a broken spool file or a full disk: try again, never die
                if wait is not None:
                    time.sleep(max(0.05, wait))
                    break

    def _attempt(self, name):
        """Send one spooled file if due. Returns seconds until it is due again, or None."""
        path = os.path.join(self.outbox, name)
        mine = f"{path}.sending-{os.getpid()}"
        try:
            os.replace(path, mine)  # atomic: one sender per file, across processes
        except FileNotFoundError:
            return None
        try:
            with open(mine, encoding="utf-8") as fh:
                item = json.load(fh)
        except (OSError, ValueError):
            os.unlink(mine)
            return None
        due = item.get("next_at", 0) - time.time()
        if due > 0:
            os.replace(mine, path)
            return due
        try:
            error = self._post(item)
        except Exception as exc:  # pylint: disable=broad-except
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        if error is None:
            os.unlink(mine)
            return None
        item["attempts"] += 1
        item["last_error"] = error
        if item["attempts"] > self.retries:
            os.makedirs(self.dead, mode=0o700, exist_ok=True)
            os.replace(mine, os.path.join(self.dead, name))
            for old in sorted(os.listdir(self.dead))[:-DEAD_KEEP]:
                os.unlink(os.path.join(self.dead, old))
            return None
        item["next_at"] = time.time() + min(30, 2 ** (item["attempts"] - 1))
        with open(mine, "w", encoding="utf-8") as fh:
            json.dump(item, fh)
        os.replace(mine, path)
        return item["next_at"] - time.time()

    def _post(self, item):
        body = item["body"].encode()
        request = urllib.request.Request(
            item["url"],
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "saltpipe-notify/1",
                "X-Saltpipe-Event": item["event"],
                "X-Saltpipe-Delivery": item["delivery"],
                "X-Saltpipe-Signature": sign(self.secret, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return str(getattr(exc, "reason", exc))[:200]
        except Exception as exc:  # pylint: disable=broad-except
            # http.client.BadStatusLine / RemoteDisconnected and the like: a failed attempt.
            return f"{type(exc).__name__}: {str(exc)[:200]}"

