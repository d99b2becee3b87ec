/**
 * The `saltpipe` command's stack side, with a real stand-in `pulumi` executable: the stack's
 * outputs, and each documented error on the way to the master.
 */
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { connectMaster } from "../master";
import { EXIT } from "../errors";
import { stackAccess } from "../stack";
import { ed25519KeyPair } from "../../../test/support/ssh-keys";
import { cli } from "./harness";

/** A loopback port nothing listens on (an unreachable master). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe("the stack side (a stand-in pulumi executable)", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-cli-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A `pulumi` that runs `script` (bash, with "$@"). */
  function fakePulumi(name: string, script: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/bash\n${script}\n`, { mode: 0o755 });
    return file;
  }

  const real = (env: NodeJS.ProcessEnv, argv: string[]) => cli(argv, undefined, { env, access: stackAccess });

  test("no such stack: the stacks that exist and how to select the backend", async () => {
    const pulumi = fakePulumi(
      "nostack",
      `[[ "$1 $2" == "stack ls" ]] && { echo '[{"name":"dev"},{"name":"test"}]'; exit 0; }
       echo "error: no stack named 'prod' found" >&2; exit 255`,
    );
    const r = await real({ SALTPIPE_PULUMI: pulumi }, ["status", "--stack", "prod"]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('no stack "prod" in the selected backend; stacks there: dev, test.');
    expect(r.stderr).toContain("PULUMI_BACKEND_URL is not set");
    expect(r.stderr).toContain("Select the backend with PULUMI_BACKEND_URL=<url>");
    expect(r.stderr).toContain("pulumi said: error: no stack named 'prod' found");
  });

  test("a failing `pulumi stack output` shows the CLI's own error, not an empty one", async () => {
    const pulumi = fakePulumi(
      "decrypt",
      `echo "error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE" >&2; exit 255`,
    );
    const r = await real({ SALTPIPE_PULUMI: pulumi, PULUMI_BACKEND_URL: "file:///srv/state" }, [
      "status",
      "--stack",
      "prod",
    ]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(
      'pulumi stack output failed for stack "prod": error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE',
    );
    expect(r.stderr).toContain("PULUMI_BACKEND_URL is file:///srv/state");
  });

  test("the pulumi CLI missing: say how to get it or what to pass instead", async () => {
    const r = await real({ SALTPIPE_PULUMI: path.join(dir, "not-there") }, ["status", "--stack", "prod"]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("the Pulumi CLI is not on PATH");
    expect(r.stderr).toContain("--outputs FILE");
  });

  test("the outputs are read with secrets, and --stack is passed", async () => {
    const log = path.join(dir, "args.log");
    const pulumi = fakePulumi("args", `echo "$@" >> ${log}; echo '{}'`);
    const r = await real({ SALTPIPE_PULUMI: pulumi }, ["status", "--stack", "prod", "--json"]);
    expect(fs.readFileSync(log, "utf8")).toContain("stack output --json --show-secrets --stack prod");
    expect(r.code).toBe(EXIT.USAGE);
    // --json: the error is also one JSON object on stdout.
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: false,
      exitCode: 2,
      error: expect.stringContaining("no usable masterSsh output"),
    });
    expect(r.stderr).toContain(
      "export const masterSsh = env.masterSsh; export const masterSshKey = env.masterSshKey;",
    );
  });

  test("outputs without the key: what to export", async () => {
    const file = path.join(dir, "outputs.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ masterSsh: { host: "10.0.0.1", port: 22, user: "root" }, masterSshKey: "[secret]" }),
    );
    const r = await real({}, ["status", "--stack", "prod", "--outputs", file]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("gives no masterSshKey output (with --show-secrets) and no --identity FILE");
  });

  test("an unreachable master: the address, user and key that were tried", async () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const port = await closedPort();
    const file = path.join(dir, "up.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        masterSsh: {
          host: "127.0.0.1",
          port,
          user: "ops",
          hostKey: ed25519KeyPair().public,
        },
        masterSshKey: privateKey,
        environmentName: "prod",
      }),
    );
    const r = await cli(["status", "--stack", "prod", "--outputs", file], undefined, {
      access: stackAccess,
      connect: (a) => connectMaster(a, 3000),
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(
      `cannot reach the master of stack "prod" over SSH: tried ops@127.0.0.1:${port} with the key from stack output masterSshKey of "prod"`,
    );
    expect(r.stderr).toContain("ECONNREFUSED");
    expect(r.stderr).not.toContain("PRIVATE KEY");
  });

  test("a master without a pinned host key is not dialed: the output to pin it is named", async () => {
    const file = path.join(dir, "unpinned.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        masterSsh: { host: "127.0.0.1", port: await closedPort(), user: "ops" },
        masterSshKey: ed25519KeyPair().private,
        environmentName: "prod",
      }),
    );
    const r = await cli(["status", "--stack", "prod", "--outputs", file], undefined, {
      access: stackAccess,
      connect: (a) => connectMaster(a, 3000),
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('stack "prod" has no pinned SSH host key for its master "master"');
    expect(r.stderr).not.toContain("ECONNREFUSED");
  });
});
