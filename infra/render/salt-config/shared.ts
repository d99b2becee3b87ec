/**
 * What the Salt config renderers share: where the texts go on the hosts, the webhook's path
 * and event tags, the headers the hook proxy and the notifications use.
 */

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

export interface TlsFiles {
  /** PEM certificate (chain) path on the master. */
  readonly certFile: string;
  /** PEM private key path on the master. */
  readonly keyFile: string;
}
