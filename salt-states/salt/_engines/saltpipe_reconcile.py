"""
saltpipe_reconcile engine: the master's own clock for the deploy lifecycle.

Runs beside the master for its whole life (``engines: [{saltpipe_reconcile: {...}}]`` in
the master config). Salt fires no event when a master starts, and an engine starts with it,
so this is where start-up reconciliation lives:

- at start: wait (at most ``startup_wait`` s) until the environment's known minions answer
  again, then ``saltpipe.reconcile`` - a claim left by a deploy the master was killed in is
  taken over (its pid is gone) and its work finished, minions that drifted converge;
- then every ``interval`` seconds: the same, which also expires approvals, restores an app
  container removed or stopped by hand (bound: ``interval`` + one deploy), and delivers
  queued notifications.
"""

import logging
import time

log = logging.getLogger(__name__)


def _wait_for_minions(deadline):
    env = (__opts__.get("saltpipe") or {}).get("environment", "")
    role = ((__opts__.get("saltpipe") or {}).get("deploy") or {}).get("role", "app")
    import salt.client  # pylint: disable=import-outside-toplevel
    import salt.utils.minions  # pylint: disable=import-outside-toplevel

    tgt = f"G@environment:{env} and G@roles:{role}"
    known = set(salt.utils.minions.CkMinions(__opts__).check_minions(tgt, "compound").get("minions", []))
    client = salt.client.get_local_client(__opts__["conf_file"])
    while known and time.monotonic() < deadline:
        answered = set(client.cmd(tgt, "test.ping", tgt_type="compound", timeout=5) or {})
        if known <= answered:
            return
        time.sleep(2)


def start(interval=30, startup_wait=60):
    _wait_for_minions(time.monotonic() + float(startup_wait))
    while True:
        try:
            ret = __runners__["saltpipe.reconcile"]()
            log.info("saltpipe reconcile: %s", ret)
        except Exception:  # pylint: disable=broad-except
            log.exception("saltpipe reconcile failed")
        time.sleep(float(interval))
