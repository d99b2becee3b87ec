/**
 * Salt master, minion and salt-api configuration, and the master's webhook proxy (nginx).
 *
 * Pure functions: no Pulumi, no I/O. Secrets arrive as plain strings; the caller wraps the
 * returned text in a Pulumi secret (the master config holds the webhook secret).
 *
 * Webhook path (see salt-states/README.md): registry → nginx on the master (`hookPort`,
 * TLS when a certificate is given, POST only, body capped, rate-limited, `Content-Type`
 * forced to `application/json`) → salt-api `rest_cherrypy` `/hook/saltpipe/registry` on
 * 127.0.0.1:`apiPort` (`webhook_disable_auth`: the reactor verifies every request) → event
 * `salt/netapi/hook/saltpipe/registry` → reactor → `runner.saltpipe.receive`.
 */
import { createHmac } from "crypto";
import { stringify } from "yaml";
import type { EnvironmentSpec } from "../config/spec";

/** Where the whole `salt-states/` folder is uploaded on the master. */
export const DEFAULT_SALT_STATES_DIR = "/srv/saltpipe/salt-states";
/** Generated pillar (`saltpipe.sls`, see salt-pillar.ts) on the master. */
export const DEFAULT_PILLAR_DIR = "/srv/saltpipe/pillar";
export const DEFAULT_MASTER_CONFIG_PATH = "/etc/salt/master.d/saltpipe.conf";
export const DEFAULT_SALT_API_CONFIG_PATH = "/etc/salt/master.d/saltpipe-api.conf";
export const DEFAULT_MINION_CONFIG_PATH = "/etc/salt/minion.d/saltpipe.conf";
/** nginx server for the webhook on the master (included in nginx's `http` context). */
export const DEFAULT_HOOK_PROXY_CONFIG_PATH = "/etc/nginx/conf.d/saltpipe-hook.conf";
/** URL path the registry posts to (on the hook proxy and on salt-api alike). */
export const HOOK_URL_PATH = "/hook/saltpipe/registry";
/** Event tag salt-api fires for a POST to {@link HOOK_URL_PATH}. */
export const HOOK_EVENT_TAG = "salt/netapi/hook/saltpipe/registry";
/** Event tag of a minion that (re)started: it converges to the current digest. */
export const MINION_START_EVENT_TAG = "salt/minion/*/start";
/** Header carrying the HMAC-SHA256 of an outcome notification's body (`sha256=<hex>`). */
export const NOTIFY_SIGNATURE_HEADER = "X-Saltpipe-Signature";
/** Largest notification body accepted (the registry sends one small event per POST). */
export const DEFAULT_MAX_BODY_BYTES = 65536;
/** One line per request the hook proxy refused (folded into counts by the master's reconcile pass). */
export const DEFAULT_HOOK_REFUSED_LOG = "/var/log/nginx/saltpipe-hook-refused.log";
/** Header the hook proxy sets on requests it authenticated (the reactor checks it). */
export const HOOK_PROXY_MARKER_HEADER = "X-Saltpipe-Proxy-Auth";
/** A bearer token as RFC 6750 allows it (token68): what nginx can compare literally. */
const BEARER_TOKEN_RE = /^[A-Za-z0-9._~+/-]+=*$/;

/**
 * The marker the hook proxy passes to salt-api instead of the bearer token: hex
 * HMAC-SHA256(webhookSecret, "saltpipe-hook-proxy-v1"). It proves the request went through
 * the proxy without putting the token itself on the Salt event bus.
 */
export function hookProxyMarker(webhookSecret: string): string {
  return createHmac("sha256", webhookSecret).update("saltpipe-hook-proxy-v1").digest("hex");
}
/** Event tags the states fire (documented in salt-states/README.md). */
export const EVENT_TAGS = {
  refused: (env: string) => `saltpipe/hook/${env}/refused`,
  start: (env: string) => `saltpipe/deploy/${env}/start`,
  skipped: (env: string) => `saltpipe/deploy/${env}/skipped`,
  ignored: (env: string) => `saltpipe/deploy/${env}/ignored`,
  queued: (env: string) => `saltpipe/deploy/${env}/queued`,
  pendingApproval: (env: string) => `saltpipe/deploy/${env}/pending-approval`,
  approvalExpired: (env: string) => `saltpipe/deploy/${env}/approval-expired`,
  rejected: (env: string) => `saltpipe/deploy/${env}/rejected`,
  outcome: (env: string) => `saltpipe/deploy/${env}/outcome`,
} as const;

