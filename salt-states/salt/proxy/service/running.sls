# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config_file = tplroot ~ '.config.file' %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
include:
  - {{ sls_config_file }}

proxy-service-running-service-running:
  service.running:
    - name: {{ proxy.service.name }}
    - enable: true
    - reload: true
    - watch:
      - sls: {{ sls_config_file }}
