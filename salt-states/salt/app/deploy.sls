# -*- coding: utf-8 -*-
# vim: ft=sls
# Deploy one image BY DIGEST: pull, start the new container beside the old one (the other
# blue/green slot), wait for its health path, switch the proxy's upstream, drain and stop
# the old one. A failed health check keeps the old one serving, removes the new one and
# fails the state. The same digest twice changes nothing. The work is done by the
# `saltpipe_app.deployed` state (salt://_states/saltpipe_app.py), which drives the docker
# CLI with validated argv lists (no shell); see salt-states/README.md for why.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
{%- set registry = app.registry %}
{%- set image = (registry.server ~ '/' if registry.server else '') ~ registry.repository %}
---
include:
  - .registry
{%- if request.get('digest') %}

app-deploy-saltpipe-app-deployed:
  saltpipe_app.deployed:
    - name: {{ app.name | json }}
    - image: {{ image | json }}
    - digest: {{ request.digest | json }}
    - port: {{ app.port }}
    - health_path: {{ app.health_path | json }}
    - health_timeout: {{ app.deploy.health_timeout }}
    - health_interval: {{ app.deploy.health_interval }}
    - drain_seconds: {{ app.deploy.drain_seconds }}
    - keep_images: {{ app.deploy.keep_images }}
    - pull_timeout: {{ app.deploy.pull_timeout | int }}
    - slots: {{ app.slots | json }}
    - bind_address: {{ app.bind_address | json }}
    - upstream_file: {{ app.upstream_file | json }}
    - nginx_test_cmd: {{ app.nginx_test_cmd | json }}
    - nginx_reload_cmd: {{ app.nginx_reload_cmd | json }}
    - docker_cli: {{ app.docker_cli | json }}
    - docker_config_dir: {{ app.docker_config_dir | json }}
    - env: {{ app.env | json }}
{%- if request.get('environment') %}
    - progress: {{ ('saltpipe/deploy/' ~ request.environment ~ '/minion') | json }}
{%- endif %}
    - require:
      - sls: {{ tplroot }}.registry
    - labels:
        saltpipe.event_id: {{ request.get('event_id', '') | string | json }}
        saltpipe.tag: {{ request.get('tag', '') | string | json }}
{%- else %}

app-deploy-test-nop-no-digest:
  test.nop:
    - name: no digest in pillar saltpipe_deploy:digest; nothing to deploy
{%- endif %}
