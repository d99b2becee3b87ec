# -*- coding: utf-8 -*-
# vim: ft=sls
# Highstate of a saltpipe minion: the app minions get the engine and the proxy. The app
# itself is deployed by the saltpipe runner (app.deploy with a digest), not by highstate.
---
base:
  'G@roles:app':
    - match: compound
    - docker
    - proxy