/** Deploy lifecycle settings of the master (see salt-states/README.md, "Deploy lifecycle"). */
export interface LifecycleOptions {
  /** `exact:<tag>`, `glob:<pattern>`, `semver:<range>`; empty: every tag of the environment. */
  readonly tagPolicy?: string;
  readonly approval?: { readonly required: boolean; readonly expiresMinutes: number };
  /** argv run from the new image on one minion before traffic moves. */
  readonly preSwitch?: { readonly command: readonly string[]; readonly timeoutSeconds: number };
  readonly notify?: {
    readonly urls: readonly string[];
    /** HMAC-SHA256 key of the notifications (≥ 16 characters when URLs are given). */
    readonly secret: string;
    readonly timeoutSeconds: number;
    readonly retries: number;
  };
  /** Interval of the master's reconcile engine, in seconds (default 30). */
  readonly reconcileSeconds?: number;
}

export interface TlsFiles {
  /** PEM certificate (chain) path on the master. */
  readonly certFile: string;
  /** PEM private key path on the master. */
  readonly keyFile: string;
}

export interface MasterConfigOptions {
  /** Environment this master deploys (grain `environment` of its minions). */
  readonly environment: string;
  /** Address the master's publish/return ports bind to (default `0.0.0.0`). */
  readonly interface?: string;
  readonly publishPort: number;
  readonly retPort: number;
  /** Shared secret of the registry notifications (bearer token and HMAC key); ≥ 16 chars. */
  readonly webhookSecret: string;
  /** Repository whose pushes deploy (e.g. `saltpipe/app`). */
  readonly repository: string;
  /**
   * Python regex a pushed tag must match to be this environment's (default
   * {@link defaultTagPattern}: `<environment>` or `<environment>-<anything>`).
   */
  readonly tagPattern?: string;
  /** Rolling batch: `"1"`, `"2"`, `"50%"`. */
  readonly batch: string;
  /** Role grain of the minions that run the app (default `app`). */
  readonly role?: string;
  /** Seconds the rollout waits for one batch's state run (default 300). */
  readonly deployTimeoutSeconds?: number;
  readonly maxBodyBytes?: number;
  /** Where `salt-states/` lives on the master (default {@link DEFAULT_SALT_STATES_DIR}). */
  readonly statesDir?: string;
  /** Where the generated pillar lives (default {@link DEFAULT_PILLAR_DIR}). */
  readonly pillarDir?: string;
  /** Salt `root_dir` (tests point it into a temporary directory). */
  readonly rootDir?: string;
  /** Tag policy, approval gate, pre-switch step, notifications, reconcile interval. */
  readonly lifecycle?: LifecycleOptions;
  /**
   * Minion ids that run the app: the only ones that get the pillar (with the registry
   * password) and deploys. Targeting is by id (proven by the minion's key), not by grain.
   */
  readonly appMinions?: readonly string[];
  /** How the master verifies a push with the registry before any minion job. */
  readonly registry?: RegistryCheckOptions;
  /** The hook proxy's refusal log ({@link DEFAULT_HOOK_REFUSED_LOG}). */
  readonly refusedLog?: string;
  /** Event timestamps further than this past the master's clock are refused (default 300). */
  readonly maxClockSkewSeconds?: number;
  /**
   * Test harness only (the real-Salt suite): state runs are plans (`test=True`) and count as
   * deployed. Never on a host: deploys otherwise always run with `test=False`.
   */
  readonly planOnly?: boolean;
  /** Extra master options, merged last (e.g. `log_level`). Cannot turn on auto_accept/open_mode. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * The registry the master asks before a deploy (`saltpipe_core/registry.py`):
 * `http` = the Docker Registry HTTP API v2 at `url` (anonymous, or Basic with
 * username/password); `ecr` = the ECR API with the master's instance role (its client is
 * registered by the AWS event path).
 */
export interface RegistryCheckOptions {
  readonly kind: "http" | "ecr";
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  readonly region?: string;
}

const ENV_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const BATCH_RE = /^[1-9][0-9]{0,4}%?$/;

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}: invalid port ${port}`);
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Any Docker tag: with a tag policy, the runner (not the reactor) decides, and records why. */
export const ANY_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\\Z";

/** Tags of an environment: `dev`, `dev-<anything>` (e.g. `dev-1a2b3c4`, the git sha). */
export function defaultTagPattern(environment: string): string {
  return `^${escapeRegex(environment)}(-[A-Za-z0-9_.-]+)?\\Z`;
}

function header(what: string): string {
  return `# ${what}\n# Generated by saltpipe (infra/render/salt-config.ts). Do not edit: changes are overwritten.\n`;
}

