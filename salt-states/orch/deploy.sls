# -*- coding: utf-8 -*-
# vim: ft=sls
# Orchestration of one deploy, started by reactor/registry.sls with pillar `saltpipe_deploy`
# (environment, repository, digest, tag, event_id). Rolling settings come from the
# master config `saltpipe:deploy` (rendered by infra/render/salt-config.ts).
# The rollout itself is the `saltpipe.rollout` runner (salt/_runners/saltpipe.py): rolling
# batches over minions with grains environment + role, stop at the first failed batch,
# per-minion results and the outcome event `saltpipe/deploy/<env>/outcome`.
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
{%- set settings = salt['config.get']('saltpipe', {}) %}
{%- set deploy = settings.get('deploy', {}) %}
{%- set digest = request.get('digest', '') | string %}
{%- set environment = request.get('environment', '') | string %}
---
{%- if digest | regex_match('^(sha256:[0-9a-f]{64})$') and environment == settings.get('environment') %}
saltpipe-orch-deploy-salt-runner-rollout:
  salt.runner:
    - name: saltpipe.rollout
    - environment: {{ environment | json }}
    - digest: {{ digest | json }}
    - repository: {{ request.get('repository', '') | string | json }}
    - tag: {{ request.get('tag', '') | string | json }}
    - event_id: {{ request.get('event_id', '') | string | json }}
    - batch: {{ deploy.get('batch', '1') | string | json }}
    - role: {{ deploy.get('role', 'app') | string | json }}
    - timeout: {{ deploy.get('timeout', 300) | int }}
{%- else %}
saltpipe-orch-deploy-test-fail-without-changes:
  test.fail_without_changes:
    - name: >-
        refused: pillar saltpipe_deploy needs digest sha256:<64 hex> and environment
        {{ settings.get('environment', '<unset>') }} (got {{ environment | json }}, {{ digest | json }})
{%- endif %}
