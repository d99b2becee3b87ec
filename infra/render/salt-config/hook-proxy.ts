/**
 * The master's webhook proxy: an nginx server in front of salt-api, the only way in for the
 * registry's notifications (see {@link renderHookProxyConfig}).
 */
import { createHmac } from "crypto";
import { checkPort } from "./format";
import {
  DEFAULT_HOOK_REFUSED_LOG,
  DEFAULT_MAX_BODY_BYTES,
  HOOK_PROXY_MARKER_HEADER,
  HOOK_URL_PATH,
  type TlsFiles,
} from "./shared";

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
    "# Generated by saltpipe (infra/render/salt-config/hook-proxy.ts). Do not edit: changes are overwritten.",
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
