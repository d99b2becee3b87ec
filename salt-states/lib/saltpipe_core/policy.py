"""
Tag policies: which pushed tags deploy to an environment.

``""`` (none)          every tag the reactor let through (its tag pattern scopes the environment)
``exact:<tag>``        only that tag (e.g. ``exact:stable``)
``glob:<pattern>``     shell-style match, ``*`` ``?`` ``[...]`` (e.g. ``glob:prod-*``)
``semver:<range>``     tags ``[v]MAJOR.MINOR.PATCH[-pre]`` inside a range, npm-style:
                       ``>=1.2.0 <2.0.0``, ``^1.4``, ``~1.2.3``, ``1.x``, ``*``, ``a || b``;
                       pre-releases match only a comparator with a pre-release of the same
                       version (as npm); a lower version than the current tag is a downgrade
                       and never deploys (only a rollback goes back).

The same grammar is validated at preview by infra/config/tag-policy.ts.
"""

import fnmatch
import re

VERSION_RE = re.compile(r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?")
PARTIAL_RE = re.compile(
    r"^(\^|~|>=|<=|>|<|=)?v?(\*|x|X|0|[1-9]\d*)(?:\.(\*|x|X|0|[1-9]\d*))?(?:\.(\*|x|X|0|[1-9]\d*))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
KINDS = ("exact", "glob", "semver")


class PolicyError(ValueError):
    pass


def parse_version(tag):
    """``v1.2.3-rc.1`` → (1, 2, 3, ("rc", 1)); None when not a version."""
    match = VERSION_RE.fullmatch(str(tag or ""))
    if not match:
        return None
    pre = tuple(int(p) if p.isdigit() else p for p in match.group(4).split(".")) if match.group(4) else ()
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)


def _key(version):
    """Sort key with semver precedence: a release sorts after its pre-releases."""
    major, minor, patch, pre = version
    ids = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in pre)
    return (major, minor, patch, 1 if not pre else 0, ids)


def compare(a, b):
    ka, kb = _key(a), _key(b)
    return (ka > kb) - (ka < kb)


def _comparators(token):
    """One range token → [(op, version)] (all must hold)."""
    match = PARTIAL_RE.fullmatch(token)
    if not match:
        raise PolicyError(f"invalid semver comparator {token!r}")
    op, parts, pre = match.group(1) or "", list(match.group(2, 3, 4)), match.group(5)
    wild = [p is None or p in ("*", "x", "X") for p in parts]
    if any(wild[i] and not wild[i + 1] for i in range(2)):
        raise PolicyError(f"invalid semver comparator {token!r}")
    nums = [0 if w else int(p) for p, w in zip(parts, wild)]
    fixed = wild.index(True) if True in wild else 3
    if pre and fixed < 3:
        raise PolicyError(f"invalid semver comparator {token!r} (a pre-release needs a full version)")
    low = (nums[0], nums[1], nums[2], tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ())

    def bump(level):
        out = nums[:level] + [0] * (3 - level)
        out[level - 1] += 1
        return (out[0], out[1], out[2], ())

    if fixed == 0:
        return [] if op in ("", "=", ">=", "<=", "^", "~") else [("<", (0, 0, 0, ()))]
    if op == "^":
        level = next((i + 1 for i, n in enumerate(nums[:fixed]) if n != 0), fixed)
        return [(">=", low), ("<", bump(min(level, fixed)))]
    if op == "~":
        return [(">=", low), ("<", bump(min(2, fixed) if fixed > 1 else 1))]
    if fixed < 3:
        return {
            "": [(">=", low), ("<", bump(fixed))],
            "=": [(">=", low), ("<", bump(fixed))],
            ">=": [(">=", low)],
            ">": [(">=", bump(fixed))],
            "<": [("<", low)],
            "<=": [("<", bump(fixed))],
        }[op]
    return [(op or "=", low)]


def parse_range(text):
    """``>=1.2 <2 || ^3`` → [[(op, version), ...], ...] (OR of ANDs); raises PolicyError."""
    text = str(text or "").strip()
    if not text:
        raise PolicyError("empty semver range")
    sets = []
    for alternative in text.split("||"):
        tokens = re.sub(r"(>=|<=|>|<|=)\s+", r"\1", alternative.strip()).split()
        if not tokens:
            raise PolicyError(f"empty alternative in semver range {text!r}")
        sets.append([c for token in tokens for c in _comparators(token)])
    return sets


_OPS = {
    "=": lambda c: c == 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
}


def satisfies(version, ranges):
    for comparators in ranges:
        if not all(_OPS[op](compare(version, v)) for op, v in comparators):
            continue
        if version[3] and not any(v[3] and v[:3] == version[:3] for _, v in comparators):
            continue  # npm: pre-releases only where the range names one of that version
        return True
    return False


def parse(policy):
    """``"semver:^1.2"`` → ("semver", parsed); ``""`` → (None, None). Raises PolicyError."""
    policy = str(policy or "").strip()
    if not policy:
        return None, None
    kind, _, value = policy.partition(":")
    if kind not in KINDS or not value:
        raise PolicyError(f"invalid tag policy {policy!r} (want exact:<tag>, glob:<pattern> or semver:<range>)")
    return kind, parse_range(value) if kind == "semver" else value


def check(policy, tag, current_tag=""):
    """(True, "") when ``tag`` may deploy over ``current_tag``; else (False, reason)."""
    kind, value = parse(policy)
    if kind is None:
        return True, ""
    if kind == "exact":
        return (tag == value, "" if tag == value else f"tag {tag} is not {value} (policy exact:{value})")
    if kind == "glob":
        ok = fnmatch.fnmatchcase(tag, value)
        return ok, "" if ok else f"tag {tag} does not match glob:{value}"
    version = parse_version(tag)
    if version is None:
        return False, f"tag {tag} is not a semantic version (policy {policy})"
    if not satisfies(version, value):
        return False, f"tag {tag} is outside {policy}"
    current = parse_version(current_tag)
    if current is not None and compare(version, current) < 0:
        return False, f"tag {tag} is a downgrade from {current_tag} (only a rollback goes back)"
    return True, ""
