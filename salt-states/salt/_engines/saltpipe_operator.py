"""
saltpipe_operator engine: the operator command's way in, without a Salt process per command.

``saltpipe rollback|approve|reject|status|history`` could run ``salt-run saltpipe.<fn>`` over
SSH, but that is a new Python process that imports Salt, loads every runner and connects to
the master, about 0.7 s (more on a loaded master) before the runner starts - longer than a
rollback to an image the minions still hold takes. This engine runs beside the master for its
whole life and serves the same runner functions from a directory only root can write to:

    <dir>/requests/<id>.json   {"fun": "saltpipe.rollback", "args": ["dev", "approver=..."],
                                "created": <epoch s>}   written by the command, as root
    <dir>/answers/<id>.json    {"code": 0|1, "data": <the runner's return>}, mode 0600

``<dir>`` is ``<cachedir>/saltpipe/operator`` (``/var/cache/salt/master/saltpipe/operator``).
The command (infra/cli/master.ts) writes a request over SSH (as root, or through ``sudo -n``),
waits for its answer, reads and removes it; a master without this engine leaves the request
untaken, the command withdraws it and runs ``salt-run`` instead.

Every ``poll`` seconds (0.02) the engine takes each request by renaming it (a request the
command withdrew is never run), checks it - a regular file, not a link, owned by root, at most
64 KiB, created at most ``REQUEST_TTL_SECONDS`` ago by the master's own clock, a function of
``ALLOWED`` with at most 16 string arguments - and runs the runner function in a thread of its
own (a rollback never waits for a status), its arguments parsed as ``salt-run`` parses them.
The answer carries ``salt-run``'s exit code: 1 when the return says ``result: False``.

Why a directory, and not the event bus or salt-api: the bus needs Salt's own client (the Python
start this avoids), and salt-api's ``/hook`` takes requests from every local process (each would
need a signature); a directory only root can write to asks for exactly what ``salt-run`` as root
asked for - the SSH login with the stack's key - and nothing reaches it from the network.
"""

import contextvars
import json
import logging
import os
import re
import stat
import threading
import time

log = logging.getLogger(__name__)

# The runner functions the command may ask for (salt-states/salt/_runners/saltpipe.py).
ALLOWED = frozenset({"saltpipe.rollback", "saltpipe.approve", "saltpipe.reject", "saltpipe.status"})
ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
REQUEST_MAX_BYTES = 64 * 1024
REQUEST_MAX_ARGS = 16
# A request older than this (the command gave up, the master was down) is refused, not run.
REQUEST_TTL_SECONDS = 60
# Answers nobody read (the command was killed) and leftovers are removed after this.
KEEP_SECONDS = 3600
PRUNE_EVERY_SECONDS = 60


def _directory(root):
    """``<root>/requests`` and ``<root>/answers``, made 0700 and owned by this (root) process."""
    paths = [os.path.join(root, "requests"), os.path.join(root, "answers")]
    for path in [root, *paths]:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise RuntimeError(f"{path} is not a directory owned by uid {os.geteuid()}")
        os.chmod(path, 0o700)
    return paths


def read_request(path, now):
    """The request in ``path`` (already taken), or raise ValueError saying why it is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise ValueError(f"unreadable: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            raise ValueError("not a regular file of the master's user")
        raw = fh.read(REQUEST_MAX_BYTES + 1)
    if len(raw) > REQUEST_MAX_BYTES:
        raise ValueError(f"larger than {REQUEST_MAX_BYTES} bytes")
    try:
        request = json.loads(raw)
    except ValueError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(request, dict):
        raise ValueError("not a JSON object")
    fun, args, created = request.get("fun"), request.get("args"), request.get("created")
    if fun not in ALLOWED:
        raise ValueError(f"function {str(fun)[:100]!r} is not one the command may ask for")
    if not isinstance(args, list) or len(args) > REQUEST_MAX_ARGS or not all(isinstance(a, str) and len(a) <= 1024 for a in args):
        raise ValueError(f"args must be a list of at most {REQUEST_MAX_ARGS} strings")
    if not isinstance(created, (int, float)) or isinstance(created, bool) or not 0 <= now - created <= REQUEST_TTL_SECONDS:
        raise ValueError(f"created more than {REQUEST_TTL_SECONDS} s ago (or in the future)")
    return fun, args


def answer(answers, request_id, code, data):
    """Write the answer atomically (0600): the command sees it whole or not at all."""
    path = os.path.join(answers, f"{request_id}.json")
    tmp = os.path.join(answers, f".{request_id}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"code": code, "data": data}, fh, default=str)
    os.replace(tmp, path)


def exit_code(ret):
    """salt-run's: 1 when the runner said so (``retcode``) or returned ``result: False``."""
    return 1 if isinstance(ret, dict) and (ret.get("retcode") or ret.get("result") is False) else 0


