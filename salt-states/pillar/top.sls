# -*- coding: utf-8 -*-
# vim: ft=sls
# Pillar top of the saltpipe master. pillar_roots = [<salt-states>/pillar, /srv/saltpipe/pillar]:
# this file comes from the repo, `saltpipe.sls` is generated per environment by
# infra/render/salt-pillar.ts (it holds the registry password: never commit it).
# Only app minions get it; nothing here is for other minions.
---
base:
  'G@roles:app':
    - match: compound
    - saltpipe
