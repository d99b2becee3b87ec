# -*- coding: utf-8 -*-
# vim: ft=sls
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as docker with context %}
{%- if docker.pkg.repo.enabled %}
{%-   if grains.os_family == 'RedHat' %}

docker-package-install-pkgrepo-managed:
  pkgrepo.managed:
    - name: {{ docker.pkg.repo.name }}
    - humanname: {{ docker.pkg.repo.humanname }}
    - baseurl: {{ docker.pkg.repo.baseurl }}
    - gpgcheck: 1
    - gpgkey: {{ docker.pkg.repo.gpgkey }}
    - require_in:
      - pkg: docker-package-install-pkg-installed
{%-   else %}

docker-package-install-file-managed-keyring:
  file.managed:
    - name: /etc/apt/keyrings/docker.asc
    - source: {{ docker.pkg.repo.gpgkey }}
    - skip_verify: true
    - makedirs: true
    - mode: '0644'

docker-package-install-pkgrepo-managed:
  pkgrepo.managed:
    - name: deb [signed-by=/etc/apt/keyrings/docker.asc] {{ docker.pkg.repo.baseurl }} {{ grains.oscodename }} stable
    - file: /etc/apt/sources.list.d/docker.list
    - require:
      - file: docker-package-install-file-managed-keyring
    - require_in:
      - pkg: docker-package-install-pkg-installed
{%-   endif %}
{%- endif %}

docker-package-install-pkg-installed:
  pkg.installed:
    - pkgs: {{ docker.pkg.names | json }}
