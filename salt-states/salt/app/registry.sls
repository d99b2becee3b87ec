# -*- coding: utf-8 -*-
# vim: ft=sls
# Registry credentials from pillar `app:registry`, in a dedicated docker config dir (never
# in the repo, never on a command line). Required by app.deploy and app.preswitch.
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- set registry = app.registry %}
---
{%- if registry.username and registry.password %}
app-registry-file-serialize-auth:
  file.serialize:
    - name: {{ app.docker_config_dir }}/config.json
    - serializer: json
    - dataset:
        auths:
          {{ registry.server | json }}:
            auth: {{ (registry.username ~ ':' ~ registry.password) | base64_encode | json }}
    - makedirs: true
    - dir_mode: '0700'
    - mode: '0600'
    - show_changes: false
{%- else %}
app-registry-test-nop-no-credentials:
  test.nop:
    - name: no registry credentials in pillar app:registry; pulls are anonymous
{%- endif %}
