/**
 * The secrets `sshPrivateKey`, `webhookSecret` and `notifySecret` (the registry's password is
 * checked with the registry, the hook's key with hookTls). A problem never echoes the value.
 */
import { utils as sshUtils } from "ssh2";
import type * as c from "../checks";
import { SECRET_KEYS } from "../keys";

export function publicKeyOf(p: c.Problems, privateKey: string | undefined): string {
  if (!privateKey) {
    p.add("sshPrivateKey", "is required (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)");
    return "";
  }
  const parsed = sshUtils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key instanceof Error || !key || !key.isPrivateKey()) {
    // Never echo the value: it is a secret.
    p.add("sshPrivateKey", "is not an unencrypted OpenSSH/PEM private key");
    return "";
  }
  return `${key.type} ${key.getPublicSSH().toString("base64")}`;
}

export function checkWebhookSecret(p: c.Problems, secret: string | undefined): void {
  if (!secret) {
    p.add(
      "webhookSecret",
      'is required (pulumi config set --secret webhookSecret "$(openssl rand -hex 32)")',
    );
  } else if (secret.length < 16) {
    p.add("webhookSecret", "is too short: use at least 16 characters (e.g. openssl rand -hex 32)");
  }
}

export function checkNotifySecret(p: c.Problems, secret: string | undefined, needed: boolean): void {
  if (needed && !secret) {
    p.add(
      "notifySecret",
      'is required when deploy.notify.urls is set (pulumi config set --secret notifySecret "$(openssl rand -hex 32)")',
    );
  } else if (secret !== undefined && secret.length < 16) {
    p.add("notifySecret", "is too short: use at least 16 characters (e.g. openssl rand -hex 32)");
  }
}

/** Secrets must come through `--secret`; the Pulumi shell removes them from `raw` when it reads them so. */
export function checkPlainSecrets(p: c.Problems, cfg: c.Raw): void {
  for (const key of SECRET_KEYS) {
    if (cfg[key] !== undefined) p.add(key, "must be set as a secret: pulumi config set --secret " + key);
  }
}