const FORBIDDEN_EXTRA = [
  "auto_accept",
  "open_mode",
  "autosign_file",
  "autosign_grains_dir",
  "autoreject_file",
  // Would hand the whole master config (webhook secret, notify secret) to every minion as pillar.
  "pillar_opts",
];
const MINION_ID_OK =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;

/** The master's `master.d/saltpipe.conf`: roots, reactor, runner, hook settings. */
export function renderMasterConfig(o: MasterConfigOptions): string {
  if (!ENV_RE.test(o.environment))
    throw new Error(`environment: invalid name ${JSON.stringify(o.environment)}`);
  if (!REPO_RE.test(o.repository)) throw new Error(`repository: invalid ${JSON.stringify(o.repository)}`);
  if (!BATCH_RE.test(o.batch))
    throw new Error(`batch: want a count or a percentage, got ${JSON.stringify(o.batch)}`);
  if (o.webhookSecret.length < 16) throw new Error("webhookSecret: at least 16 characters");
  checkPort("publishPort", o.publishPort);
  checkPort("retPort", o.retPort);
  for (const key of Object.keys(o.extra ?? {})) {
    if (key === "pillar_opts")
      throw new Error(
        "extra: pillar_opts may not be set (it would give every minion the master config and its secrets)",
      );
    if (FORBIDDEN_EXTRA.includes(key)) throw new Error(`extra: ${key} may not be set (keys are pre-seeded)`);
  }
  for (const id of o.appMinions ?? [])
    if (!MINION_ID_OK.test(id)) throw new Error(`appMinions: invalid minion id ${JSON.stringify(id)}`);
  if (o.registry?.kind === "http" && !/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/.test(o.registry.url ?? ""))
    throw new Error(`registry.url: want http[s]://host[:port], got ${JSON.stringify(o.registry.url)}`);
  const states = o.statesDir ?? DEFAULT_SALT_STATES_DIR;
  const pillar = o.pillarDir ?? DEFAULT_PILLAR_DIR;
  const life = o.lifecycle ?? {};
  const notify = life.notify;
  if (notify && notify.urls.length > 0 && notify.secret.length < 16)
    throw new Error("notify.secret: at least 16 characters when notify.urls is set");
  if (life.preSwitch && life.preSwitch.command.length === 0)
    throw new Error("preSwitch.command: an argv list with at least the program");
  const config: Record<string, unknown> = {
    ...(o.rootDir ? { root_dir: o.rootDir } : {}),
    interface: o.interface ?? "0.0.0.0",
    publish_port: o.publishPort,
    ret_port: o.retPort,
    // Keys are pre-seeded by the pipeline; nothing is accepted automatically.
    auto_accept: false,
    open_mode: false,
    file_roots: { base: [`${states}/salt`, states] },
    pillar_roots: { base: [`${states}/pillar`, pillar] },
    runner_dirs: [`${states}/salt/_runners`],
    engines_dirs: [`${states}/salt/_engines`],
    reactor: [
      { [HOOK_EVENT_TAG]: [`${states}/reactor/registry.sls`] },
      { [MINION_START_EVENT_TAG]: [`${states}/reactor/minion-start.sls`] },
    ],
    // Start-up reconciliation and the periodic drift / expiry / outbox check; and the
    // operator command's requests (no Salt process per `saltpipe rollback|status|…`).
    engines: [
      { saltpipe_reconcile: { interval: life.reconcileSeconds ?? 30, startup_wait: 60 } },
      { saltpipe_operator: {} },
    ],
    saltpipe: {
      environment: o.environment,
      minions: [...(o.appMinions ?? [])],
      hook: {
        secret: o.webhookSecret,
        repository: o.repository,
        tag_pattern: o.tagPattern ?? (life.tagPolicy ? ANY_TAG_PATTERN : defaultTagPattern(o.environment)),
        max_body_bytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        refused_log: o.refusedLog ?? DEFAULT_HOOK_REFUSED_LOG,
      },
      registry: registryCheck(o.registry),
      deploy: {
        batch: o.batch,
        max_clock_skew: o.maxClockSkewSeconds ?? 300,
        ...(o.planOnly ? { plan_only: true } : {}),
        role: o.role ?? "app",
        timeout: o.deployTimeoutSeconds ?? 300,
        tag_policy: life.tagPolicy ?? "",
        approval: {
          required: life.approval?.required ?? false,
          expires_minutes: life.approval?.expiresMinutes ?? 60,
        },
        ...(life.preSwitch
          ? { pre_switch: { command: [...life.preSwitch.command], timeout: life.preSwitch.timeoutSeconds } }
          : {}),
      },
      notify: {
        urls: [...(notify?.urls ?? [])],
        secret: notify?.secret ?? "",
        timeout: notify?.timeoutSeconds ?? 5,
        retries: notify?.retries ?? 3,
      },
    },
    ...(o.extra ?? {}),
  };
  return (
    header("Salt master: file/pillar roots, reactor, saltpipe hook and deploy settings (holds a secret).") +
    stringify(config)
  );
}

