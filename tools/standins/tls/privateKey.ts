/**
 * `tls:index/privateKey:PrivateKey`, as terraform-provider-tls (internal/provider/
 * resource_private_key.go, common_key.go) makes it: every input replaces (RequiresReplace on
 * algorithm, rsa_bits, ecdsa_curve); `rsaBits` defaults to 2048 and `ecdsaCurve` to P224
 * whatever the algorithm; the id is the SHA1 hex of the public key's DER; the key lives only in
 * the state (read, update and delete touch nothing). The private key outputs are secret, as
 * the SDK declares them.
 *
 * Only ED25519 is implemented (what saltpipe generates): for ED25519 `privateKeyPem` is the
 * PKCS#8 PEM, like `privateKeyPemPkcs8`.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import type { ResourceType } from "../lib/provider";
import { reveal } from "../lib/wire";
import { authorizedKey, fingerprintMd5, fingerprintSha256, opensshPrivateKey } from "./openssh";

interface PrivateKeyInputs {
  algorithm: string;
  rsaBits: number;
  ecdsaCurve: string;
}

const ALGORITHMS = ["RSA", "ECDSA", "ED25519"];
const PRIVATE_OUTPUTS = ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"];

export const privateKey: ResourceType<PrivateKeyInputs, PrivateKeyInputs> = {
  inputs: { algorithm: true, rsaBits: true, ecdsaCurve: true },
  outputs: [
    ...PRIVATE_OUTPUTS,
    "publicKeyOpenssh",
    "publicKeyPem",
    "publicKeyFingerprintMd5",
    "publicKeyFingerprintSha256",
  ],
  replaceOnChanges: ["algorithm", "rsaBits", "ecdsaCurve"],
  secretOutputs: () => PRIVATE_OUTPUTS,
  check(news) {
    const algorithm = reveal(news.algorithm);
    if (typeof algorithm !== "string" || !ALGORITHMS.includes(algorithm))
      throw new Error(
        `algorithm: value must be one of ${ALGORITHMS.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(algorithm)}`,
      );
    if (algorithm !== "ED25519")
      throw new Error(`algorithm ${algorithm} is not supported by the offline stand-in (ED25519 only)`);
    return { ...news, rsaBits: news.rsaBits ?? 2048, ecdsaCurve: news.ecdsaCurve ?? "P224" };
  },
  async create() {
    const { publicKey, privateKey: key } = generateKeyPairSync("ed25519");
    const jwk = key.export({ format: "jwk" });
    const seed = Buffer.from(jwk.d!, "base64url");
    const pub = Buffer.from(jwk.x!, "base64url");
    const pkcs8 = key.export({ format: "pem", type: "pkcs8" }).toString();
    const spki = publicKey.export({ format: "der", type: "spki" });
    return {
      id: createHash("sha1").update(spki).digest("hex"),
      outs: {
        privateKeyPem: pkcs8,
        privateKeyPemPkcs8: pkcs8,
        privateKeyOpenssh: opensshPrivateKey(seed, pub),
        publicKeyPem: publicKey.export({ format: "pem", type: "spki" }).toString(),
        publicKeyOpenssh: authorizedKey(pub),
        publicKeyFingerprintMd5: fingerprintMd5(pub),
        publicKeyFingerprintSha256: fingerprintSha256(pub),
      },
    };
  },
};
