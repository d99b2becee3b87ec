/**
 * SSH host-key pinning against a real sshd: the command stand-in verifies `hostKey` exactly as
 * the real plugin does (parse like Go's ssh.ParseAuthorizedKey, offer only that key's algorithm,
 * accept only that key, a mismatch is a failed dial), and the program's own key-exchange check.
 */
import * as fs from "node:fs";
import { utils as sshUtils } from "ssh2";
import { resourceTypes } from "../../tools/standins/command/main";
import { HOST_KEY_MISMATCH } from "../../tools/standins/command/ssh";
import { makeProvider } from "../../tools/standins/lib/provider";
import { Props } from "../../tools/standins/lib/wire";
import { assertHostKey, checkHostKey, HostKeyChangedError } from "../../infra/ssh/host-key";
import { sshdConnection, startSshd, TestSshd } from "./support/sshd";
import { ed25519KeyPair } from "../support/ssh-keys";

const provider = makeProvider("1.2.1", resourceTypes);
const REMOTE = "urn:pulumi:test::saltpipe::command:remote:Command::cmd";

let sshd: TestSshd;
const marker = `/tmp/saltpipe-host-key-${process.pid}`;
const otherEd25519 = ed25519KeyPair().public;
const otherEcdsa = sshUtils.generateKeyPairSync("ecdsa", { bits: 256 }).public;

const connection = (hostKey: string, extra: Props = {}) => sshdConnection(sshd, { hostKey, ...extra });

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(marker, { force: true });
});
beforeEach(() => fs.rmSync(marker, { force: true }));

describe("command:remote:Command with hostKey", () => {
  it("runs against the pinned key (with a comment or a host field before it)", async () => {
    for (const hostKey of [
      sshd.hostKey,
      `${sshd.hostKey} root@host`,
      `[127.0.0.1]:${sshd.port} ${sshd.hostKey}`,
    ]) {
      const { outs } = await provider.create!(REMOTE, {
        connection: connection(hostKey),
        create: `echo ran > ${marker}; echo ok`,
      });
      expect(outs.stdout).toBe("ok");
    }
    expect(fs.readFileSync(marker, "utf8")).toBe("ran\n");
  });

  it("another key of the same type: the real plugin's mismatch error, retried, and the command never runs", async () => {
    const start = Date.now();
    await expect(
      provider.create!(REMOTE, { connection: connection(otherEd25519), create: `echo ran > ${marker}` }),
    ).rejects.toThrow(new RegExp(`failed 2 times: ${HOST_KEY_MISMATCH}$`));
    expect(Date.now() - start).toBeGreaterThanOrEqual(1000); // one retry delay: it was dialled twice
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("only the pinned key's algorithm is offered: an ecdsa pin fails against an ed25519-only host", async () => {
    await expect(
      provider.create!(REMOTE, {
        connection: connection(otherEcdsa, { dialErrorLimit: 1 }),
        create: `echo ran > ${marker}`,
      }),
    ).rejects.toThrow(/failed 1 times: .*(host key|no matching)/i);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it("a text that holds no key fails before dialing, as `failed to parse host key`", async () => {
    const start = Date.now();
    await expect(
      provider.create!(REMOTE, {
        connection: connection("not a key", { dialErrorLimit: 10 }),
        create: `echo ran > ${marker}`,
      }),
    ).rejects.toThrow("failed to parse host key: ssh: no key found");
    expect(Date.now() - start).toBeLessThan(1000);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe("the program's host-key check (key exchange only)", () => {
  it("matches the pinned key, tells a changed one, and passes an unreachable host", async () => {
    const endpoint = { host: sshd.host, port: sshd.port };
    expect(await checkHostKey(endpoint, sshd.hostKey)).toEqual({ result: "match" });
    expect(await checkHostKey(endpoint, otherEd25519)).toEqual({
      result: "changed",
      presented: expect.stringMatching(/^ssh-ed25519 SHA256:/),
    });
    await expect(assertHostKey("minion-9", endpoint, otherEd25519)).rejects.toThrow(HostKeyChangedError);
    await expect(assertHostKey("minion-9", endpoint, otherEd25519)).rejects.toThrow(
      `SSH host key of host "minion-9" (127.0.0.1:${sshd.port}) changed`,
    );
    await expect(
      assertHostKey("gone", { host: "127.0.0.1", port: 1 }, sshd.hostKey),
    ).resolves.toBeUndefined();
  });
});
