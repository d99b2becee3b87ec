# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_config_file = tplroot ~ '.config.file' %}
{%- set sls_package_install = tplroot ~ '.package.install' %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
---
include:
  - {{ sls_config_file }}

docker-service-running-service-enabled:
  service.{{ 'enabled' if docker.service.enable else 'disabled' }}:
    - name: {{ docker.service.name }}
    - require:
      - sls: {{ sls_package_install }}

docker-service-running-service-running:
  service.running:
    - name: {{ docker.service.name }}
{%- if docker.service.skip_start_if_engine_answers %}
    # An engine that answers is running, whoever started it: never start a second one.
    - unless: {{ docker.cli }} info
{%- endif %}
    - require:
      - service: docker-service-running-service-enabled
{%- if docker.daemon_config %}

# A changed daemon.json restarts the engine even when the start above was skipped.
docker-service-running-module-run-restart:
  module.wait:
    - service.restart:
      - name: {{ docker.service.name }}
    - watch:
      - file: docker-config-file-file-managed
{%- endif %}