function registryCheck(r: RegistryCheckOptions | undefined): Record<string, unknown> {
  if (!r) return { kind: "" };
  return {
    kind: r.kind,
    ...(r.url ? { url: r.url } : {}),
    ...(r.username ? { username: r.username, password: r.password ?? "" } : {}),
    ...(r.region ? { region: r.region } : {}),
    timeout: 5,
  };
}

export interface SaltApiConfigOptions {
  /** Port salt-api listens on, on 127.0.0.1 only (the hook proxy is its only client). */
  readonly apiPort: number;
  /** When given, salt-api serves HTTPS with these files (the proxy then talks HTTPS to it). */
  readonly tls?: TlsFiles;
  readonly maxBodyBytes?: number;
}

/** `master.d/saltpipe-api.conf`: salt-api's rest_cherrypy with the webhook. */
export function renderSaltApiConfig(o: SaltApiConfigOptions): string {
  checkPort("apiPort", o.apiPort);
  const rest: Record<string, unknown> = {
    host: "127.0.0.1",
    port: o.apiPort,
    webhook_url: "/hook",
    // A registry cannot send a Salt token: the reactor verifies the bearer token / HMAC.
    webhook_disable_auth: true,
    max_request_body_size: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    thread_pool: 8,
  };
  if (o.tls) {
    rest.ssl_crt = o.tls.certFile;
    rest.ssl_key = o.tls.keyFile;
  } else {
    // Plain HTTP only on loopback, behind the hook proxy.
    rest.disable_ssl = true;
  }
  return (
    header("salt-api: rest_cherrypy on loopback; /hook is reached only through the hook proxy.") +
    stringify({ rest_cherrypy: rest })
  );
}

