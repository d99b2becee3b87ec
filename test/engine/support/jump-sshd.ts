/**
 * Two private sshds where the target accepts only through the jump host, as an AWS minion in a
 * private subnet is reached only through the master:
 *   - a network namespace of its own (`unshare -n`: only a loopback of its own) holds both
 *     the target's sshd and the jump host's;
 *   - the target listens on the namespace's 127.0.0.1, which nothing outside can reach;
 *   - the jump host is reachable from this machine on 127.0.0.1:<port>: each connection starts
 *     `sshd -i` (inetd mode, one connection on stdin/stdout) inside the namespace, so the
 *     channels it opens (`direct-tcpip`) go to the namespace's own loopback.
 * Needs root, /usr/sbin/sshd, util-linux's unshare/nsenter and iproute2's ip.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort, type TestSshd } from "./sshd";

const SSHD = "/usr/sbin/sshd";

interface PrivateNetwork {
  pid: number;
  stop(): void;
}

function privateNetwork(): Promise<PrivateNetwork> {
  for (const tool of [SSHD, "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/sbin/ip"])
    if (!fs.existsSync(tool))
      throw new Error(
        `the jump host tests need ${tool}: apt-get install -y openssh-server util-linux iproute2`,
      );
  const holder = spawn("unshare", ["-n", "sleep", "infinity"], { stdio: "ignore" });
  return new Promise((resolve, reject) => {
    holder.once("error", reject);
    holder.once("exit", (code) =>
      reject(new Error(`unshare -n failed (exit ${code}): the jump host tests need root with CAP_SYS_ADMIN`)),
    );
    setTimeout(() => {
      try {
        execFileSync("nsenter", ["-t", String(holder.pid), "-n", "ip", "link", "set", "lo", "up"]);
        holder.removeAllListeners("exit");
        resolve({ pid: holder.pid!, stop: () => holder.kill("SIGKILL") });
      } catch (err) {
        holder.kill("SIGKILL");
        reject(err);
      }
    }, 200);
  });
}

/** Keys and a config for one sshd in DIR; LINES are its own settings (Port, ListenAddress). */
function prepare(dir: string, lines: string[]): { privateKey: string; hostKey: string; config: string } {
  fs.mkdirSync(dir, { recursive: true });
  const keygen = (file: string) =>
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, file)]);
  keygen("host_key");
  keygen("client_key");
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      ...lines,
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding yes",
      "Subsystem sftp internal-sftp",
      "",
    ].join("\n"),
  );
  return {
    privateKey: fs.readFileSync(path.join(dir, "client_key"), "utf8"),
    hostKey: fs.readFileSync(path.join(dir, "host_key.pub"), "utf8").trim(),
    config,
  };
}

export interface JumpSetup {
  /** The jump host, on this machine's 127.0.0.1. */
  jump: TestSshd;
  /** The target as the jump host sees it (127.0.0.1 inside the private network). */
  target: TestSshd;
  stop(): Promise<void>;
}

export async function startJumpSetup(): Promise<JumpSetup> {
  const netns = await privateNetwork();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-jump-"));
  fs.mkdirSync("/run/sshd", { recursive: true });
  const user = os.userInfo().username;
  const inNetns = (args: string[]) => ["-t", String(netns.pid), "-n", ...args];

  // The target: a daemon on the private network's loopback.
  const targetPort = await freePort();
  const t = prepare(path.join(dir, "target"), [`Port ${targetPort}`, "ListenAddress 127.0.0.1"]);
  let targetLog = "";
  const targetDaemon: ChildProcess = spawn("nsenter", inNetns([SSHD, "-D", "-e", "-f", t.config]), {
    stdio: ["ignore", "ignore", "pipe"],
  });
  targetDaemon.stderr!.on("data", (d: Buffer) => (targetLog += d.toString()));
  for (let i = 0; !targetLog.includes("Server listening on 127.0.0.1"); i++) {
    if (targetDaemon.exitCode !== null || i > 100)
      throw new Error(`the target sshd did not start: ${targetLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  // The jump host: one `sshd -i` in the private network per connection from this machine.
  const j = prepare(path.join(dir, "jump"), []);
  const sessions = new Set<ChildProcess>();
  const server = net.createServer((socket) => {
    const session = spawn("nsenter", inNetns([SSHD, "-i", "-e", "-f", j.config]), {
      stdio: ["pipe", "pipe", "ignore"],
    });
    sessions.add(session);
    socket.pipe(session.stdin!);
    session.stdout!.pipe(socket);
    const end = () => {
      socket.destroy();
      session.kill();
      sessions.delete(session);
    };
    socket.on("error", end).on("close", end);
    session.on("exit", end);
  });
  const jumpPort = await new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
  );

  const stop = async () => {
    server.close();
    for (const s of sessions) s.kill();
    targetDaemon.kill("SIGTERM");
    await new Promise((r) => (targetDaemon.exitCode !== null ? r(null) : targetDaemon.once("exit", r)));
    netns.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const common = { user, dir, stop: async () => undefined };
  return {
    jump: { ...common, host: "127.0.0.1", port: jumpPort, privateKey: j.privateKey, hostKey: j.hostKey },
    target: { ...common, host: "127.0.0.1", port: targetPort, privateKey: t.privateKey, hostKey: t.hostKey },
    stop,
  };
}
