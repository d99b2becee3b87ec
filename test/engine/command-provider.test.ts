/**
 * The `command` stand-in's resource logic against a real sshd, calling the provider the way
 * the engine does (wire-format properties: secrets and assets arrive tagged).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { specialAssetSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { resourceTypes } from "../../tools/standins/command/main";
import { makeProvider } from "../../tools/standins/lib/provider";
import { isSecret, Props, secret } from "../../tools/standins/lib/wire";
import { freePort, sshdConnection, startSshd, TestSshd } from "./support/sshd";

const provider = makeProvider("1.2.1", resourceTypes);
const urn = (type: string, name: string) => `urn:pulumi:test::saltpipe::${type}::${name}`;
const REMOTE = urn("command:remote:Command", "cmd");
const COPY = urn("command:remote:CopyToRemote", "copy");
const LOCAL = urn("command:local:Command", "local");

let sshd: TestSshd;
let connection: Props;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  connection = sshdConnection(sshd);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-cmd-"));
});
afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

async function create(u: string, inputs: Props) {
  const checked = await provider.check!(u, {}, inputs);
  expect(checked.failures ?? []).toEqual([]);
  return provider.create!(u, checked.inputs);
}

describe("command:remote:Command", () => {
  it("runs create over SSH, returns stdout/stderr less one trailing newline, keeps the connection secret", async () => {
    const { id, outs } = await create(REMOTE, {
      connection,
      create: "echo out; echo err >&2; echo -n $SALTPIPE_X",
      environment: { SALTPIPE_X: "y" },
    });
    expect(id).toMatch(/^cmd-/);
    expect(outs.stdout).toBe("out\ny");
    expect(outs.stderr).toBe("err");
    expect(isSecret(outs.connection)).toBe(true);
  });

  it("keeps stdout secret when the command is secret, and says nothing of it in errors", async () => {
    const { outs } = await create(REMOTE, { connection, create: secret("echo s3cr3t") });
    expect(outs.stdout).toEqual(secret("s3cr3t"));
    const failing = { connection, create: secret("echo s3cr3t; exit 3") };
    await expect(provider.create!(REMOTE, failing)).rejects.toThrow(
      /status 3: \(command and output are secret\)/,
    );
  });

  it("feeds stdin and fails with the status and output when the command fails", async () => {
    const { outs } = await create(REMOTE, { connection, create: "cat", stdin: "from stdin" });
    expect(outs.stdout).toBe("from stdin");
    await expect(provider.create!(REMOTE, { connection, create: "echo nope; exit 7" })).rejects.toThrow(
      /exited with status 7: running "echo nope; exit 7":\nnope/,
    );
  });

  it("update runs `update` (or `create` again) with the previous output in the environment", async () => {
    const olds = (await create(REMOTE, { connection, create: "echo first" })).outs;
    const viaUpdate = await provider.update!("id", REMOTE, olds, {
      connection,
      create: "echo first",
      update: 'echo "was $PULUMI_COMMAND_STDOUT"',
    });
    expect(viaUpdate.outs.stdout).toBe("was first");
    const viaCreate = await provider.update!("id", REMOTE, olds, { connection, create: "echo second" });
    expect(viaCreate.outs.stdout).toBe("second");
  });

  it("diff: triggers replace; commands, environment and connection update; equal inputs are no change", async () => {
    const olds = { connection, create: "a", triggers: ["h1"], stdout: "x", stderr: "" };
    expect(await provider.diff!("id", REMOTE, olds, { connection, create: "a", triggers: ["h1"] })).toEqual({
      changes: false,
      replaces: [],
    });
    expect(await provider.diff!("id", REMOTE, olds, { connection, create: "a", triggers: ["h2"] })).toEqual({
      changes: true,
      replaces: ["triggers"],
    });
    expect(await provider.diff!("id", REMOTE, olds, { connection, create: "b", triggers: ["h1"] })).toEqual({
      changes: true,
      replaces: [],
    });
    const moved = secret({ ...(connection.value as Props), port: 1 });
    expect(
      await provider.diff!("id", REMOTE, olds, { connection: moved, create: "a", triggers: ["h1"] }),
    ).toEqual({ changes: true, replaces: [] });
  });

  it("delete runs `delete` with the last output in the environment", async () => {
    const marker = `/tmp/saltpipe-delete-${process.pid}`;
    const { outs } = await create(REMOTE, {
      connection,
      create: "echo created",
      delete: `echo "$PULUMI_COMMAND_STDOUT" > ${marker}`,
    });
    await provider.delete!("id", REMOTE, outs);
    expect(fs.readFileSync(marker, "utf8")).toBe("created\n");
    fs.rmSync(marker);
  });

  it("checks the host key when one is given", async () => {
    const good = secret({ ...(connection.value as Props), hostKey: sshd.hostKey });
    expect((await create(REMOTE, { connection: good, create: "echo ok" })).outs.stdout).toBe("ok");
    const wrong = secret({
      ...(connection.value as Props),
      // Another, well-formed ed25519 key (type + 32 bytes); see host-key.test.ts for the rest.
      hostKey: `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 1)]).toString("base64")}`,
      dialErrorLimit: 1,
    });
    await expect(provider.create!(REMOTE, { connection: wrong, create: "echo ok" })).rejects.toThrow(
      /failed 1 times: ssh: handshake failed: ssh: host key mismatch/,
    );
  });

  it("rejects what it does not implement instead of ignoring it", async () => {
    const withBadProxy = secret({ ...(connection.value as Props), proxy: { host: "bastion", jump: 1 } });
    await expect(provider.check!(REMOTE, {}, { connection: withBadProxy, create: "x" })).rejects.toThrow(
      "connection.proxy.jump is not supported by the offline stand-in",
    );
    const noHost = secret({ ...(connection.value as Props), proxy: { port: 22 } });
    await expect(provider.check!(REMOTE, {}, { connection: noHost, create: "x" })).rejects.toThrow(
      "connection.proxy.host is required",
    );
    const res = await provider.check!(LOCAL, {}, { create: "x", assetPaths: ["*.txt"] });
    expect(res.failures).toEqual([
      { property: "assetPaths", reason: expect.stringMatching(/not supported/) },
    ]);
  });
});

describe("command:remote:Command through a proxy (jump host), as the real provider's connection.proxy", () => {
  /** The test sshd is both the jump host and, through a forwarded channel, the target. */
  const through = (target: Props, proxy: Props) =>
    secret({
      ...(connection.value as Props),
      ...target,
      proxy: { ...(connection.value as Props), ...proxy },
    });

  it("runs on the target through the proxy and keeps the connection (proxy included) secret", async () => {
    // The target is addressed as the proxy sees it (here: its own loopback, by name).
    const conn = through({ host: "localhost" }, { host: sshd.host });
    const { outs } = await create(REMOTE, { connection: conn, create: "echo $SSH_CONNECTION" });
    expect(String(outs.stdout)).toMatch(/^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
    expect(isSecret(outs.connection)).toBe(true);
  });

  it("copies through the proxy too", async () => {
    const dest = `${work}/via-proxy.txt`;
    const source = { [specialSigKey]: specialAssetSig, text: "jumped" };
    await create(COPY, { connection: through({}, {}), source, remotePath: dest });
    expect(fs.readFileSync(dest, "utf8")).toBe("jumped");
  });

  it("a proxy that does not answer fails after the proxy's dialErrorLimit, prefixed `proxy: `", async () => {
    const closed = await freePort();
    const conn = through({ dialErrorLimit: 5 }, { port: closed, dialErrorLimit: 1 });
    await expect(provider.create!(REMOTE, { connection: conn, create: "echo no" })).rejects.toThrow(
      new RegExp(
        `^proxy: ssh: dialing proxy ${sshd.user}@${sshd.host}:${closed} failed 1 times: .*ECONNREFUSED`,
      ),
    );
  });

  it("a target the proxy cannot reach fails after the target's dialErrorLimit (the proxy's own limit does not count)", async () => {
    const closed = await freePort();
    const conn = through({ port: closed, dialErrorLimit: 2 }, { dialErrorLimit: 7 });
    const started = Date.now();
    await expect(provider.create!(REMOTE, { connection: conn, create: "echo no" })).rejects.toThrow(
      new RegExp(`^proxy: ssh: dialing ${sshd.host}:${closed} from proxy .* failed 2 times`),
    );
    // Two tries, one pause of 1 s between them: the proxy's limit of 7 was not used for this step.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("the target's own credentials and host key are used for the target, the proxy's for the proxy", async () => {
    // A well-formed ed25519 key that is not the server's.
    const wrongKey = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from("ssh-ed25519"), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 2)]).toString("base64")}`;
    const targetKeyWrong = through({ hostKey: wrongKey }, { hostKey: sshd.hostKey });
    await expect(provider.create!(REMOTE, { connection: targetKeyWrong, create: "echo no" })).rejects.toThrow(
      /^proxy: ssh: handshake with .* through proxy .* failed/,
    );
    const proxyKeyWrong = through({ hostKey: sshd.hostKey }, { hostKey: wrongKey, dialErrorLimit: 1 });
    await expect(provider.create!(REMOTE, { connection: proxyKeyWrong, create: "echo no" })).rejects.toThrow(
      /^proxy: ssh: dialing proxy .* failed 1 times/,
    );
    // A proxy host key that is no key fails before dialing, prefixed as the real one does.
    const proxyKeyBad = through({}, { hostKey: "not a key" });
    await expect(provider.create!(REMOTE, { connection: proxyKeyBad, create: "echo no" })).rejects.toThrow(
      "proxy: failed to parse host key: ssh: no key found",
    );
    const bothRight = through({ hostKey: sshd.hostKey }, { hostKey: sshd.hostKey });
    expect((await create(REMOTE, { connection: bothRight, create: "echo ok" })).outs.stdout).toBe("ok");
  });

  it("proxy defaults are the real provider's: user root and port 22", async () => {
    // Without user/port the proxy is root@host:22 — nothing listens on 127.0.0.2:22 in the tests.
    const conn = secret({
      ...(connection.value as Props),
      proxy: { host: "127.0.0.2", privateKey: sshd.privateKey, dialErrorLimit: 1, perDialTimeout: 2 },
    });
    await expect(provider.create!(REMOTE, { connection: conn, create: "echo no" })).rejects.toThrow(
      /^proxy: ssh: dialing proxy root@127\.0\.0\.2:22 failed 1 times/,
    );
  });
});

describe("command:remote:CopyToRemote", () => {
  const asset = (fields: Props) => ({ [specialSigKey]: specialAssetSig, ...fields });
  const cat = async (file: string) =>
    (await create(REMOTE, { connection, create: `cat ${file}` })).outs.stdout;

  it("copies a text, a file, and a directory; re-copies on update only when the content changed", async () => {
    const dest = `${work}/remote`;
    fs.mkdirSync(dest);
    await create(COPY, {
      connection,
      source: asset({ text: "hello text", hash: "t1" }),
      remotePath: `${dest}/a.txt`,
    });
    expect(await cat(`${dest}/a.txt`)).toBe("hello text");

    const file = path.join(work, "b.sh");
    fs.writeFileSync(file, "echo b\n", { mode: 0o755 });
    const inputs = { connection, source: asset({ path: file, hash: "f1" }), remotePath: dest };
    const { outs } = await create(COPY, inputs);
    expect(await cat(`${dest}/b.sh`)).toBe("echo b");
    expect(fs.statSync(`${dest}/b.sh`).mode & 0o777).toBe(0o755);

    fs.writeFileSync(file, "echo changed\n");
    await provider.update!("id", COPY, outs, inputs); // same hash: nothing is copied
    expect(await cat(`${dest}/b.sh`)).toBe("echo b");
    await provider.update!("id", COPY, outs, { ...inputs, source: asset({ path: file, hash: "f2" }) });
    expect(await cat(`${dest}/b.sh`)).toBe("echo changed");

    const tree = path.join(work, "tree");
    fs.mkdirSync(path.join(tree, "sub"), { recursive: true });
    fs.writeFileSync(path.join(tree, "sub", "c.txt"), "c");
    await create(COPY, { connection, source: asset({ path: tree, hash: "d1" }), remotePath: dest });
    expect(await cat(`${dest}/tree/sub/c.txt`)).toBe("c");
  });

  it("diff: triggers replace, source and remotePath update", async () => {
    const olds = { connection, source: asset({ text: "x", hash: "1" }), remotePath: "/a", triggers: [1] };
    expect((await provider.diff!("id", COPY, olds, { ...olds, triggers: [2] })).replaces).toEqual([
      "triggers",
    ]);
    expect(
      await provider.diff!("id", COPY, olds, { ...olds, source: asset({ text: "y", hash: "2" }) }),
    ).toEqual({ changes: true, replaces: [] });
  });
});

describe("command:local:Command", () => {
  it("runs in `dir` with `environment`, and `delete` on delete", async () => {
    const { outs } = await create(LOCAL, {
      create: "pwd; echo $SALTPIPE_Y",
      dir: work,
      environment: { SALTPIPE_Y: "z" },
      delete: "touch deleted",
    });
    expect(outs.stdout).toBe(`${work}\nz`);
    await provider.delete!("id", LOCAL, outs);
    expect(fs.existsSync(path.join(work, "deleted"))).toBe(true);
  });
});
