/**
 * Ed25519 keys in the encodings terraform-provider-tls writes (Go's `x/crypto/ssh` and
 * `encoding/pem`), from the raw 32-byte seed and public key that node:crypto generates:
 *   - the public key in authorized_keys form (`ssh-ed25519 AAAA…\n`, as `ssh.MarshalAuthorizedKey`);
 *   - the private key in the OpenSSH v1 container (`ssh.MarshalPrivateKey` with no
 *     passphrase: cipher and kdf "none", one key, equal check words, empty comment, padding
 *     1, 2, 3… to the 8-byte block) inside a PEM block of 64-character lines;
 *   - the OpenSSH fingerprints (`ssh.FingerprintLegacyMD5`, `ssh.FingerprintSHA256`).
 * Written here rather than by ssh2's generator, which drops a leading zero byte of the public
 * key in about 1 of 256 keys (see test/support/ssh-keys.ts).
 */
import { createHash, randomBytes } from "node:crypto";

const ED25519 = "ssh-ed25519";

/** An SSH wire-format string: uint32 length, then the bytes. */
function sshString(data: Buffer | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** The public key blob (`string "ssh-ed25519", string pub`), the bytes fingerprints hash. */
export function publicKeyBlob(publicKey: Buffer): Buffer {
  if (publicKey.length !== 32) throw new Error(`an ed25519 public key has 32 bytes, not ${publicKey.length}`);
  return Buffer.concat([sshString(ED25519), sshString(publicKey)]);
}

export function authorizedKey(publicKey: Buffer): string {
  return `${ED25519} ${publicKeyBlob(publicKey).toString("base64")}\n`;
}

/** Go's `pem.EncodeToMemory`: base64 in lines of 64 characters, a newline after the END line. */
export function pem(type: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

export function opensshPrivateKey(seed: Buffer, publicKey: Buffer, comment = ""): string {
  if (seed.length !== 32) throw new Error(`an ed25519 seed has 32 bytes, not ${seed.length}`);
  const check = randomBytes(4);
  let section = Buffer.concat([
    check,
    check,
    sshString(ED25519),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const pad = (8 - (section.length % 8)) % 8;
  section = Buffer.concat([section, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    count,
    sshString(publicKeyBlob(publicKey)),
    sshString(section),
  ]);
  return pem("OPENSSH PRIVATE KEY", body);
}

export function fingerprintMd5(publicKey: Buffer): string {
  const hex = createHash("md5").update(publicKeyBlob(publicKey)).digest("hex");
  return hex.match(/../g)!.join(":");
}

export function fingerprintSha256(publicKey: Buffer): string {
  const digest = createHash("sha256").update(publicKeyBlob(publicKey)).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}
