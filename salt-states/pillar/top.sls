# -*- coding: utf-8 -*-
# vim: ft=sls
# Pillar top of the saltpipe master. pillar_roots = [<salt-states>/pillar, /srv/saltpipe/pillar]:
# this file comes from the repo, `saltpipe.sls` is generated per environment by
# infra/render/salt-pillar.ts (it holds the registry password: never commit it).
# Targeted by MINION ID (the id is proven by the minion's accepted key), never by grain (a
# minion sets its own grains): the ids come from the master config `saltpipe:minions`
# (infra/render/salt-config/master.ts). No ids configured: no minion gets it.
{%- set ids = (opts.get('saltpipe') or {}).get('minions') or [] %}
---
base:
{%- if ids %}
  {{ ids | join(',') | json }}:
    - match: list
    - saltpipe
{%- else %}
  'saltpipe-no-app-minions-configured':
    - match: list
{%- endif %}
