/**
 * `cloud: existing` for real: servers that Pulumi did not create (containers this test makes
 * itself, each with a non-root user that has password-less sudo and no root SSH login, as on EC2
 * images) are bootstrapped through `sudo -n` by the real engine, deploy and serve; their SSH host
 * keys are pinned on first use, and a changed key stops `up` and `npm run status` before anything
 * is sent; `destroy` takes saltpipe off them and leaves the servers, the user and its files alone.
 *
 * Own names and ports: prefix saltpipe-exist, app 16080, SSH 17080+, registry 17580 (below the
 * ephemeral port range: a connection an earlier suite left in TIME-WAIT never holds one).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { PACKAGE_ROOT } from "../../infra/paths";
import { parseHostKey } from "../../infra/ssh/host-key";
import { servedVersion } from "./support/http";
import { makeHookCertificate } from "./support/pki";
import { run, waitFor, type RunResult } from "./support/run";
import { PLANTED_FILE, PLANTED_TEXT, SERVER_USER, Servers, type Server } from "./support/servers";

jest.setTimeout(30 * 60_000);

const PREFIX = "saltpipe-exist";
const STACK = "exist";
const APP_PORT_BASE = 16080;
const SSH_PORT_BASE = APP_PORT_BASE + 1000;
const REGISTRY_PORT = 17580;
const STATE_DIR = path.join(PACKAGE_ROOT, ".state", PREFIX);
const STACK_FILE = path.join(STATE_DIR, `Pulumi.${STACK}.yaml`);

const servers = new Servers(PREFIX);
const master: Server = { name: "master", container: `${PREFIX}-master`, sshPort: SSH_PORT_BASE };
const minion: Server = {
  name: "minion-1",
  container: `${PREFIX}-minion-1`,
  sshPort: SSH_PORT_BASE + 1,
  appPort: APP_PORT_BASE,
};
const APP_URL = `http://127.0.0.1:${APP_PORT_BASE}/`;

const env = {
  SALTPIPE_STACK: STACK,
  SALTPIPE_STACK_FILE: STACK_FILE,
  SALTPIPE_STATE_DIR: STATE_DIR,
};
const transcript: string[] = [];

async function stackScript(...args: string[]): Promise<RunResult> {
  const result = await run("bash", ["scripts/local-stack.sh", ...args], { env, timeoutMs: 30 * 60_000 });
  transcript.push(result.stdout, result.stderr);
  return result;
}

async function mustStack(...args: string[]): Promise<string> {
  const result = await stackScript(...args);
  if (result.code !== 0)
    throw new Error(
      `local-stack.sh ${args.join(" ")} exited ${result.code}:\n${(result.stdout + result.stderr).split("\n").slice(-40).join("\n")}`,
    );
  return result.stdout;
}

function status(): Promise<RunResult> {
  return run(
    "npx",
    ["ts-node", "--transpile-only", "infra/cli/main.ts", "status", "--json", "--stack", STACK],
    {
      env,
      timeoutMs: 120_000,
    },
  );
}

/** The stack file of "our own servers", as a team would write it. */
function writeStackFile(hookTls: { certificate: string; ca: string }): void {
  const host = (s: Server, extra: object = {}) => ({
    name: s.name,
    os: "debian",
    address: "127.0.0.1",
    port: s.sshPort,
    user: SERVER_USER,
    privateAddress: s.name,
    ...extra,
  });
  const config = {
    "saltpipe:cloud": "existing",
    "saltpipe:master": host(master),
    "saltpipe:minions": [host(minion)],
    "saltpipe:salt": { installMethod: "pip", wheelhouseDir: ".state/wheelhouse" },
    // The test's own registry: pushed to on 127.0.0.1, pulled by the servers as registry:5000.
    "saltpipe:registry": {
      kind: "external",
      server: `127.0.0.1:${REGISTRY_PORT}`,
      pullServer: "registry:5000",
      insecure: true,
    },
    "saltpipe:deploy": { batch: "1", healthTimeoutSeconds: 30, drainSeconds: 2 },
    "saltpipe:hookTls": hookTls,
  };
  fs.writeFileSync(STACK_FILE, stringify({ config }));
}

