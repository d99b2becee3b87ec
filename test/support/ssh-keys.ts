import { utils as sshUtils } from "ssh2";

/**
 * An ed25519 key pair from ssh2's generator that ssh2 itself can read back.
 *
 * ssh2 1.17's ed25519 export strips every leading zero byte of the public key, not only
 * the BIT STRING's pad byte, so about 1 key in 256 comes out 31 bytes long and is refused
 * as malformed (by ssh2's own parser and by OpenSSH). A test that drew one failed at random;
 * drawing again until the pair parses removes the chance.
 */
export function ed25519KeyPair(comment?: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 100; attempt++) {
    const pair = sshUtils.generateKeyPairSync("ed25519", comment === undefined ? {} : { comment });
    // The private key embeds the public one, so reading it back catches every bad pair.
    if (!(sshUtils.parseKey(pair.private) instanceof Error)) return pair;
  }
  throw new Error("ssh2 gave no readable ed25519 key in 100 attempts");
}
