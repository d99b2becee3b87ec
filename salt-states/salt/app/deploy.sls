# -*- coding: utf-8 -*-
# vim: ft=sls
# Deploy one image BY DIGEST: pull, start the new container beside the old one (the other
# blue/green slot), wait for its health path, switch the proxy's upstream, drain and stop
# the old one. A failed health check keeps the old one serving, removes the new one and
# fails the state. The same digest twice changes nothing. The work is done by the
# `saltpipe_app.deployed` state (salt://_states/saltpipe_app.py), which talks to the Docker
# Engine API on its unix socket (the docker CLI only pulls, with the registry credentials)
# and runs nginx with validated argv lists (no shell). The deploy's plan is kept on the
# minion first (`saltpipe_app.planned`).
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- from tplroot ~ "/deploy-args.jinja" import deploy_args %}
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
---
include:
  - .registry
{%- if request.get('digest') %}

# The plan first (no pull: deployed pulls): the next push to this minion is then one
# direct saltpipe_app.deploy call, rebased onto its digest while the master's states and
# pillar (generation) and this minion's grains stay the same.
app-deploy-saltpipe-app-planned:
  saltpipe_app.planned:
{{- deploy_args(app, request) }}
    - generation: {{ request.get('generation', '') | string | json }}
    - pull: false
    - require:
      - sls: {{ tplroot }}.registry

app-deploy-saltpipe-app-deployed:
  saltpipe_app.deployed:
{{- deploy_args(app, request) }}
    - require:
      - saltpipe_app: app-deploy-saltpipe-app-planned
{%- else %}

app-deploy-test-nop-no-digest:
  test.nop:
    - name: no digest in pillar saltpipe_deploy:digest; nothing to deploy
{%- endif %}
