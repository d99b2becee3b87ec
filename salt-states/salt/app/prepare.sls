# -*- coding: utf-8 -*-
# vim: ft=sls
# The rollout's prepare round (several batches): on every target at once, while the old
# version serves, the registry credentials, then the deploy of pillar `saltpipe_deploy`
# planned - its `saltpipe_app.deployed` arguments, the same as app.deploy's, kept on the
# minion for the direct `saltpipe_app.deploy` call of its batch - and its image pulled.
# Nothing here touches a container or the proxy.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- from tplroot ~ "/deploy-args.jinja" import deploy_args %}
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
---
include:
  - .registry
{%- if request.get('digest') %}

app-prepare-saltpipe-app-planned:
  saltpipe_app.planned:
{{- deploy_args(app, request) }}
    - generation: {{ request.get('generation', '') | string | json }}
    - require:
      - sls: {{ tplroot }}.registry
{%- else %}

app-prepare-test-nop-no-digest:
  test.nop:
    - name: no digest in pillar saltpipe_deploy:digest; nothing to prepare
{%- endif %}
