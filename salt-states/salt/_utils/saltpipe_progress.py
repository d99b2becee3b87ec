"""
A deploy's progress events (``<tag>/<step>``, read by ``saltpipe watch``), best effort: an
event that cannot be sent never fails a deploy. On a minion they go through one connection
to its event bus for the whole deploy (``event.fire_master`` opens and closes one per event,
a few ms each on the deploy's path); elsewhere (no minion bus), through ``event.fire_master``.
Events carry the summary only, never app output.
"""

import logging

log = logging.getLogger(__name__)


class Progress:
    """``progress(step, **data)`` fires ``<tag>/<step>``; nothing when ``tag`` is empty."""

    def __init__(self, tag, opts, functions):
        self.tag = str(tag or "")
        self.opts = opts
        self.functions = functions  # the caller's __salt__ (for event.fire_master)
        self.bus = None
        self.tried = False

    def _open(self):
        self.tried = True
        if self.opts.get("__role") != "minion" or not self.opts.get("sock_dir"):
            return
        try:
            import salt.utils.event  # pylint: disable=import-outside-toplevel

            self.bus = salt.utils.event.MinionEvent(self.opts, listen=False)
        except Exception:  # pylint: disable=broad-except
            log.debug("no minion event bus for progress events", exc_info=True)

    def __call__(self, step, **data):
        if not self.tag:
            return
        if not self.tried:
            self._open()
        payload, tag = dict(data, step=step), f"{self.tag}/{step}"
        try:
            if self.bus is not None:
                # What event.fire_master sends: the minion forwards it to the master.
                self.bus.fire_event({"data": payload, "tag": tag, "events": None, "pretag": None}, "fire_master")
            elif "event.fire_master" in self.functions:
                self.functions["event.fire_master"](payload, tag)
        except Exception:  # pylint: disable=broad-except
            log.debug("progress event %s not sent", step, exc_info=True)

    def close(self):
        if self.bus is not None:
            try:
                self.bus.destroy()
            except Exception:  # pylint: disable=broad-except
                log.debug("progress event bus not closed cleanly", exc_info=True)
            self.bus = None