export interface HookProxyOptions {
  /** Port the registry posts to. */
  readonly hookPort: number;
  /** Address to listen on (default all). */
  readonly listenAddress?: string;
  readonly apiPort: number;
  /**
   * The registry's bearer token (the stack's `webhookSecret`, token68 characters): the proxy
   * refuses every request without it. The rendered text holds it: write it 0600 (nginx's
   * master process reads its config as root; workers never read files).
   */
  readonly webhookSecret: string;
  /**
   * TLS on the hook port: the listener then speaks TLS only (a plain-HTTP request is
   * answered 400 and never reaches salt-api). Every environment's hook has it; only the
   * Salt suite's loopback harness runs without.
   */
  readonly tls?: TlsFiles;
  /** salt-api itself serves HTTPS (default: plain HTTP on loopback behind this proxy). */
  readonly apiTls?: boolean;
  readonly maxBodyBytes?: number;
  /** Requests per second: per client address unauthenticated, in all for authenticated ones. */
  readonly ratePerSecond?: number;
  /** Concurrent unauthenticated requests per client address (default 4). */
  readonly anonymousConnections?: number;
  /** Concurrent authenticated requests in all (default 16; salt-api runs 8 threads). */
  readonly authenticatedConnections?: number;
  /** Refusal log ({@link DEFAULT_HOOK_REFUSED_LOG}); one short line per refusal, no header. */
  readonly refusedLog?: string;
  /** The server's error log (default nginx's `/var/log/nginx/error.log`), at level `crit`. */
  readonly errorLog?: string;
}

/** The smallest power of two ≥ 64 that holds a map key of `length` bytes (plus nginx's overhead). */
function bucketSize(length: number): number {
  let size = 64;
  while (size < length + 16) size *= 2;
  return size;
}

/**
 * nginx server (for `conf.d`, i.e. inside `http {}`) in front of salt-api: the only way in.
 *
 * Unauthenticated requests cost nothing: a request without `Authorization: Bearer <token>`
 * gets 401 from nginx itself (no salt-api call, no Salt job, no event, no audit line), under
 * a per-address rate and connection limit (429 past them); each refusal is one line
 * (`<time> <status> <address>`) in the refusal log, which the master folds into counts.
 * Authenticated requests have their own (global) rate and connection limits, so a flood of
 * forged requests never delays a real push. The `Authorization` and signature headers are
 * stripped before salt-api (nothing secret reaches the event bus); salt-api gets
 * {@link HOOK_PROXY_MARKER_HEADER} instead, which the reactor checks. Also: sets
 * `Content-Type: application/json` (salt-api answers 406 to the registry's own type), caps
 * the body, allows POST on the hook path only, terminates TLS, and names no version
 * (`server_tokens off`: not in headers, not in error pages).
 *
 * The token is compared by nginx's `map` (a hash lookup of the whole header, then one
 * compare): no per-byte early exit an attacker could time. The access log format has no
 * header, and the server's error log is at `crit`, so neither ever holds the token nor a
 * line per refused request.
 */
