# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_service_clean = tplroot ~ '.service.clean' %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
include:
  - {{ sls_service_clean }}

proxy-package-clean-pkg-removed:
  pkg.removed:
    - name: {{ proxy.pkg.name }}
    - require:
      - sls: {{ sls_service_clean }}
