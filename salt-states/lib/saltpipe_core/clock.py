"""Time: registry timestamps as integer nanoseconds since the epoch, and ISO output."""

import calendar
import re
import time

_TS_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)")


def parse_ns(text):
    """
    ``2026-11-25T11:30:01.123456789Z`` (RFC 3339, any offset) → nanoseconds, or None.

    Integers are kept exact (no float): the registry sends nanoseconds and two pushes can
    be closer than a float's resolution at today's epoch.
    """
    if not isinstance(text, str):
        return None
    match = _TS_RE.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    frac = (match.group(7) or "").ljust(9, "0")
    zone = match.group(8)
    try:
        seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds * 1_000_000_000 + int(frac)


def now():
    """Wall-clock seconds (float)."""
    return time.time()


def now_ns():
    return time.time_ns()


def iso(seconds):
    """Seconds → ``2026-11-25T11:30:01Z`` (None stays None)."""
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
