# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- set sls_package_install = tplroot ~ '.package.install' %}
{%- from tplroot ~ "/map.jinja" import mapdata as proxy with context %}
---
include:
  - {{ sls_package_install }}

proxy-config-file-file-managed-site:
  file.managed:
    - name: {{ proxy.conf_dir }}/saltpipe-{{ proxy.site.name }}.conf
    - source: salt://{{ tplroot }}/files/default/site.conf.jinja
    - template: jinja
    - context:
        proxy: {{ proxy | json }}
    - mode: '0644'
    - makedirs: true
    - require:
      - sls: {{ sls_package_install }}

# The upstream is switched by app.deploy (blue/green); create a placeholder only once.
proxy-config-file-file-managed-upstream:
  file.managed:
    - name: {{ proxy.include_dir }}/{{ proxy.site.name }}-upstream.conf
    - replace: false
    - contents: |
        # saltpipe: placeholder until the first deploy; app.deploy rewrites this file.
        upstream {{ proxy.site.name }} {
            server {{ proxy.site.placeholder_server }};
        }
    - mode: '0644'
    - makedirs: true
    - require:
      - sls: {{ sls_package_install }}
{%- for path in (proxy.default_site_files if proxy.remove_default_site else []) %}

proxy-config-file-file-absent-default-{{ loop.index }}:
  file.absent:
    - name: {{ path }}
    - require:
      - sls: {{ sls_package_install }}
{%- endfor %}