export function renderHookProxyConfig(o: HookProxyOptions): string {
  checkPort("hookPort", o.hookPort);
  checkPort("apiPort", o.apiPort);
  if (o.webhookSecret.length < 16 || !BEARER_TOKEN_RE.test(o.webhookSecret))
    throw new Error(
      "webhookSecret: at least 16 characters, all of them bearer-token characters (letters, digits, - . _ ~ + /, trailing =)",
    );
  const max = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const rate = o.ratePerSecond ?? 20;
  const anonConn = o.anonymousConnections ?? 4;
  const authConn = o.authenticatedConnections ?? 16;
  const refusedLog = o.refusedLog ?? DEFAULT_HOOK_REFUSED_LOG;
  const listen = `${o.listenAddress ? `${o.listenAddress}:` : ""}${o.hookPort}${o.tls ? " ssl" : ""}`;
  const upstream = `${o.apiTls ? "https" : "http"}://127.0.0.1:${o.apiPort}`;
  const lines = [
    "# saltpipe webhook proxy: registry → salt-api /hook (see salt-states/README.md).",
    "# Generated by saltpipe (infra/render/salt-config.ts). Do not edit: changes are overwritten.",
    "# Holds the webhook token: mode 0600, root only.",
    // The map's hash buckets must hold the whole "Bearer <token>" key (nginx's default is 64).
    `map_hash_bucket_size ${bucketSize(`Bearer ${o.webhookSecret}`.length)};`,
    "map $http_authorization $saltpipe_hook_auth {",
    "    default 0;",
    // token68 only (checked above): nothing in it that nginx would read as quote, escape or variable.
    `    "Bearer ${o.webhookSecret}" 1;`,
    "}",
    // Empty keys are not counted: each zone sees only its own kind of request.
    'map $saltpipe_hook_auth $saltpipe_hook_anon_key { 1 ""; default $binary_remote_addr; }',
    'map $saltpipe_hook_auth $saltpipe_hook_auth_key { 1 "authenticated"; default ""; }',
    "map $status $saltpipe_hook_refused { ~^[45] 1; default 0; }",
    "log_format saltpipe_hook_refused '$time_iso8601 $status $remote_addr';",
    `limit_req_zone $saltpipe_hook_anon_key zone=saltpipe_hook_anon:1m rate=${rate}r/s;`,
    `limit_req_zone $saltpipe_hook_auth_key zone=saltpipe_hook_auth:64k rate=${rate}r/s;`,
    "limit_conn_zone $saltpipe_hook_anon_key zone=saltpipe_hook_anon_conn:1m;",
    "limit_conn_zone $saltpipe_hook_auth_key zone=saltpipe_hook_auth_conn:64k;",
    "",
    "server {",
    `    listen ${listen};`,
    "    server_name _;",
    "    server_tokens off;",
    ...(o.tls
      ? [
          `    ssl_certificate ${o.tls.certFile};`,
          `    ssl_certificate_key ${o.tls.keyFile};`,
          "    ssl_protocols TLSv1.2 TLSv1.3;",
          "    ssl_prefer_server_ciphers off;",
          "    ssl_session_cache shared:saltpipe_hook_tls:1m;",
        ]
      : []),
    `    client_max_body_size ${max};`,
    `    client_body_buffer_size ${max};`,
    "    client_header_timeout 5s;",
    "    client_body_timeout 10s;",
    "    keepalive_timeout 10s;",
    "    limit_req_status 429;",
    "    limit_conn_status 429;",
    "    limit_req_log_level info;",
    "    limit_conn_log_level info;",
    `    access_log ${refusedLog} saltpipe_hook_refused if=$saltpipe_hook_refused;`,
    `    error_log ${o.errorLog ?? "/var/log/nginx/error.log"} crit;`,
    "",
    `    location = ${HOOK_URL_PATH} {`,
    "        limit_except POST { deny all; }",
    `        limit_req zone=saltpipe_hook_anon burst=${rate} nodelay;`,
    `        limit_req zone=saltpipe_hook_auth burst=${rate * 5} nodelay;`,
    `        limit_conn saltpipe_hook_anon_conn ${anonConn};`,
    `        limit_conn saltpipe_hook_auth_conn ${authConn};`,
    // After the limits (preaccess) and the method check (access): 401 or on to salt-api. The
    // root does not exist, so the file check is one ENOENT stat and always falls through.
    "        root /nonexistent/saltpipe-hook;",
    "        try_files /no-such-file @saltpipe_hook_$saltpipe_hook_auth;",
    "    }",
    "",
    "    location @saltpipe_hook_0 {",
    "        return 401;",
    "    }",
    "",
    "    location @saltpipe_hook_1 {",
    '        proxy_set_header Authorization "";',
    '        proxy_set_header X-Saltpipe-Signature "";',
    '        proxy_set_header X-Hub-Signature-256 "";',
    `        proxy_set_header ${HOOK_PROXY_MARKER_HEADER} ${hookProxyMarker(o.webhookSecret)};`,
    "        proxy_set_header Content-Type application/json;",
    "        proxy_set_header Host $host;",
    "        proxy_set_header X-Forwarded-For $remote_addr;",
    // A named location passes the request URI unchanged: the exact HOOK_URL_PATH matched above.
    `        proxy_pass ${upstream};`,
    "        proxy_connect_timeout 2s;",
    "        proxy_read_timeout 10s;",
    "    }",
    "",
    "    location / {",
    "        return 404;",
    "    }",
    "}",
    "",
  ];
  return lines.join("\n");
}

