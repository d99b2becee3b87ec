"""
saltpipe_core: the master-side deploy lifecycle, as plain Python (no Salt imports).

Used by the ``saltpipe`` runner (salt/_runners/saltpipe.py) and the ``saltpipe_sqs`` engine
(salt/_engines/saltpipe_sqs.py), which put this folder's parent on ``sys.path``. Kept
out of Salt's loader so each piece is one small module that plain ``unittest`` can test
(test/salt/python/).

- ``clock``:   registry timestamps → integer nanoseconds (the order of events)
- ``store``:   the per-environment record of desired state (one JSON file, flock + atomic write)
- ``claim``:   the deploy-in-progress claim: owner, expiry, liveness
- ``policy``:  tag policies (pattern, exact, glob, semver range)
- ``decide``:  what a received push does to the record (pure)
- ``audit``:   bounded, rotated JSON-lines audit log
- ``notify``:  signed outcome notifications from a spool, sent by a background thread
- ``rollout``: the rolling, health-gated deploy loop over an injected Salt port
- ``results``: what a minion's return means for the rollout; what of it may leave the master
- ``status``:  what the status command shows, from the record and the minions' answers

The Salt port itself, the plan generation and the wiring from the master config are
``saltpipe_master`` beside it.
"""
