# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_package_install = tplroot ~ '.package.install' %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
---
include:
  - {{ sls_package_install }}
{%- if docker.daemon_config %}

docker-config-file-file-managed:
  file.serialize:
    - name: {{ docker.config_file }}
    - serializer: json
    - dataset: {{ docker.daemon_config | json }}
    - makedirs: true
    - mode: '0644'
    - require:
      - sls: {{ sls_package_install }}
{%- endif %}
