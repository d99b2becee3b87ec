# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
---
app-clean-saltpipe-app-absent:
  saltpipe_app.absent:
    - name: {{ app.name | json }}
    - docker_socket: {{ app.docker_socket | json }}

app-clean-file-absent-docker-config:
  file.absent:
    - name: {{ app.docker_config_dir }}
