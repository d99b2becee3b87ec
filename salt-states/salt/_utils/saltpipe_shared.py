"""
What every minion-side saltpipe module agrees on: the patterns a value must match, the
markers and labels it writes and reads back, the files it keeps under
``<cachedir>/saltpipe/``, the defaults of the deploy state, and the failure of a deploy step.

One module so that a name is written once: the ``saltpipe_app`` state and execution module
import it (Salt puts ``<cachedir>/extmods/utils`` on ``sys.path`` while it loads them, once
``saltutil.sync_utils`` brought it), the detached drain finisher imports it from its own
directory, and the master's runner reads the values it shares with the minions from here too.
"""

import os
import re
import tempfile

# -- patterns: every value that reaches docker or nginx matches one first ----------------
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
# [registry-host[:port]/]path-component(/path-component)* as in the distribution reference grammar.
IMAGE_RE = re.compile(
    r"^(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
HEALTH_PATH_RE = re.compile(r"/[A-Za-z0-9/_.~-]*")
ENV_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
LABEL_KEY_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,127}")
ADDRESS_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")

# -- markers -------------------------------------------------------------------------------
# The upstream file's line naming the serving container (written on every switch).
MARKER = "# saltpipe-current: "
# Between a state comment's summary and its detail (app output: log tails, pre-switch
# output). The master keeps the detail to itself (saltpipe_core/results.py): events, the
# audit and notifications get the summary only.
DETAIL_MARK = "\n--- output ---\n"
# A direct call finding no usable plan returns {NO_PLAN: why} and changes nothing.
NO_PLAN = "saltpipe_app.no_plan"
# The state key a direct deploy returns under, as ``state.sls app.deploy`` would.
DEPLOY_KEY = "saltpipe_app_|-app-deploy-saltpipe-app-deployed_|-{name}_|-deployed"
# The container's environment variable carrying its own digest (an image cannot know it).
DIGEST_ENV = "SALTPIPE_IMAGE_DIGEST"

# -- container labels ---------------------------------------------------------------------
LABEL_APP = "saltpipe.app"
LABEL_DIGEST = "saltpipe.digest"
LABEL_SLOT = "saltpipe.slot"
LABEL_EVENT_ID = "saltpipe.event_id"
LABEL_TAG = "saltpipe.tag"
LABEL_PRESWITCH = "saltpipe.preswitch"
# Set by the deploy itself: never taken from the caller.
RESERVED_LABELS = (LABEL_APP, LABEL_DIGEST, LABEL_SLOT)

# -- defaults of the deploy state (salt/app/parameters/defaults.yaml gives the same) -------
DEFAULT_SLOTS = {"blue": 18081, "green": 18082}
DOCKER_SOCKET = "/var/run/docker.sock"
DOCKER_CLI = "/usr/bin/docker"
# Seconds a ``docker pull`` may take, and each other docker call.
PULL_TIMEOUT = 120
COMMAND_TIMEOUT = 60


# -- files under <cachedir>/saltpipe/ --------------------------------------------------------
def state_dir(cachedir):
    return os.path.join(cachedir, "saltpipe")


def plan_path(cachedir):
    """The deploy plan (``saltpipe_app.planned`` → ``saltpipe_app.deploy``): one file, the newest."""
    return os.path.join(state_dir(cachedir), "deploy-plan.json")


def history_path(cachedir, app):
    """The digests deployed here, newest first (what image pruning keeps)."""
    return os.path.join(state_dir(cachedir), f"{app}-history.json")


def prepull_log_path(cachedir, app):
    """The pre-pulls ``saltpipe_app.pull`` started (a finisher planned before one keeps its image)."""
    return os.path.join(state_dir(cachedir), f"{app}-prepull.log")


def drain_paths(cachedir, app):
    """(lock, log) of the app's drain: the finisher holds the lock while it drains, logs one line per drain."""
    base = state_dir(cachedir)
    return os.path.join(base, f"{app}-drain.lock"), os.path.join(base, f"{app}-drain.log")


# -- shared by the deploy's steps --------------------------------------------------------------
class StepFailed(Exception):
    """A deploy step failed; the message is the state's comment, ``detail`` app output."""

    def __init__(self, message, detail=""):
        super().__init__(message)
        self.detail = detail


def with_detail(summary, detail):
    return f"{summary}{DETAIL_MARK}{detail}" if detail else summary


def write_atomic(path, text, mode=0o644):
    """``text`` to ``path`` through a temp file beside it: a reader sees the old or the new file."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".saltpipe-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
