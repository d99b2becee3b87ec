# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
---
docker-service-clean-service-dead:
  service.dead:
    - name: {{ docker.service.name }}
    - enable: false
