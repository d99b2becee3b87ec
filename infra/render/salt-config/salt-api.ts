/** salt-api's `master.d/saltpipe-api.conf`: rest_cherrypy on loopback, with the webhook. */
import { stringify } from "yaml";
import { checkPort, header } from "./format";
import { DEFAULT_MAX_BODY_BYTES, type TlsFiles } from "./shared";

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
    header(
      "salt-api: rest_cherrypy on loopback; /hook is reached only through the hook proxy.",
      "infra/render/salt-config/salt-api.ts",
    ) + stringify({ rest_cherrypy: rest })
  );
}
