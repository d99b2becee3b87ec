# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
proxy-package-install-pkg-installed:
  pkg.installed:
    - name: {{ proxy.pkg.name }}
