import { utils as sshUtils } from "ssh2";
import {
  fingerprint,
  HostKeyChangedError,
  hostKeyProblem,
  parseHostKey,
  parseHostKeys,
  preferredHostKey,
} from "../host-key";
import { ed25519KeyPair } from "../../../test/support/ssh-keys";

const ed25519 = ed25519KeyPair("root@host").public;
const ecdsa = sshUtils.generateKeyPairSync("ecdsa", { bits: 256 }).public;
const rsa = sshUtils.generateKeyPairSync("rsa", { bits: 1024 }).public;
const bare = (line: string) => line.split(" ").slice(0, 2).join(" ");

describe("host keys", () => {
  test("a key line, a .pub file, keyscan and known_hosts lines all give `type base64`", () => {
    expect(parseHostKey(ed25519)?.line).toBe(bare(ed25519));
    expect(parseHostKey(`[127.0.0.1]:2222 ${ed25519}`)?.line).toBe(bare(ed25519));
    expect(parseHostKey(`# comment\n\n${bare(ecdsa)}`)?.type).toBe("ecdsa-sha2-nistp256");
    expect(parseHostKeys(`h ${rsa}\nh ${ecdsa}\nh ${ed25519}`).map((k) => k.type)).toEqual([
      "ssh-rsa",
      "ecdsa-sha2-nistp256",
      "ssh-ed25519",
    ]);
  });

  test("a type that does not match the key's own type, or garbage, is no key", () => {
    const [, blob] = ed25519.split(" ");
    expect(parseHostKey(`ssh-rsa ${blob}`)).toBeUndefined();
    expect(parseHostKey("ssh-ed25519 not-base64!")).toBeUndefined();
    expect(hostKeyProblem("hello")).toBe("is not an SSH public key line such as `ssh-ed25519 AAAA…`");
  });

  test("ed25519 is preferred, then ecdsa; rsa is never pinned", () => {
    expect(preferredHostKey(`h ${rsa}\nh ${ecdsa}\nh ${ed25519}`)).toBe(bare(ed25519));
    expect(preferredHostKey(`h ${rsa}\nh ${ecdsa}`)).toBe(bare(ecdsa));
    expect(() => preferredHostKey(`h ${rsa}`)).toThrow(/no pinnable SSH host key/);
    expect(hostKeyProblem(rsa)).toMatch(/^is a ssh-rsa key/);
  });

  test("fingerprints are OpenSSH's SHA256 form; a changed key names the host", () => {
    const key = parseHostKey(ed25519)!;
    expect(fingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    const error = new HostKeyChangedError(
      "minion-1",
      "127.0.0.1:2222",
      "ssh-ed25519 SHA256:a",
      "ssh-ed25519 SHA256:b",
    );
    expect(error.message).toMatch(
      /^SSH host key of host "minion-1" \(127\.0\.0\.1:2222\) changed: .*nothing was sent to it/,
    );
  });
});
