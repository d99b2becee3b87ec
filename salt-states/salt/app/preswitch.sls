# -*- coding: utf-8 -*-
# vim: ft=sls
# The optional pre-switch step of a deploy: run a one-off command (pillar
# `saltpipe_pre_switch:command`, an argv list) from the NEW image (pillar
# `saltpipe_deploy:digest`) on one minion, before any traffic moves. The saltpipe runner
# applies it to the first minion of the rollout when the master config sets
# `saltpipe:deploy:pre_switch`; a failure fails the deploy and the old version keeps serving.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
{%- set step = salt['pillar.get']('saltpipe_pre_switch', {}) %}
{%- set registry = app.registry %}
{%- set image = (registry.server ~ '/' if registry.server else '') ~ registry.repository %}
---
include:
  - .registry
{%- if request.get('digest') and step.get('command') %}

app-preswitch-saltpipe-app-pre-switched:
  saltpipe_app.pre_switched:
    - name: {{ app.name | json }}
    - image: {{ image | json }}
    - digest: {{ request.digest | json }}
    - command: {{ step.command | json }}
    - timeout: {{ step.get('timeout', 600) | int }}
    - pull_timeout: {{ app.deploy.pull_timeout | int }}
    - docker_cli: {{ app.docker_cli | json }}
    - docker_config_dir: {{ app.docker_config_dir | json }}
    - env: {{ app.env | json }}
    - require:
      - sls: {{ tplroot }}.registry
{%- else %}

app-preswitch-test-nop-no-step:
  test.nop:
    - name: no digest or no command in pillar; no pre-switch step
{%- endif %}
