# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_service_clean = tplroot ~ '.service.clean' %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
---
include:
  - {{ sls_service_clean }}

docker-package-clean-pkg-removed:
  pkg.removed:
    - pkgs: {{ docker.pkg.names | json }}
    - require:
      - sls: {{ sls_service_clean }}
