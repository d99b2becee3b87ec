/**
 * SSH for the remote resources, through the `ssh2` library, with the connection semantics of
 * the real command provider: user defaults to root and port to 22; a failed dial (refused,
 * timed out after `perDialTimeout` seconds, or rejected authentication) is retried until
 * `dialErrorLimit` dials have failed (-1: no limit); the host key is checked only when
 * `hostKey` is given, and then exactly as the real plugin does (Go's `ssh.ParseAuthorizedKey`
 * of the text — a text with no key fails before dialing —, only that key's algorithm offered,
 * only that exact key accepted; a mismatch is a failed dial, retried like any other).
 *
 * With `proxy` (a bastion / jump host), as the real provider (remote/connection.go) does it:
 *   1. dial the proxy with the proxy's own settings (defaults as above: root, 22, 10 dials,
 *      15 s each), retried up to the proxy's `dialErrorLimit`;
 *   2. from the proxy, open a TCP channel (`direct-tcpip`) to `host:port`, retried up to the
 *      target's `dialErrorLimit` (a refused or unreachable target fails each try);
 *   3. run the SSH handshake with the target over that channel with the target's user, keys
 *      and host key. The real provider retries this step on the same, already closed
 *      channel, which cannot succeed; the stand-in fails at once with the same outcome.
 * Every failure of a proxied dial is reported with the prefix `proxy: `, as the real one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Client, ConnectConfig, SFTPWrapper } from "ssh2";
import { parseHostKey, pinnedConnectConfig } from "../../../infra/ssh/host-key";

/** `ProxyConnection` of the real provider: the bastion host, same fields and defaults. */
export interface ProxyConnection {
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

export interface Connection extends ProxyConnection {
  proxy?: ProxyConnection;
}

/** The fields of a proxy connection (all of the real `ProxyConnection`'s). */
export const proxyConnectionKeys: readonly string[] = [
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

/** The connection properties this stand-in implements: all of the real `Connection`'s. */
export const connectionKeys: readonly string[] = [...proxyConnectionKeys, "proxy"];

/** A proxy connection the stand-in can use, or an error naming the first field it cannot. */
export function checkProxy(proxy: unknown): string | undefined {
  if (proxy == null) return undefined;
  if (typeof proxy !== "object" || Array.isArray(proxy)) return "connection.proxy must be an object";
  for (const [key, value] of Object.entries(proxy)) {
    if (value != null && !proxyConnectionKeys.includes(key))
      return `connection.proxy.${key} is not supported by the offline stand-in`;
  }
  if (typeof (proxy as ProxyConnection).host !== "string" || !(proxy as ProxyConnection).host)
    return "connection.proxy.host is required";
  return undefined;
}

type Log = (message: string) => void;

/** The real plugin's message for a host that presents another key than `hostKey`. */
export const HOST_KEY_MISMATCH = "ssh: handshake failed: ssh: host key mismatch";

function hostKeyConfig(c: ProxyConnection): Pick<ConnectConfig, "hostVerifier" | "algorithms"> {
  if (c.hostKey === undefined) return {};
  if (!parseHostKey(c.hostKey)) throw new Error("failed to parse host key: ssh: no key found");
  return pinnedConnectConfig(c.hostKey);
}

function connectConfig(c: ProxyConnection): ConnectConfig {
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

/** Runs `attempt` until it succeeds or `limit` tries have failed (-1: no limit). */
async function withRetry<T>(what: string, limit: number, log: Log, attempt: () => Promise<T>): Promise<T> {
  let delay = 1000;
  for (let failures = 1; ; failures++) {
    try {
      return await attempt();
    } catch (err) {
      if (limit !== -1 && failures >= limit) {
        throw new Error(`ssh: ${what} failed ${failures} times: ${(err as Error).message}`);
      }
      log(`ssh: ${what}: try ${failures} failed (${(err as Error).message}); retrying in ${delay / 1000}s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 1.5, 5000);
    }
  }
}

/** Dial, retrying as the real provider does (through `proxy` when given); the caller must `end()` the client. */
export async function dial(c: Connection, log: Log = () => undefined): Promise<Client> {
  const config = connectConfig(c);
  const target = `${config.username}@${c.host}:${config.port}`;
  if (!c.proxy) return withRetry(`dialing ${target}`, c.dialErrorLimit ?? 10, log, () => dialOnce(config));

  const problem = checkProxy(c.proxy);
  if (problem) throw new Error(`proxy: ${problem}`);
  let proxyConfig: ConnectConfig;
  try {
    proxyConfig = connectConfig(c.proxy);
  } catch (err) {
    throw new Error(`proxy: ${(err as Error).message}`);
  }
  const bastion = `${proxyConfig.username}@${c.proxy.host}:${proxyConfig.port}`;
  const proxyClient = await withRetry(`dialing proxy ${bastion}`, c.proxy.dialErrorLimit ?? 10, log, () =>
    dialOnce(proxyConfig),
  ).catch((err: Error) => {
    throw new Error(`proxy: ${err.message}`);
  });
  try {
    const channel = await withRetry(
      `dialing ${c.host}:${config.port} from proxy ${bastion}`,
      c.dialErrorLimit ?? 10,
      log,
      () => forward(proxyClient, c.host, config.port!),
    );
    const client = await dialOnce({ ...config, sock: channel }).catch((err: Error) => {
      throw new Error(`ssh: handshake with ${target} through proxy ${bastion} failed: ${err.message}`);
    });
    // The jump connection lives as long as the target's.
    client.once("close", () => proxyClient.end());
    return client;
  } catch (err) {
    proxyClient.end();
    throw new Error(`proxy: ${(err as Error).message}`);
  }
}

/** A TCP channel from the proxy to host:port (what `ssh -J` opens). */
function forward(proxy: Client, host: string, port: number): Promise<ConnectConfig["sock"]> {
  return new Promise((resolve, reject) =>
    proxy.forwardOut("127.0.0.1", 0, host, port, (err, stream) => (err ? reject(err) : resolve(stream))),
  );
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