export interface MinionConfigOptions {
  readonly id: string;
  /** Master address as the minion reaches it. */
  readonly master: string;
  readonly masterPort: number;
  readonly publishPort: number;
  readonly environment: string;
  readonly roles: readonly string[];
  readonly rootDir?: string;
  /** Extra minion options merged last (e.g. `test: true` for a dry-run minion). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const MINION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** A minion's `minion.d/saltpipe.conf`: master address, id, grains environment + roles. */
export function renderMinionConfig(o: MinionConfigOptions): string {
  if (!MINION_ID_RE.test(o.id)) throw new Error(`minion id: invalid ${JSON.stringify(o.id)}`);
  if (!ENV_RE.test(o.environment))
    throw new Error(`environment: invalid name ${JSON.stringify(o.environment)}`);
  if (!o.master) throw new Error("master: address required");
  checkPort("masterPort", o.masterPort);
  checkPort("publishPort", o.publishPort);
  for (const role of o.roles)
    if (!ENV_RE.test(role)) throw new Error(`roles: invalid role ${JSON.stringify(role)}`);
  const config: Record<string, unknown> = {
    ...(o.rootDir ? { root_dir: o.rootDir } : {}),
    id: o.id,
    master: o.master,
    master_port: o.masterPort,
    publish_port: o.publishPort,
    grains: { environment: o.environment, roles: [...o.roles] },
    // The key is pre-seeded; do not wait 10 s between retries while it is being accepted.
    acceptance_wait_time: 2,
    ...(o.extra ?? {}),
  };
  return header(`Salt minion ${o.id}: master address and grains.`) + stringify(config);
}

/** Master + salt-api + hook proxy options from the validated spec. */
export function masterConfigFromSpec(
  spec: EnvironmentSpec<unknown>,
  webhookSecret: string,
  opts: {
    statesDir?: string;
    pillarDir?: string;
    tls?: TlsFiles;
    /** The hook proxy's listener certificate (salt-api stays plain on loopback). */
    hookTls?: TlsFiles;
    tagPattern?: string;
    /** The `notifySecret` secret (plain; the caller keeps the result secret). */
    notifySecret?: string;
    /** How the master checks pushes with the registry (see {@link RegistryCheckOptions}). */
    registry?: RegistryCheckOptions;
  } = {},
): { master: string; api: string; hookProxy: string } {
  const d = spec.deploy;
  return {
    master: renderMasterConfig({
      appMinions: spec.minions.filter((m) => m.roles.includes("app")).map((m) => m.name),
      registry: opts.registry,
      environment: spec.environment,
      publishPort: spec.salt.publishPort,
      retPort: spec.salt.retPort,
      webhookSecret,
      repository: spec.registry.repository,
      tagPattern: opts.tagPattern,
      batch: spec.deploy.batch,
      deployTimeoutSeconds: Math.max(120, (spec.deploy.healthTimeoutSeconds + spec.deploy.drainSeconds) * 3),
      statesDir: opts.statesDir,
      pillarDir: opts.pillarDir,
      lifecycle: {
        tagPolicy: d.tagPolicy,
        approval: d.approval,
        preSwitch: d.preSwitch,
        notify: { ...d.notify, secret: opts.notifySecret ?? "" },
        reconcileSeconds: d.reconcileSeconds,
      },
    }),
    api: renderSaltApiConfig({ apiPort: spec.salt.apiPort, tls: opts.tls }),
    hookProxy: renderHookProxyConfig({
      hookPort: spec.salt.hookPort,
      apiPort: spec.salt.apiPort,
      webhookSecret,
      tls: opts.hookTls ?? opts.tls,
      apiTls: opts.tls !== undefined,
    }),
  };
}

/** One minion's config from the spec. */
export function minionConfigFromSpec(
  spec: EnvironmentSpec<unknown>,
  minionName: string,
  masterAddress: string,
): string {
  const minion = spec.minions.find((m) => m.name === minionName);
  if (!minion) throw new Error(`minion ${minionName}: not in the spec`);
  return renderMinionConfig({
    id: minion.name,
    master: masterAddress,
    masterPort: spec.salt.retPort,
    publishPort: spec.salt.publishPort,
    environment: spec.environment,
    roles: minion.roles,
  });
}
