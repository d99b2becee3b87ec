/**
 * The seed's deploy, rebuilt as a bench-only variant installed on a bench master at run time
 * (the committed salt-states are not touched): the reactor runs a full `state.highstate` on
 * every minion of the environment for each pushed manifest — no orchestration, no rolling
 * batches, no health gate, no verification — and the highstate pulls the image, replaces the
 * app container in place (the seed's `dockerng.running` with `force: True`) and points nginx
 * at it. Modelled on gravyboat/docka-docka-docka (docka-salt/srv/reactor/deploy-*.sls,
 * docka-salt/srv/salt/docker/docka.sls), on our own docker and proxy formulas.
 */

const BENCH_ROOT = "/srv/saltpipe/bench";
const MASTER_CONF = "/etc/salt/master.d/saltpipe.conf";
/** Port of the seed's single app container on each minion (not a blue/green slot). */
const SEED_PORT = 18089;

/** Highstate's top file: our docker and proxy formulas, plus the seed's app. */
const TOP_SLS = `# bench only (bench/lib/seed.ts): the seed's highstate = engine + proxy + app.
base:
  'G@roles:app':
    - match: compound
    - docker
    - proxy
    - seedapp
`;

/** The seed's app: pull, force-recreate the one container, point nginx at it. No health gate. */
const APP_SLS = `# bench only (bench/lib/seed.ts): the seed's app deploy, run by every highstate.
{%- set request = salt['pillar.get']('saltpipe_deploy', {}) %}
{%- set server = salt['pillar.get']('app:registry:server', '') %}
{%- set repository = salt['pillar.get']('app:registry:repository', '') %}
{%- set image = (server ~ '/' if server else '') ~ repository ~ '@' ~ request.get('digest', '') %}
{%- if request.get('digest', '') | regex_match('^(sha256:[0-9a-f]{64})$') %}
seedapp-image-present:
  cmd.run:
    - name: docker pull -q {{ image }}

seedapp-container-running-force:
  cmd.run:
    - name: docker rm -f app-seed >/dev/null 2>&1; docker run -d --name app-seed -p 127.0.0.1:${SEED_PORT}:8080 {{ image }}
    - require:
      - cmd: seedapp-image-present

seedapp-upstream:
  file.managed:
    - name: /etc/nginx/saltpipe/app-upstream.conf
    - contents: |
        upstream app {
            server 127.0.0.1:${SEED_PORT};
        }
    - require:
      - cmd: seedapp-container-running-force

seedapp-nginx-reload:
  cmd.run:
    - name: nginx -s reload
    - require:
      - file: seedapp-upstream
{%- endif %}
`;

/** The seed's reactor: one highstate of the whole environment per pushed manifest. */
const REACTOR_SLS = `# bench only (bench/lib/seed.ts): the seed's reactor.
{%- set post = data.get('post') if data.get('post') is mapping else {} %}
{%- set ns = namespace(accepted=None) %}
{%- for ev in post.get('events', []) if ev is mapping and ev.get('action') == 'push' %}
{%-   set target = ev.get('target') if ev.get('target') is mapping else {} %}
{%-   if 'manifest' in target.get('mediaType', '') | string and target.get('tag') %}
{%-     set ns.accepted = {'digest': target.get('digest', '') | string, 'tag': target.get('tag') | string} %}
{%-   endif %}
{%- endfor %}
{%- if ns.accepted %}
bench-seed-local-state-highstate:
  local.state.highstate:
    - tgt: 'G@environment:{{ environment }} and G@roles:app'
    - tgt_type: compound
    - args:
      - pillar:
          saltpipe_deploy: {{ ns.accepted | json }}
{%- endif %}
`;

function heredoc(path: string, text: string): string {
  const b64 = Buffer.from(text, "utf8").toString("base64");
  return `echo '${b64}' | base64 -d > ${path}`;
}

/**
 * Shell script for the master: writes the seed's reactor and states under /srv/saltpipe/bench,
 * points the hook's reactor at it and puts the bench top file first in file_roots (a copy of
 * the rendered config is kept as .bench-orig). Restarting the master is the caller's job.
 * An override file in master.d would not do: Salt merges list values across master.d files,
 * so our reactor would still run beside the seed's.
 */
export function installSeedScript(environment: string): string {
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(environment)) throw new Error(`bad environment ${environment}`);
  return [
    "set -euo pipefail",
    `mkdir -p ${BENCH_ROOT}/salt/seedapp ${BENCH_ROOT}/reactor`,
    heredoc(`${BENCH_ROOT}/salt/top.sls`, TOP_SLS),
    heredoc(`${BENCH_ROOT}/salt/seedapp/init.sls`, APP_SLS),
    heredoc(`${BENCH_ROOT}/reactor/seed.sls`, REACTOR_SLS.replace("{{ environment }}", environment)),
    `conf=${MASTER_CONF}`,
    `[ -f "$conf.bench-orig" ] || cp -p "$conf" "$conf.bench-orig"`,
    `sed -i 's|^\\(\\s*- \\)/srv/saltpipe/salt-states/reactor/registry.sls$|\\1${BENCH_ROOT}/reactor/seed.sls|' "$conf"`,
    `grep -q '${BENCH_ROOT}/reactor/seed.sls$' "$conf"`,
    `grep -q '^\\s*- ${BENCH_ROOT}/salt$' "$conf" || sed -i '0,/^\\(\\s*- \\)\\/srv\\/saltpipe\\/salt-states\\/salt$/s||\\1${BENCH_ROOT}/salt\\n&|' "$conf"`,
    `grep -q '^\\s*- ${BENCH_ROOT}/salt$' "$conf"`,
  ].join("\n");
}

/** Shell script for the master: sets the rolling batch in the rendered config (restart is the caller's job). */
export function setBatchScript(batch: string): string {
  if (!/^[1-9][0-9]{0,4}%?$/.test(batch)) throw new Error(`bad batch ${batch}`);
  return [
    "set -euo pipefail",
    `conf=${MASTER_CONF}`,
    `sed -i 's|^\\(\\s*batch: \\).*$|\\1"${batch}"|' "$conf"`,
    `grep -q '^\\s*batch: "${batch}"$' "$conf"`,
  ].join("\n");
}
