"""
The checks every value of a deploy passes before it reaches docker or nginx: one message
per bad value, naming it, and nothing runs while there is one.
"""

import os

from saltpipe_shared import (
    ADDRESS_RE, DIGEST_RE, ENV_KEY_RE, HEALTH_PATH_RE, IMAGE_RE, LABEL_KEY_RE, NAME_RE, RESERVED_LABELS,
)


def deploy_errors(name, image, digest, port, health_path, slots, bind_address, env, labels, nginx_pid_file=""):
    """The errors of the ``saltpipe_app.deployed`` arguments (empty when they are all good)."""
    errors = []
    if not isinstance(nginx_pid_file, str) or (nginx_pid_file and not os.path.isabs(nginx_pid_file)):
        errors.append(f"invalid nginx_pid_file {nginx_pid_file!r} (want an absolute path, or '' to skip the reload wait)")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        errors.append(f"invalid app name {name!r}")
    if not isinstance(image, str) or not IMAGE_RE.fullmatch(image):
        errors.append(f"invalid image reference {image!r}")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        errors.append(f"invalid digest {digest!r} (want sha256:<64 hex>)")
    if not isinstance(health_path, str) or not HEALTH_PATH_RE.fullmatch(health_path):
        errors.append(f"invalid health path {health_path!r}")
    if not isinstance(bind_address, str) or not ADDRESS_RE.fullmatch(bind_address):
        errors.append(f"invalid bind address {bind_address!r}")
    ports = [port] + list((slots or {}).values())
    for value in ports:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            errors.append(f"invalid port {value!r}")
    if not isinstance(slots, dict) or len(slots) != 2:
        errors.append("slots must map exactly two slot names to host ports")
    else:
        for slot in slots:
            if not isinstance(slot, str) or not NAME_RE.fullmatch(slot):
                errors.append(f"invalid slot name {slot!r}")
        if len(set(slots.values())) != 2:
            errors.append("the two slots need different ports")
    for key, value in (env or {}).items():
        if not ENV_KEY_RE.fullmatch(str(key)) or "\n" in str(value) or "\x00" in str(value):
            errors.append(f"invalid environment entry {key!r}")
    for key, value in (labels or {}).items():
        if not LABEL_KEY_RE.fullmatch(str(key)) or "\n" in str(value) or len(str(value)) > 256:
            errors.append(f"invalid label {key!r}")
        if key in RESERVED_LABELS:
            errors.append(f"label {key!r} is reserved")
    return errors


def command_errors(command):
    """The error of a pre-switch command: an argv list of at most 64 non-empty strings, no NUL."""
    if not isinstance(command, list) or not command or len(command) > 64 or not all(
        isinstance(a, str) and a and len(a) <= 4096 and "\0" not in a for a in command
    ):
        return ["command must be a non-empty list of strings (an argv, no shell)"]
    return []
