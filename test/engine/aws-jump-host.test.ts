/**
 * `connection.proxy` of the command stand-in as the AWS program uses it (a minion reached only
 * through the master): two private sshds, the target reachable only from the jump host's own
 * network (test/engine/support/jump-sshd.ts). A direct dial fails; through the jump host the
 * command runs and the copy lands on the target, each host checked against its own pinned key.
 */
import { specialAssetSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as fs from "node:fs";
import { resourceTypes } from "../../tools/standins/command/main";
import { makeProvider } from "../../tools/standins/lib/provider";
import { isSecret, secret, type Props } from "../../tools/standins/lib/wire";
import { startJumpSetup, type JumpSetup } from "./support/jump-sshd";

jest.setTimeout(120_000);

const provider = makeProvider("1.2.1", resourceTypes);
const urn = (type: string, name: string) => `urn:pulumi:test::saltpipe::${type}::${name}`;
const REMOTE = urn("command:remote:Command", "minion");
const COPY = urn("command:remote:CopyToRemote", "minion-file");

let setup: JumpSetup;
beforeAll(async () => {
  setup = await startJumpSetup();
});
afterAll(async () => {
  await setup?.stop();
});

/** The minion's connection: the target as the jump host sees it, with the jump host as proxy. */
function viaJump(target: Props = {}, proxy: Props = {}) {
  const { jump, target: t } = setup;
  return secret({
    host: t.host,
    port: t.port,
    user: t.user,
    privateKey: t.privateKey,
    hostKey: t.hostKey,
    dialErrorLimit: 2,
    perDialTimeout: 5,
    ...target,
    proxy: {
      host: jump.host,
      port: jump.port,
      user: jump.user,
      privateKey: jump.privateKey,
      hostKey: jump.hostKey,
      dialErrorLimit: 2,
      perDialTimeout: 5,
      ...proxy,
    },
  });
}

async function create(u: string, inputs: Props) {
  const checked = await provider.check!(u, {}, inputs);
  expect(checked.failures ?? []).toEqual([]);
  return provider.create!(u, checked.inputs);
}

test("the target does not answer a direct dial from this machine", async () => {
  const { target: t } = setup;
  const direct = secret({
    host: t.host,
    port: t.port,
    user: t.user,
    privateKey: t.privateKey,
    dialErrorLimit: 1,
    perDialTimeout: 3,
  });
  await expect(provider.create!(REMOTE, { connection: direct, create: "true" })).rejects.toThrow(
    /failed 1 times: .*ECONNREFUSED/,
  );
});

test("through the jump host the command runs on the target, and the connection stays secret", async () => {
  const { outs } = await create(REMOTE, { connection: viaJump(), create: "echo $SSH_CONNECTION" });
  // The session's server end is the target's port on the private network.
  expect(String(outs.stdout)).toMatch(
    new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${setup.target.port}$`),
  );
  expect(isSecret(outs.connection)).toBe(true);
});

test("a copy through the jump host lands on the target", async () => {
  const dest = `${setup.target.dir}/copied-through-jump.txt`;
  const source = { [specialSigKey]: specialAssetSig, text: "via the master" };
  await create(COPY, { connection: viaJump(), source, remotePath: dest });
  expect(fs.readFileSync(dest, "utf8")).toBe("via the master");
});

test("each host is checked against its own pinned key: the jump host's key for the target fails the handshake", async () => {
  await expect(
    provider.create!(REMOTE, { connection: viaJump({ hostKey: setup.jump.hostKey }), create: "true" }),
  ).rejects.toThrow(
    /^proxy: ssh: handshake with .* through proxy .* failed: ssh: handshake failed: ssh: host key mismatch/,
  );
  await expect(
    provider.create!(REMOTE, {
      connection: viaJump({}, { hostKey: setup.target.hostKey, dialErrorLimit: 1 }),
      create: "true",
    }),
  ).rejects.toThrow(
    /^proxy: ssh: dialing proxy .* failed 1 times: ssh: handshake failed: ssh: host key mismatch/,
  );
});