def serve(taken, answers, request_id, runners, parse_input, now):
    """Run one taken request and answer it; the taken file is removed either way."""
    try:
        try:
            fun, raw_args = read_request(taken, now)
        except ValueError as exc:
            log.warning("saltpipe operator: request %s refused: %s", request_id, exc)
            answer(answers, request_id, 1, {"result": False, "error": f"request refused by the master: {exc}"})
            return
        args, kwargs = parse_input(raw_args, condition=False)
        try:
            ret = runners[fun](*args, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            log.exception("saltpipe operator: %s failed", fun)
            ret = {"result": False, "error": f"{fun} failed on the master: {type(exc).__name__}: {exc}"[:500]}
        answer(answers, request_id, exit_code(ret), ret)
    finally:
        try:
            os.unlink(taken)
        except OSError:
            pass


def take(requests, name):
    """Rename ``<id>.json`` to ``<id>.taken``: the path to serve, or None (withdrawn meanwhile)."""
    request_id = name[: -len(".json")]
    taken = os.path.join(requests, f"{request_id}.taken")
    try:
        os.rename(os.path.join(requests, name), taken)
    except OSError:
        return None
    return taken


def prune(*directories, now):
    for directory in directories:
        for name in os.listdir(directory):
            path = os.path.join(directory, name)
            try:
                if now - os.lstat(path).st_mtime > KEEP_SECONDS:
                    os.unlink(path)
            except OSError:
                pass


def pending(requests):
    """Names of the requests waiting to be taken (``<id>.json``, a well-formed id)."""
    return sorted(n for n in os.listdir(requests) if n.endswith(".json") and ID_RE.fullmatch(n[: -len(".json")]))


def _salt_parse_input():
    """How salt-run reads ``key=value`` arguments (typed as YAML), for the same meaning."""
    import salt.utils.args  # pylint: disable=import-outside-toplevel

    return salt.utils.args.parse_input


def start(directory="", poll=0.02):
    parse_input = _salt_parse_input()
    root = directory or os.path.join(__opts__["cachedir"], "saltpipe", "operator")
    requests, answers = _directory(root)
    log.info("saltpipe operator: serving requests from %s", requests)
    pruned, failed = 0.0, 0.0
    while True:
        try:
            for name in pending(requests):
                taken = take(requests, name)
                if taken:
                    # The loader's dunders (``__runners__``) live in context variables, which a
                    # new thread does not inherit: the thread runs in a copy of this context.
                    threading.Thread(
                        target=contextvars.copy_context().run,
                        args=(serve, taken, answers, name[: -len(".json")], __runners__, parse_input, time.time()),
                        name=f"saltpipe-operator-{name}",
                        daemon=True,
                    ).start()
            if time.monotonic() - pruned > PRUNE_EVERY_SECONDS:
                prune(requests, answers, now=time.time())
                pruned = time.monotonic()
        except Exception:  # pylint: disable=broad-except
            # E.g. the directory removed by hand: made again; said at most once a minute.
            if time.monotonic() - failed > 60:
                log.exception("saltpipe operator: the request loop failed; it goes on")
            failed = time.monotonic()
            time.sleep(1)
            try:
                requests, answers = _directory(root)
            except (OSError, RuntimeError):
                pass
        time.sleep(float(poll))