/** What the image `up` built and pushed reports as its version: its tag is `exist-<version>`. */
async function builtVersion(): Promise<string> {
  const outputs = JSON.parse(await mustStack("outputs")) as { imageName: string };
  return outputs.imageName.split(":").pop()!.replace(`${STACK}-`, "");
}

beforeAll(async () => {
  await servers.removeAll();
  fs.rmSync(STATE_DIR, { recursive: true, force: true });
  fs.mkdirSync(path.join(STATE_DIR, "ssh"), { recursive: true, mode: 0o700 });
  // The key that reaches the servers and the webhook token the registry sends: made here,
  // handed to the stack as secrets by local-stack.sh.
  execFileSync("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    PREFIX,
    "-f",
    path.join(STATE_DIR, "ssh/id_ed25519"),
  ]);
  const token = execFileSync("openssl", ["rand", "-hex", "32"], { encoding: "utf8" }).trim();
  fs.writeFileSync(path.join(STATE_DIR, "webhookSecret"), token, { mode: 0o600 });
  await servers.buildImages();
  const publicKey = fs.readFileSync(path.join(STATE_DIR, "ssh/id_ed25519.pub"), "utf8").trim();
  await Promise.all([servers.start(master, publicKey), servers.start(minion, publicKey)]);
  // The team's own PKI: the hook's certificate comes from stack config (hookTls + the secret
  // hookTlsKey), and the test's registry trusts only that CA.
  const tls = makeHookCertificate("master");
  fs.writeFileSync(path.join(STATE_DIR, "hookTlsKey"), tls.key, { mode: 0o600 });
  await servers.startRegistry(REGISTRY_PORT, "https://master:8443/hook/saltpipe/registry", token, tls.ca);
  writeStackFile({ certificate: tls.certificate, ca: tls.ca });
});

afterAll(async () => {
  await servers.removeAll();
  fs.rmSync(STATE_DIR, { recursive: true, force: true });
});

