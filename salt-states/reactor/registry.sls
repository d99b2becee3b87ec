{#- -*- coding: utf-8 -*- #}
{#- vim: ft=sls #}
{#- Reactor for `salt/netapi/hook/saltpipe/registry`: a registry notification that the hook
    proxy (nginx, master) passed to salt-api's /hook. Thin on purpose (reactions render one by
    one in one process): verify, filter, hand off to the `saltpipe.receive` runner. No grains, no pillar, no
    requisites. Settings come from the master config key `saltpipe` (rendered by
    infra/render/salt-config/master.ts): environment, hook.secret, hook.repository, hook.tag_pattern.

    Authentication happens at the hook proxy (nginx on the master, infra/render/salt-config/hook-proxy.ts):
    it refuses every request without `Authorization: Bearer <secret>` itself (no Salt job, no
    event, no audit line), strips the `Authorization` and signature headers so that no
    credential reaches the event bus, and passes `X-Saltpipe-Proxy-Auth: <hex
    HMAC-SHA256(secret, "saltpipe-hook-proxy-v1")>` instead. The reactor checks that marker in
    constant time (HMAC both sides, hmac.compare_digest via hashutil.github_signature): a request
    that reached salt-api (loopback only) without passing the proxy is refused.

    Accepted: events with action `push`, a manifest media type, the configured repository,
    a tag that matches tag_pattern and a sha256 digest. The last accepted event of the
    envelope is handed off with its registry `timestamp` (the runner orders pushes by it)
    (the registry sends one per POST). Everything else logs a warning and hands the reason
    to `saltpipe.refused`, which audits it and fires `saltpipe/hook/<env>/refused`. -#}
{%- set cfg = salt['config.get']('saltpipe', {}) %}
{%- set hook = cfg.get('hook', {}) %}
{%- set env = cfg.get('environment', '') | string %}
{%- set secret = hook.get('secret', '') | string %}
{%- set manifest_types = hook.get('manifest_media_types', [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.index.v1+json']) %}
{%- set headers = data.get('headers') if data.get('headers') is mapping else {} %}
{%- set body = data.get('body') if data.get('body') is string else '' %}
{%- set post = data.get('post') if data.get('post') is mapping else {} %}
{%- set ns = namespace(reason='', accepted=None, notes=[]) %}
{%- set marker = headers.get('X-Saltpipe-Proxy-Auth', '') | string %}
{%- set expected_marker = salt['hashutil.hmac_compute']('saltpipe-hook-proxy-v1', secret) %}
{%- if secret | length < 16 or not env %}
{%-   set ns.reason = 'hook not configured (saltpipe:environment / saltpipe:hook:secret)' %}
{%- elif body | length > hook.get('max_body_bytes', 65536) | int %}
{%-   set ns.reason = 'body larger than ' ~ hook.get('max_body_bytes', 65536) ~ ' bytes' %}
{%- elif not marker | regex_match('^([0-9a-f]{64})\Z') %}
{%-   set ns.reason = 'not authenticated by the hook proxy' %}
{%- elif not salt['hashutil.github_signature'](marker, secret, 'sha256=' ~ salt['hashutil.hmac_compute'](expected_marker, secret)) %}
{%-   set ns.reason = 'bad hook proxy marker' %}
{%- endif %}
{%- if not ns.reason %}
{%-   set events = post.get('events') %}
{%-   if events is not sequence or events is string or events | length == 0 %}
{%-     set ns.reason = 'no events envelope' %}
{%-   else %}
{%-     for ev in events %}
{%-       set target = ev.get('target') if ev is mapping and ev.get('target') is mapping else {} %}
{%-       set ev_id = (ev.get('id', '') if ev is mapping else '') | string %}
{%-       set ev_tag = target.get('tag', '') | string %}
{%-       if not ev is mapping or ev.get('action') != 'push' %}
{%-         do ns.notes.append(ev_id ~ ': not a push') %}
{%-       elif target.get('mediaType') not in manifest_types %}
{%-         do ns.notes.append(ev_id ~ ': not a manifest (' ~ target.get('mediaType', '') ~ ')') %}
{%-       elif target.get('repository') != hook.get('repository') %}
{%-         do ns.notes.append(ev_id ~ ': repository ' ~ target.get('repository', '') ~ ' is not ' ~ hook.get('repository')) %}
{%-       elif not ev_tag | regex_match('^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})\Z') or ev_tag | regex_match(hook.get('tag_pattern', '^\Z')) is none %}
{%-         do ns.notes.append(ev_id[:128] ~ ': tag ' ~ ev_tag[:128] ~ ' is not for environment ' ~ env) %}
{%-       elif not target.get('digest', '') | string | regex_match('^(sha256:[0-9a-f]{64})\Z') %}
{%-         do ns.notes.append(ev_id[:128] ~ ': bad digest') %}
{%-       elif not ev_id | regex_match('^([A-Za-z0-9._:-]{1,128})\Z') %}
{%-         do ns.notes.append('bad event id') %}
{%-       else %}
{%-         set ev_ts = ev.get('timestamp', '') | string %}
{%-         set ev_ts = ev_ts if ev_ts | regex_match('^([0-9T:.+Z-]{10,40})\Z') else '' %}
{%-         set ns.accepted = {'environment': env, 'repository': target.repository, 'digest': target.digest,
                              'tag': ev_tag, 'event_id': ev_id, 'timestamp': ev_ts} %}
{%-       endif %}
{%-     endfor %}
{%-     if ns.accepted is none %}
{%-       set ns.reason = 'no accepted event: ' ~ ns.notes | join('; ') %}
{%-     endif %}
{%-   endif %}
{%- endif %}
{%- if ns.reason %}
{%-   do salt['log.warning']('saltpipe reactor: refused hook event ' ~ tag ~ ': ' ~ ns.reason[:300]) %}
{%-   if env | regex_match('^([A-Za-z0-9_-]{1,63})\Z') %}
saltpipe-reactor-registry-runner-saltpipe-refused:
  runner.saltpipe.refused:
    - args:
      - environment: {{ env | json }}
      - reason: {{ ns.reason[:300] | json }}
{%-   endif %}
{%- else %}
{%-   do salt['log.info']('saltpipe reactor: deploy ' ~ ns.accepted.digest ~ ' (' ~ ns.accepted.tag ~ ', event ' ~ ns.accepted.event_id ~ ') to ' ~ env) %}
{#- Straight to the runner (no orchestration in between): an orchestrate run builds a master
    minion (every execution module loaded) and renders an SLS per push - about half a second
    before the deploy starts, in the reactor's one process. The runner validates everything
    again itself (environment, digest, tag policy, registry check). #}
saltpipe-reactor-registry-runner-saltpipe-receive:
  runner.saltpipe.receive:
    - args:
      - environment: {{ env | json }}
      - digest: {{ ns.accepted.digest | json }}
      - repository: {{ ns.accepted.repository | json }}
      - tag: {{ ns.accepted.tag | json }}
      - event_id: {{ ns.accepted.event_id | json }}
      - timestamp: {{ ns.accepted.timestamp | json }}
{%- endif %}
