/**
 * Every SSH connection the operator command (`saltpipe`) makes to a stack's master: one
 * module, so connection policy (keys, timeouts, host-key checks) lives in one place.
 * Through it run Salt runners (`salt-run --out=json …`) and the event stream the deploy
 * fires (`salt-run state.event …`).
 */
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { fingerprint, HostKeyChangedError, parseHostKey, pinnedConnectConfig } from "./host-key";

/** How the master is reached, as the stack output `masterSsh` gives it. */
export interface MasterSsh {
  /** The master's host name in the stack (for messages). */
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The master's pinned SSH host key: a master presenting another key is refused. */
  readonly hostKey?: string;
}

export interface MasterAccess {
  readonly stack: string;
  readonly environment: string;
  readonly ssh: MasterSsh;
  /** The private key (PEM or OpenSSH text); never printed. */
  readonly privateKey: string;
  /** Where the key came from, for error messages ("stack output masterSshKey", a file…). */
  readonly keySource: string;
}

/** The master could not be reached or did not answer: exit code 2. */
export class UnreachableError extends Error {}

/** A runner's JSON answer and the exit code of `salt-run`. */
export interface RunnerReply {
  readonly code: number;
  readonly data: unknown;
}

/** A stream of output lines from a long-running command on the master. */
export interface LineStream {
  /** Stops the command (closes its channel). */
  stop(): void;
  /** Settles when the command ended or was stopped. */
  readonly done: Promise<void>;
}

/** What the commands need from the master; the unit tests pass a fake. */
export interface Master {
  runner(fn: string, args: readonly string[]): Promise<RunnerReply>;
  /** Runs `command` and hands each output line (without its line break) to `onLine`. */
  lines(command: string, onLine: (line: string) => void): LineStream;
  close(): void;
}

export const CONNECT_TIMEOUT_MS = 10_000;

export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** `salt-run` as root: through `sudo -n` for another user. */
export function saltRun(user: string, fn: string, args: readonly string[], flags: readonly string[]): string {
  const sudo = user === "root" ? "" : "sudo -n ";
  return `${sudo}salt-run ${flags.join(" ")} ${[fn, ...args].map(shellWord).join(" ")}`.replace(/\s+$/, "");
}

function describe(access: MasterAccess): string {
  const { host, port, user } = access.ssh;
  return `${user}@${host}:${port} with the key from ${access.keySource}`;
}

/** Opens one SSH connection to the master; every runner and stream shares it. */
export function connectMaster(access: MasterAccess, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Master> {
  const { host, port, user, hostKey } = access.ssh;
  const name = access.ssh.name ?? "master";
  const pinned = hostKey ? parseHostKey(hostKey) : undefined;
  if (!pinned) {
    return Promise.reject(
      new UnreachableError(
        `stack "${access.stack}" has no pinned SSH host key for its master "${name}" (output masterSsh.hostKey): ` +
          `run pulumi up --stack ${access.stack} once to pin it`,
      ),
    );
  }
  // Only the pinned key is accepted; a mismatch ends the handshake before anything is sent.
  let changed: HostKeyChangedError | undefined;
  const config: ConnectConfig = {
    host,
    port,
    username: user,
    privateKey: access.privateKey,
    readyTimeout: timeoutMs,
    keepaliveInterval: 15_000,
    ...pinnedConnectConfig(hostKey!, (presented) => {
      changed = new HostKeyChangedError(
        name,
        `${host}:${port}`,
        `${pinned.type} ${fingerprint(pinned)}`,
        `${pinned.type} ${fingerprint(presented)}`,
      );
    }),
  };
  return new Promise((resolve, reject) => {
    const client = new Client();
    let ready = false;
    client
      .on("ready", () => {
        ready = true;
        resolve(sshMaster(client, access));
      })
      .on("error", (err) => {
        if (ready) return; // reported by the channel that was running
        if (changed) return reject(new UnreachableError(changed.message));
        reject(
          new UnreachableError(
            `cannot reach the master of stack "${access.stack}" over SSH: tried ${describe(access)} (${err.message}). ` +
              `Is the stack up (pulumi up --stack ${access.stack}), and does this machine reach ${host}:${port}?`,
          ),
        );
      });
    try {
      client.connect(config);
    } catch (err) {
      reject(
        new UnreachableError(`cannot use the SSH key from ${access.keySource}: ${(err as Error).message}`),
      );
    }
  });
}

function sshMaster(client: Client, access: MasterAccess): Master {
  const user = access.ssh.user;
  const exec = (command: string, pty: boolean): Promise<ClientChannel> =>
    new Promise((resolve, reject) =>
      client.exec(command, pty ? { pty: { term: "dumb", cols: 4000 } } : {}, (err, channel) =>
        err
          ? reject(
              new UnreachableError(
                `cannot run a command on the master (${describe(access)}): ${err.message}`,
              ),
            )
          : resolve(channel),
      ),
    );
  return {
    async runner(fn, args) {
      const channel = await exec(saltRun(user, fn, args, ["--out=json", "--no-color", "-l", "quiet"]), false);
      return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        channel.on("data", (d: Buffer) => (stdout += d.toString()));
        channel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        channel.on("close", (code: number | null) => {
          try {
            resolve({ code: code ?? 255, data: JSON.parse(stdout) });
          } catch {
            const said = (stderr || stdout).trim().slice(-800) || "no output";
            reject(new UnreachableError(`${fn} gave no answer on the master (exit ${code}): ${said}`));
          }
        });
      });
    },
    lines(command, onLine) {
      let channel: ClientChannel | undefined;
      let stopped = false;
      const done = exec(command, true).then(
        (ch) =>
          new Promise<void>((resolve) => {
            channel = ch;
            if (stopped) ch.close();
            let pending = "";
            ch.on("data", (d: Buffer) => {
              pending += d.toString();
              const parts = pending.split("\n");
              pending = parts.pop() ?? "";
              for (const part of parts) onLine(part.replace(/\r$/, ""));
            });
            ch.on("close", () => resolve());
          }),
      );
      return {
        stop() {
          stopped = true;
          channel?.close();
        },
        done,
      };
    },
    close() {
      client.end();
    },
  };
}
