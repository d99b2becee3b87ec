# -*- coding: utf-8 -*-
# vim: ft=sls
# Registry access from pillar `app:registry`, in a dedicated docker config dir (never in the
# repo, never on a command line). Required by app.deploy and app.preswitch. Either:
#   - `credential_helper: ecr-login` (AWS): the Docker credential helper for ECR asks for a
#     short-lived token with the minion's instance role whenever docker pulls from `server`;
#     no password is stored on the minion. Debian/Ubuntu: the distribution's package
#     (amazon-ecr-credential-helper); CentOS Stream 9 has none: the pinned release binary
#     from AWS's release bucket, checked against its published sha256 (map: ecr_helper);
#   - `username` + `password`: a static auth entry (external registries);
#   - nothing: anonymous pulls (the local registry).
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ "/map.jinja" import mapdata as app with context %}
{%- set registry = app.registry %}
{%- set helper = app.ecr_helper %}
---
{%- if registry.get('credential_helper') == 'ecr-login' %}
{%-   if helper.pkg %}
app-registry-pkg-installed-ecr-helper:
  pkg.installed:
    - name: {{ helper.pkg }}
{%-   else %}
app-registry-file-managed-ecr-helper:
  file.managed:
    - name: {{ helper.path }}
    - source: {{ helper.source }}
    - source_hash: {{ helper.source_hash }}
    - mode: '0755'
    - makedirs: true
{%-   endif %}

app-registry-file-serialize-auth:
  file.serialize:
    - name: {{ app.docker_config_dir }}/config.json
    - serializer: json
    - dataset:
        credHelpers:
          {{ registry.server | json }}: ecr-login
    - makedirs: true
    - dir_mode: '0700'
    - mode: '0600'
    - require:
      - {{ 'pkg' if helper.pkg else 'file' }}: {{ 'app-registry-pkg-installed-ecr-helper' if helper.pkg else 'app-registry-file-managed-ecr-helper' }}
{%- elif registry.username and registry.password %}
app-registry-file-serialize-auth:
  file.serialize:
    - name: {{ app.docker_config_dir }}/config.json
    - serializer: json
    - dataset:
        auths:
          {{ registry.server | json }}:
            auth: {{ (registry.username ~ ':' ~ registry.password) | base64_encode | json }}
    - makedirs: true
    - dir_mode: '0700'
    - mode: '0600'
    - show_changes: false
{%- else %}
app-registry-test-nop-no-credentials:
  test.nop:
    - name: no registry credentials in pillar app:registry; pulls are anonymous
{%- endif %}
