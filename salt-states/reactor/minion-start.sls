{#- -*- coding: utf-8 -*- #}
{#- vim: ft=sls #}
{#- Reactor for `salt/minion/<id>/start`: a minion (re)started, or started for the first time
    after its key was accepted. Thin: hand the id to `saltpipe.converge`, which checks the
    minion's grains (environment, role) and puts it on the environment's current digest
    (a no-op when it already serves it, and then not recorded as a deploy; queued behind a
    running deploy). -#}
{%- set env = salt['config.get']('saltpipe:environment', '') | string %}
{%- set minion = data.get('id', '') | string %}
{#- The tag names a minion; a minion can fire any tag: react only when the tag's id is the
    sender's (data.id, set by the master from the authenticated load on a start event). -#}
{%- if env and tag == 'salt/minion/' ~ minion ~ '/start'
      and minion | regex_match('^((?=.{1,253}\Z)[A-Za-z0-9][A-Za-z0-9_.-]*)\Z') %}
saltpipe-reactor-minion-start-runner-saltpipe-converge:
  runner.saltpipe.converge:
    - args:
      - environment: {{ env | json }}
      - minion: {{ minion | json }}
{%- endif %}
