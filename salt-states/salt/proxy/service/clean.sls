# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
proxy-service-clean-service-dead:
  service.dead:
    - name: {{ proxy.service.name }}
    - enable: false
