"""
The deploy's health gate: one 2xx from the new container's health URL, or the reason there
was none (no answer in time, or the container exited).
"""

import http.client
import time
import urllib.error
import urllib.request

# Probing: first gap, growth factor (up to the interval), exited-container check period.
PROBE_FIRST_SECONDS = 0.01
PROBE_BACKOFF = 1.2
INSPECT_EVERY_SECONDS = 0.25


def wait_healthy(engine, container, url, timeout, interval):
    """
    ``(True, what answered)`` once ``url`` answers 2xx within ``timeout`` s, else ``(False,
    why)``. Probed every 10 ms at first, backing off (x1.2) to ``interval`` (the longest gap,
    1 s by default): the app's first healthy answer is seen within about 10 ms of it, as a
    bare ``curl`` loop would. Whether the container exited is asked of ``engine`` every
    0.25 s (an exited app fails the gate at once).
    """
    started = time.monotonic()
    deadline = started + timeout
    last = "no answer yet"
    pause = min(PROBE_FIRST_SECONDS, interval)
    next_inspect = started + INSPECT_EVERY_SECONDS
    while True:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, min(5.0, interval * 5))) as resp:
                if 200 <= resp.status < 300:
                    return True, f"{url} answered {resp.status}"
                last = f"{url} answered {resp.status}"
        except urllib.error.HTTPError as exc:
            last = f"{url} answered {exc.code}"
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            last = f"{url}: {getattr(exc, 'reason', exc)}"
        now = time.monotonic()
        if now >= next_inspect:
            next_inspect = now + INSPECT_EVERY_SECONDS
            if engine.running(container) is False:
                return False, f"container {container} exited; last probe: {last}"
        if time.monotonic() >= deadline:
            return False, f"no 2xx from {url} within {timeout}s; last probe: {last}"
        time.sleep(pause)
        pause = min(interval, pause * PROBE_BACKOFF)
