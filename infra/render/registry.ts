/**
 * Config of the local registry (Debian's `docker-registry`, distribution 2.8): storage,
 * push notifications to the master's webhook with a bearer token, and the split between the
 * instance that takes pushes (htpasswd credentials) and the one minions pull from (read-only,
 * anonymous), both over the same storage.
 */
import { stringify } from "yaml";

export interface RegistryConfigOptions {
  /** Where notifications go, e.g. http://master:8443/hook/registry; none without it (events via SQS). */
  readonly notifyUrl?: string;
  /** Bearer token the reactor checks (the stack's webhook secret); required with `notifyUrl`. */
  readonly token?: string;
  /** How long the registry waits for the webhook before retrying (the hook answers in ms). */
  readonly timeout?: string;
  /** Require credentials from this htpasswd file (bcrypt) for every request: the push instance. */
  readonly htpasswdPath?: string;
  /** Refuse every write (distribution's read-only maintenance mode): the pull instance. */
  readonly readOnly?: boolean;
}

export const REGISTRY_CONFIG_PATH = "/etc/docker/registry/config.yml";
/** Where the hook's CA certificate is put in the registry container. */
export const REGISTRY_HOOK_CA_PATH = "/etc/docker/registry/hook-ca.pem";
/** Where the push instance's htpasswd file is put. */
export const REGISTRY_HTPASSWD_PATH = "/etc/docker/registry/htpasswd";

export function renderRegistryConfig(opts: RegistryConfigOptions): string {
  if (opts.notifyUrl && !opts.token) throw new Error("token: required with notifyUrl");
  if (opts.readOnly && (opts.notifyUrl || opts.htpasswdPath))
    throw new Error("readOnly: a read-only instance takes no pushes (no notifications, no credentials)");
  return stringify({
    version: 0.1,
    log: { level: "info", fields: { service: "registry" } },
    storage: {
      filesystem: { rootdirectory: "/var/lib/docker-registry" },
      delete: { enabled: true },
      ...(opts.readOnly ? { maintenance: { readonly: { enabled: true } } } : {}),
    },
    ...(opts.htpasswdPath
      ? { auth: { htpasswd: { realm: "saltpipe-registry", path: opts.htpasswdPath } } }
      : {}),
    http: { addr: ":5000", headers: { "X-Content-Type-Options": ["nosniff"] } },
    health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
    ...(opts.notifyUrl ? { notifications: notifications(opts.notifyUrl, opts.token!, opts.timeout) } : {}),
  });
}

function notifications(url: string, token: string, timeout?: string): Record<string, unknown> {
  return {
    endpoints: [
      {
        name: "salt-master",
        url,
        headers: { Authorization: [`Bearer ${token}`] },
        timeout: timeout ?? "2s",
        threshold: 5,
        backoff: "1s",
        // Only manifests mean a new image; layer (blob) events are noise for the reactor.
        ignoredmediatypes: ["application/octet-stream"],
        ignore: { actions: ["pull"] },
      },
    ],
  };
}
