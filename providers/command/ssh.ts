/**
 * SSH for the remote resources, through the `ssh2` library, with the connection semantics of
 * the real command provider: user defaults to root and port to 22; a failed dial (refused,
 * timed out after `perDialTimeout` seconds, or rejected authentication) is retried until
 * `dialErrorLimit` dials have failed (-1: no limit); the host key is checked only when
 * `hostKey` is given, and then exactly as the real plugin does (Go's `ssh.ParseAuthorizedKey`
 * of the text — a text with no key fails before dialing —, only that key's algorithm offered,
 * only that exact key accepted; a mismatch is a failed dial, retried like any other).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client, ConnectConfig, SFTPWrapper } from "ssh2";
import { parseHostKey, pinnedConnectConfig } from "../../infra/ssh/host-key";

export interface Connection {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  privateKey?: string;
  privateKeyPassword?: string;
  agentSocketPath?: string;
  hostKey?: string;
  dialErrorLimit?: number;
  perDialTimeout?: number;
}

/** The connection properties this stand-in implements (`proxy` is not one of them). */
export const connectionKeys: readonly string[] = [
  "host",
  "port",
  "user",
  "password",
  "privateKey",
  "privateKeyPassword",
  "agentSocketPath",
  "hostKey",
  "dialErrorLimit",
  "perDialTimeout",
];

type Log = (message: string) => void;

/** The real plugin's message for a host that presents another key than `hostKey`. */
export const HOST_KEY_MISMATCH = "ssh: handshake failed: ssh: host key mismatch";

function hostKeyConfig(c: Connection): Pick<ConnectConfig, "hostVerifier" | "algorithms"> {
  if (c.hostKey === undefined) return {};
  if (!parseHostKey(c.hostKey)) throw new Error("failed to parse host key: ssh: no key found");
  return pinnedConnectConfig(c.hostKey);
}

function connectConfig(c: Connection): ConnectConfig {
  const agent = c.agentSocketPath ?? process.env.SSH_AUTH_SOCK;
  return {
    host: c.host,
    port: c.port ?? 22,
    username: c.user ?? "root",
    privateKey: c.privateKey,
    passphrase: c.privateKeyPassword,
    password: c.password,
    tryKeyboard: c.password !== undefined,
    agent: agent || undefined,
    readyTimeout: (c.perDialTimeout ?? 15) * 1000,
    ...hostKeyConfig(c),
  };
}

function dialOnce(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.once("ready", () => resolve(client));
    client.once("error", (err: Error) => {
      // A refused handshake can be followed by the peer's reset: that second error is the same
      // failed dial, not an unhandled one.
      client.on("error", () => undefined);
      reject(/verification failed/.test(err.message) ? new Error(HOST_KEY_MISMATCH) : err);
    });
    if (config.password !== undefined) {
      client.on("keyboard-interactive", (_n, _i, _l, prompts, finish) =>
        finish(prompts.map(() => config.password!)),
      );
    }
    client.connect(config);
  });
}

/** Dial, retrying as the real provider does; the caller must `end()` the client. */
export async function dial(c: Connection, log: Log = () => undefined): Promise<Client> {
  const limit = c.dialErrorLimit ?? 10;
  const config = connectConfig(c);
  let delay = 1000;
  for (let failures = 1; ; failures++) {
    try {
      return await dialOnce(config);
    } catch (err) {
      if (limit !== -1 && failures >= limit) {
        throw new Error(
          `ssh: dialing ${config.username}@${c.host}:${config.port} failed ${failures} times: ${(err as Error).message}`,
        );
      }
      log(
        `ssh: dial ${failures} to ${c.host}:${config.port} failed (${(err as Error).message}); retrying in ${delay / 1000}s`,
      );
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 5000);
    }
  }
}

export interface ExecOptions {
  env?: Record<string, string>;
  stdin?: string;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status, or undefined if the command was ended by a signal. */
  code?: number;
  signal?: string;
}

/** Run one command in its own session. Environment variables reach it only if sshd accepts them (AcceptEnv). */
export function exec(client: Client, command: string, opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, { env: opts.env }, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      stream.on("data", (d: Buffer) => {
        stdout += d.toString();
        opts.onStdout?.(d.toString());
      });
      stream.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        opts.onStderr?.(d.toString());
      });
      stream.on("close", (code: number | null, signal?: string) =>
        resolve({ stdout, stderr, code: code ?? undefined, signal }),
      );
      stream.end(opts.stdin ?? "");
    });
  });
}

function sftpOf(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

const call = <T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function remoteKind(sftp: SFTPWrapper, p: string): Promise<"dir" | "file" | undefined> {
  try {
    const st = await call<{ isDirectory(): boolean }>((cb) => sftp.stat(p, cb as never));
    return st!.isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/**
 * Copy a local file or directory, or a text, to the remote host over SFTP, with the real
 * provider's rules: a file onto an existing directory lands inside it; a directory "d" lands
 * as remotePath/d (its contents land in remotePath when the source ends in "/"), creating
 * remotePath if needed; a text needs a file path.
 */
export async function upload(
  client: Client,
  source: { path: string } | { text: string },
  remotePath: string,
): Promise<void> {
  const sftp = await sftpOf(client);
  try {
    const destKind = await remoteKind(sftp, remotePath);
    if ("text" in source) {
      if (destKind === "dir")
        throw new Error(
          `remote path ${remotePath} is a directory; when using a text asset, remotePath must be a file path`,
        );
      await call((cb) => sftp.writeFile(remotePath, source.text, cb));
      return;
    }
    const local = source.path;
    if (!fs.statSync(local).isDirectory()) {
      const dest = destKind === "dir" ? path.posix.join(remotePath, path.basename(local)) : remotePath;
      await call((cb) => sftp.fastPut(local, dest, { mode: fs.statSync(local).mode & 0o777 }, cb));
      return;
    }
    if (destKind === "file") throw new Error(`remote path ${remotePath} exists but is not a directory`);
    if (!destKind) await call((cb) => sftp.mkdir(remotePath, cb));
    const root = local.endsWith("/") ? remotePath : path.posix.join(remotePath, path.basename(local));
    await copyDir(sftp, local, root);
  } finally {
    sftp.end();
  }
}

async function copyDir(sftp: SFTPWrapper, local: string, remote: string): Promise<void> {
  const kind = await remoteKind(sftp, remote);
  if (kind === "file") throw new Error(`remote path ${remote} exists but is not a directory`);
  if (!kind) await call((cb) => sftp.mkdir(remote, cb));
  for (const entry of fs.readdirSync(local, { withFileTypes: true })) {
    const from = path.join(local, entry.name);
    const to = path.posix.join(remote, entry.name);
    if (entry.isDirectory()) await copyDir(sftp, from, to);
    else await call((cb) => sftp.fastPut(from, to, { mode: fs.statSync(from).mode & 0o777 }, cb));
  }
}
