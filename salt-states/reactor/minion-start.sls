{#- -*- coding: utf-8 -*- #}
{#- vim: ft=sls #}
{#- Reactor for `salt/minion/<id>/start`: a minion (re)started, or started for the first time
    after its key was accepted. Thin: hand the id to `saltpipe.converge`, which checks the
    minion's grains (environment, role) and puts it on the environment's current digest
    (a no-op when it already serves it; queued behind a running deploy). -#}
{%- set env = salt['config.get']('saltpipe:environment', '') | string %}
{%- set minion = data.get('id', '') | string %}
{%- if env and minion | regex_match('^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$') %}
saltpipe-reactor-minion-start-runner-saltpipe-converge:
  runner.saltpipe.converge:
    - args:
      - environment: {{ env | json }}
      - minion: {{ minion | json }}
{%- endif %}
