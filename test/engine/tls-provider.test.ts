/**
 * The `tls` stand-in's PrivateKey, called the way the engine calls it: keys that OpenSSH itself
 * reads back (ssh-keygen -y of the private key gives the public key, -l gives the same
 * fingerprints), PEMs node:crypto parses, secret private outputs, replace on any input change.
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey, createPublicKey } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeProvider } from "../../tools/standins/lib/provider";
import { isSecret, Props, reveal } from "../../tools/standins/lib/wire";
import { resourceTypes } from "../../tools/standins/tls/main";

const provider = makeProvider("5.6.1", resourceTypes);
const URN = "urn:pulumi:test::saltpipe::tls:index/privateKey:PrivateKey::host-key";

let work: string;
beforeAll(() => {
  if (!fs.existsSync("/usr/bin/ssh-keygen"))
    throw new Error("the tls tests need ssh-keygen: apt-get install -y openssh-client");
  work = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-tls-"));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

async function createKey(inputs: Props = { algorithm: "ED25519" }) {
  const checked = await provider.check!(URN, {}, inputs);
  expect(checked.failures ?? []).toEqual([]);
  return provider.create!(URN, checked.inputs);
}

const keygen = (...args: string[]) => execFileSync("ssh-keygen", args, { encoding: "utf8" }).trim();

test("ED25519: OpenSSH reads the private key back and derives the same public key and fingerprints", async () => {
  for (let round = 0; round < 20; round++) {
    const { id, outs } = await createKey();
    const out = reveal<Record<string, string>>(outs);
    const file = path.join(work, `key-${round}`);
    fs.writeFileSync(file, out.privateKeyOpenssh, { mode: 0o600 });
    fs.writeFileSync(`${file}.pub`, out.publicKeyOpenssh);
    expect(out.publicKeyOpenssh).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43}\n$/);
    expect(`${keygen("-y", "-f", file)}\n`).toBe(out.publicKeyOpenssh);
    expect(keygen("-l", "-E", "sha256", "-f", `${file}.pub`)).toContain(out.publicKeyFingerprintSha256);
    expect(keygen("-l", "-E", "md5", "-f", `${file}.pub`)).toContain(`MD5:${out.publicKeyFingerprintMd5}`);
    expect(id).toMatch(/^[0-9a-f]{40}$/);
  }
});

test("PEM outputs: PKCS#8 private key (also privateKeyPem), SPKI public key, the same key pair", async () => {
  const out = reveal<Record<string, string>>((await createKey()).outs);
  expect(out.privateKeyPem).toBe(out.privateKeyPemPkcs8);
  expect(out.privateKeyPem).toMatch(
    /^-----BEGIN PRIVATE KEY-----\n[^\n]{1,64}\n-----END PRIVATE KEY-----\n$/,
  );
  const derived = createPublicKey(createPrivateKey(out.privateKeyPem)).export({
    type: "spki",
    format: "pem",
  });
  expect(derived).toBe(out.publicKeyPem);
});

test("the private key outputs are secret, the public ones are not; defaults as the real provider's", async () => {
  const { outs } = await createKey();
  for (const k of ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"])
    expect(isSecret(outs[k])).toBe(true);
  for (const k of ["publicKeyOpenssh", "publicKeyPem", "publicKeyFingerprintSha256"])
    expect(isSecret(outs[k])).toBe(false);
  expect(outs).toMatchObject({ algorithm: "ED25519", rsaBits: 2048, ecdsaCurve: "P224" });
});

test("any input change replaces; the same inputs are no change", async () => {
  const { outs } = await createKey();
  expect(
    await provider.diff!("id", URN, outs, { algorithm: "ED25519", rsaBits: 2048, ecdsaCurve: "P224" }),
  ).toMatchObject({
    changes: false,
  });
  const changed = await provider.diff!("id", URN, outs, {
    algorithm: "RSA",
    rsaBits: 2048,
    ecdsaCurve: "P224",
  });
  expect(changed).toMatchObject({ changes: true, replaces: ["algorithm"] });
});

test("check: an unknown algorithm is refused by name; RSA/ECDSA are not implemented and say so", async () => {
  await expect(provider.check!(URN, {}, { algorithm: "DSA" })).rejects.toThrow(
    /algorithm: value must be one of "RSA", "ECDSA", "ED25519"/,
  );
  await expect(provider.check!(URN, {}, { algorithm: "RSA" })).rejects.toThrow(
    /RSA is not supported by the offline stand-in/,
  );
});
