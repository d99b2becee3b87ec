/**
 * Config of the local registry (Debian's `docker-registry`, distribution 2.8): storage,
 * and push notifications to the master's webhook with a bearer token.
 */
import { stringify } from "yaml";

export interface RegistryConfigOptions {
  /** Where notifications go, e.g. http://master:8443/hook/registry; none without it (events via SQS). */
  readonly notifyUrl?: string;
  /** Bearer token the reactor checks (the stack's webhook secret); required with `notifyUrl`. */
  readonly token?: string;
  /** How long the registry waits for the webhook before retrying (the hook answers in ms). */
  readonly timeout?: string;
}

export const REGISTRY_CONFIG_PATH = "/etc/docker/registry/config.yml";

export function renderRegistryConfig(opts: RegistryConfigOptions): string {
  if (opts.notifyUrl && !opts.token) throw new Error("token: required with notifyUrl");
  return stringify({
    version: 0.1,
    log: { level: "info", fields: { service: "registry" } },
    storage: { filesystem: { rootdirectory: "/var/lib/docker-registry" }, delete: { enabled: true } },
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
