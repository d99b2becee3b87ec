# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
---
docker-config-clean-file-absent:
  file.absent:
    - name: {{ docker.config_file }}
