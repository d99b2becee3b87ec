"""
saltpipe_master: the master-side pieces of the deploy lifecycle that talk to Salt or to the
master's files, kept out of the runner so it holds only its public functions.

- ``port``:       the Salt port of the deploy loop (targets, prepare round, deploys, status
                  of the minions) over the master's LocalClient
- ``generation``: the HMAC of the master's file and pillar roots a minion's plan is reused under
- ``wiring``:     one environment wired from the master config: settings, state dir,
                  notifier, lifecycle, the checks of a request's names

Imported by the ``saltpipe`` runner (salt/_runners/saltpipe.py), which puts this folder's
parent and ``salt/_utils`` (the names the minions share, ``saltpipe_shared``) on ``sys.path``.
The pure core is ``saltpipe_core`` beside it.
"""
