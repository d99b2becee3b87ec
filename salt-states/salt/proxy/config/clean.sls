# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
proxy-config-clean-file-absent-site:
  file.absent:
    - name: {{ proxy.conf_dir }}/saltpipe-{{ proxy.site.name }}.conf

proxy-config-clean-file-absent-include-dir:
  file.absent:
    - name: {{ proxy.include_dir }}
