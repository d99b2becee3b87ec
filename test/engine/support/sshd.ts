/**
 * A private sshd for tests: 127.0.0.1 on a free port, a temporary host key and a temporary
 * authorized client key, its own config file. The system sshd and its config are not touched.
 * Needs /usr/sbin/sshd (`apt-get install -y openssh-server`).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { secret } from "../../../tools/standins/lib/wire";

export interface TestSshd {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** The host's public key ("ssh-ed25519 AAAA…"). */
  hostKey: string;
  dir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, "127.0.0.1", () => (sock.end(), resolve(true)));
      sock.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

/** Start sshd; `acceptEnv` names the environment variables it lets through (AcceptEnv). */
export async function startSshd(acceptEnv = "PULUMI_COMMAND_* SALTPIPE_*"): Promise<TestSshd> {
  const sshd = "/usr/sbin/sshd";
  if (!fs.existsSync(sshd)) throw new Error("the SSH tests need sshd: apt-get install -y openssh-server");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-sshd-"));
  const keygen = (file: string) =>
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, file)]);
  keygen("host_key");
  keygen("client_key");
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const port = await freePort();
  fs.mkdirSync("/run/sshd", { recursive: true }); // privilege-separation dir sshd insists on
  fs.writeFileSync(
    path.join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      `AcceptEnv ${acceptEnv}`,
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  let log = "";
  const child = spawn(sshd, ["-D", "-e", "-f", path.join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  return {
    host: "127.0.0.1",
    port,
    user: os.userInfo().username,
    privateKey: fs.readFileSync(path.join(dir, "client_key"), "utf8"),
    hostKey: fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim(),
    dir,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once("exit", r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The stand-in's `connection` input for this sshd (a secret, as the real SDK sends it), with
 * short dial limits so a test that must fail fails fast; `extra` adds or overrides fields.
 */
export function sshdConnection(sshd: TestSshd, extra: Record<string, unknown> = {}) {
  return secret({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.privateKey,
    dialErrorLimit: 2,
    perDialTimeout: 5,
    ...extra,
  });
}
