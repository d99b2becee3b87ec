# -*- coding: utf-8 -*-
# vim: ft=sls
# Orchestration of one verified push, started by reactor/registry.sls with pillar
# `saltpipe_deploy` (environment, repository, digest, tag, event_id, timestamp). The
# `saltpipe.receive` runner (salt/_runners/saltpipe.py) records it in the environment's
# record (dedupe, order, tag policy, approval, newest-wins queue) and, when it gets the
# environment's deploy claim, runs the rolling health-gated rollout (settings: master config
# `saltpipe:deploy`, rendered by infra/render/salt-config.ts) and fires the outcome event
# `saltpipe/deploy/<env>/outcome`.
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
{%- set settings = salt['config.get']('saltpipe', {}) %}
{%- set digest = request.get('digest', '') | string %}
{%- set environment = request.get('environment', '') | string %}
---
{%- if digest | regex_match('^(sha256:[0-9a-f]{64})\Z') and environment == settings.get('environment') %}
saltpipe-orch-deploy-salt-runner-receive:
  salt.runner:
    - name: saltpipe.receive
    - environment: {{ environment | json }}
    - digest: {{ digest | json }}
    - repository: {{ request.get('repository', '') | string | json }}
    - tag: {{ request.get('tag', '') | string | json }}
    - event_id: {{ request.get('event_id', '') | string | json }}
    - timestamp: {{ request.get('timestamp', '') | string | json }}
{%- else %}
saltpipe-orch-deploy-test-fail-without-changes:
  test.fail_without_changes:
    - name: >-
        refused: pillar saltpipe_deploy needs digest sha256:<64 hex> and environment
        {{ settings.get('environment', '<unset>') }} (got {{ environment | json }}, {{ digest | json }})
{%- endif %}
