"""
The generation of what a minion's deploy plan is rendered from (the master's file and pillar
roots, and the environment), keyed to this master: a minion reuses its plan, with only the
digest and its labels changed, while the generation it was made under holds.
"""

import hashlib
import hmac
import os
import secrets

# The master-local key of the generation HMAC (in the state dir, mode 0600).
KEY_FILE = "generation.key"
# Written by Python when it imports the runner's own lib: not configuration.
SKIP_DIRS = frozenset({"__pycache__", ".git"})


def _key(state_dir):
    """The master-local key (made once, mode 0600; the first writer's key wins)."""
    path = os.path.join(state_dir, KEY_FILE)
    try:
        with open(path, "rb") as fh:
            key = fh.read()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(secrets.token_bytes(32))
    try:
        os.link(tmp, path)  # the first writer's key wins; a concurrent one reads it
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    with open(path, "rb") as fh:
        return fh.read()


def generation_of(opts, environment):
    """
    The generation of what a minion's deploy plan is rendered from: every file of the
    master's file and pillar roots (the states, map.jinja, the modules, the pillar) and the
    environment, as an HMAC with a master-local key - the pillar holds secrets, and a plain
    hash of it on the event bus could be guessed at. A minion's plan made under the same
    generation (and its own same grains) is reused by the next deploy with only the digest
    and its labels changed. ``""`` (every deploy renders afresh) when the states or pillar
    do not all come from files here (another fileserver backend, an ext_pillar).
    """
    if set(opts.get("fileserver_backend") or ["roots"]) != {"roots"} or opts.get("ext_pillar"):
        return ""
    mac = hmac.new(_key(os.path.join(opts["cachedir"], "saltpipe")), str(environment).encode(), hashlib.sha256)
    for kind in ("file_roots", "pillar_roots"):
        for saltenv, roots in sorted((opts.get(kind) or {}).items()):
            for root in roots or []:
                for path in _files(root):
                    mac.update(f"\0{kind}\0{saltenv}\0{os.path.relpath(path, root)}\0".encode())
                    try:
                        with open(path, "rb") as fh:
                            mac.update(hashlib.sha256(fh.read()).digest())
                    except OSError:
                        mac.update(b"unreadable")
    return mac.hexdigest()


def _files(root):
    """Every file under ``root``, in a stable order (byte-compiled caches left out)."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(".pyc"):
                yield os.path.join(dirpath, name)
