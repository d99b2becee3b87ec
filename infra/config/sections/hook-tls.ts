/**
 * `saltpipe:hookTls` and the secret `hookTlsKey`: the hook proxy's own certificate. Without
 * them the master makes one (infra/render/tls.ts).
 */
import * as c from "../checks";
import { HOOK_TLS_KEYS } from "../keys";
import type { HookTlsSpec } from "../spec";

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?/;

export function parseHookTls(
  p: c.Problems,
  value: unknown,
  key: string | undefined,
): HookTlsSpec | undefined {
  const s = c.object(p, "hookTls", value, HOOK_TLS_KEYS);
  if (value === undefined) {
    if (key !== undefined)
      p.add("hookTlsKey", "is only used with hookTls.certificate (set both, or neither)");
    return undefined;
  }
  const pem = (path: string, v: unknown): string => {
    const text = c.string(p, path, v);
    if (text && !PEM_CERT.test(text.trim() + "\n"))
      p.add(path, "expected a PEM certificate (-----BEGIN CERTIFICATE----- …)");
    return text.trim() + "\n";
  };
  const certificate = pem("hookTls.certificate", s.certificate);
  const ca = s.ca === undefined ? certificate : pem("hookTls.ca", s.ca);
  if (!key)
    p.add(
      "hookTlsKey",
      "is required with hookTls.certificate (pulumi config set --secret hookTlsKey < hook.key)",
    );
  else if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) p.add("hookTlsKey", "is not a PEM private key"); // never echo the value
  return { certificate, ca };
}