describe("existing servers with a sudo user", () => {
  test("the servers refuse root over SSH; the user has sudo without a password", async () => {
    const key = path.join(STATE_DIR, "ssh/id_ed25519");
    const ssh = (user: string) =>
      run("ssh", [
        "-i",
        key,
        "-p",
        String(master.sshPort),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        `${user}@127.0.0.1`,
        "sudo -n id -u",
      ]);
    await waitFor("sshd on the master", 60_000, async () =>
      (await ssh(SERVER_USER)).code === 0 ? true : undefined,
    );
    expect((await ssh(SERVER_USER)).stdout.trim()).toBe("0");
    expect((await ssh("root")).code).not.toBe(0);
  });

  test("up bootstraps both servers through sudo -n, deploys and serves", async () => {
    const start = Date.now();
    await mustStack("up");
    const version = await builtVersion();
    await waitFor(`the minion to serve ${version}`, 120_000, async () =>
      (await servedVersion(APP_URL).catch(() => undefined)) === version ? true : undefined,
    );
    console.log(`existing: up from nothing to serving ${Date.now() - start} ms`);
    // Salt runs as root (installed through sudo); the SSH user stays an ordinary user.
    expect((await servers.exec(minion, "ps -o user= -C salt-minion | sort -u")).trim()).toBe("root");
    expect((await servers.exec(master, `id -u ${SERVER_USER}`)).trim()).not.toBe("0");
  });

  test("each server's host key was pinned on first use, in state and in the operator output", async () => {
    const outputs = JSON.parse(await mustStack("outputs")) as {
      masterSsh: { hostKey: string; name: string };
    };
    const onHost = (await servers.exec(master, "cat /etc/ssh/ssh_host_ed25519_key.pub")).trim();
    expect(outputs.masterSsh.name).toBe("master");
    expect(outputs.masterSsh.hostKey).toBe(parseHostKey(onHost)!.line);
    const result = await status();
    expect(result.code).toBe(0);
  });

  test("a second up changes nothing", async () => {
    const out = await mustStack("pulumi", "up", "--yes", "--skip-preview");
    expect(out).not.toMatch(/\d+ (created|updated|replaced|deleted)/);
  });

  test("a minion whose host key changed: up fails naming it, and nothing is sent to it", async () => {
    await servers.changeHostKey(minion);
    try {
      const before = await servers.acceptedLogins(minion);
      const start = Date.now();
      const result = await stackScript("pulumi", "up", "--yes", "--skip-preview");
      const output = result.stdout + result.stderr;
      expect(result.code).not.toBe(0);
      expect(output).toContain(`SSH host key of host "minion-1" (127.0.0.1:${minion.sshPort}) changed`);
      expect(output).toContain("nothing was sent to it");
      console.log(`existing: up refused the changed minion after ${Date.now() - start} ms`);
      expect(await servers.acceptedLogins(minion)).toBe(before);
    } finally {
      await servers.restoreHostKey(minion);
    }
  });

  test("a master whose host key changed: npm run status and up fail naming it, nothing is sent", async () => {
    await servers.changeHostKey(master);
    try {
      const before = await servers.acceptedLogins(master);
      const result = await status();
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`SSH host key of host "master" (127.0.0.1:${master.sshPort}) changed`);
      const up = await stackScript("pulumi", "up", "--yes", "--skip-preview");
      expect(up.code).not.toBe(0);
      expect(up.stdout + up.stderr).toContain(
        `SSH host key of host "master" (127.0.0.1:${master.sshPort}) changed`,
      );
      expect(await servers.acceptedLogins(master)).toBe(before);
    } finally {
      await servers.restoreHostKey(master);
    }
    expect((await status()).code).toBe(0);
  });

  test("destroy takes saltpipe off the servers and leaves them, the user and its files", async () => {
    await mustStack("destroy");
    for (const server of [master, minion]) {
      const state = await servers.exec(
        server,
        [
          "systemctl is-system-running || true",
          `id -u ${SERVER_USER}`,
          `cat ${PLANTED_FILE}`,
          "echo ---",
          "for p in /etc/salt /opt/saltpipe /srv/saltpipe /var/cache/salt /etc/saltpipe /etc/nginx/saltpipe /var/cache/saltpipe-wheelhouse /etc/systemd/system/salt-minion.service /etc/systemd/system/salt-master.service; do [ -e $p ] && echo left:$p; done",
          "ls /etc/nginx/conf.d/ | grep saltpipe | sed 's/^/left:/'",
          "for s in salt-minion salt-master salt-api; do systemctl is-active --quiet $s && echo running:$s; done",
          "docker ps -aq --filter label=saltpipe.app | sed 's/^/container:/'",
          "true",
        ].join("\n"),
      );
      const [kept, removed] = state.split("---\n");
      expect(kept).toMatch(/^(running|degraded)\n\d+\n/);
      expect(kept).toContain(PLANTED_TEXT);
      expect(removed.trim()).toBe("");
    }
    const left = await servers.leftovers();
    expect(left.containers.sort()).toEqual(
      [master.container, minion.container, servers.registryContainer].sort(),
    );
  });

  test("no secret in the engine's output", async () => {
    const token = fs.readFileSync(path.join(STATE_DIR, "webhookSecret"), "utf8").trim();
    const key = fs.readFileSync(path.join(STATE_DIR, "ssh/id_ed25519"), "utf8");
    const text = transcript.join("\n");
    expect(text).not.toContain(token);
    expect(text).not.toContain(key.split("\n")[1]);
  });
});
