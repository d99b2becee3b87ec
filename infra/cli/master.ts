/**
 * Every SSH connection the operator command (`saltpipe`) makes to a stack's master: one
 * module, so connection policy (keys, timeouts, host-key checks) lives in one place.
 * Through it run the deploy lifecycle's runner functions (by the master's operator engine, or
 * `salt-run --out=json …` where it has none) and the event stream the deploy fires
 * (`salt-run state.event …`).
 */
import { randomBytes } from "crypto";
import { Client, type ClientChannel, type ConnectConfig } from "ssh2";
import { fingerprint, HostKeyChangedError, parseHostKey, pinnedConnectConfig } from "../ssh/host-key";

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
  /** The master's operator engine directory, when not OPERATOR_DIR (a master with another cachedir). */
  readonly operatorDir?: string;
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

/** Where the master's `saltpipe_operator` engine takes requests (salt-states/salt/_engines/saltpipe_operator.py). */
export const OPERATOR_DIR = "/var/cache/salt/master/saltpipe/operator";
/** Polls of 20 ms: the engine looks every 20 ms; a request still untaken after 3 s is withdrawn. */
const POLL_SECONDS = 0.02;
const PICKUP_POLLS = 150;
/** The answer of a taken request is awaited up to one hour (a deploy's own bounds are shorter). */
const ANSWER_POLLS = 180_000;
/** The request script's exit codes: withdrawn untaken (no engine: use salt-run) and no answer. */
const NOT_TAKEN = 90;
const NO_ANSWER = 91;

/**
 * The bash script that asks the master's `saltpipe_operator` engine to run `fn` (no Python
 * process per command): it writes the request (as root, 0600; `created` by the master's own
 * clock), waits for the answer file, prints it and removes it. Exits NOT_TAKEN when the
 * engine is not there (no directory, or the request stayed untaken and was withdrawn). Its
 * 20 ms naps are `read -t` on a private FIFO nobody writes to: a builtin, not a `sleep`
 * process per poll.
 */
export function operatorRequestScript(
  user: string,
  id: string,
  fn: string,
  args: readonly string[],
  dir = OPERATOR_DIR,
): string {
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(id)) throw new Error(`invalid request id ${JSON.stringify(id)}`);
  const head = JSON.stringify({ fun: fn, args }).slice(0, -1) + ',"created":';
  const script = [
    `d=${shellWord(dir)}; id=${id}`,
    `[ -d "$d/requests" ] && [ -d "$d/answers" ] || exit ${NOT_TAKEN}`,
    "umask 077",
    `nap="$d/answers/.$id.nap"; mkfifo "$nap" && exec 3<>"$nap" && rm -f "$nap" || exit ${NOT_TAKEN}`,
    `{ printf '%s' ${shellWord(head)}; date +%s; printf '}'; } > "$d/requests/.$id.tmp" || exit ${NOT_TAKEN}`,
    `mv -f "$d/requests/.$id.tmp" "$d/requests/$id.json" || exit ${NOT_TAKEN}`,
    "n=0",
    'while [ ! -e "$d/answers/$id.json" ]; do',
    `  if [ "$n" -eq ${PICKUP_POLLS} ] && rm "$d/requests/$id.json" 2>/dev/null; then exit ${NOT_TAKEN}; fi`,
    `  [ "$n" -lt ${ANSWER_POLLS} ] || exit ${NO_ANSWER}`,
    `  read -r -t ${POLL_SECONDS} -u 3 _; n=$((n + 1))`,
    "done",
    'cat "$d/answers/$id.json" && rm -f "$d/answers/$id.json"',
  ].join("\n");
  const sudo = user === "root" ? "" : "sudo -n ";
  return `${sudo}bash -c ${shellWord(script)}`;
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
  /** Runs `command` to its end: exit code, stdout, stderr. */
  const collect = async (command: string) => {
    const channel = await exec(command, false);
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      let stdout = "";
      let stderr = "";
      channel.on("data", (d: Buffer) => (stdout += d.toString()));
      channel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      channel.on("close", (code: number | null) => resolve({ code: code ?? 255, stdout, stderr }));
    });
  };
  const saltRunReply = async (fn: string, args: readonly string[]): Promise<RunnerReply> => {
    const ran = await collect(saltRun(user, fn, args, ["--out=json", "--no-color", "-l", "quiet"]));
    try {
      return { code: ran.code, data: JSON.parse(ran.stdout) };
    } catch {
      const said = (ran.stderr || ran.stdout).trim().slice(-800) || "no output";
      throw new UnreachableError(`${fn} gave no answer on the master (exit ${ran.code}): ${said}`);
    }
  };
  /** Through the master's operator engine; undefined when it did not take the request. */
  const engineReply = async (fn: string, args: readonly string[]): Promise<RunnerReply | undefined> => {
    const id = randomBytes(12).toString("hex");
    const ran = await collect(operatorRequestScript(user, id, fn, args, access.operatorDir ?? OPERATOR_DIR));
    if (ran.code === NO_ANSWER)
      throw new UnreachableError(`the master took the ${fn} request but gave no answer within an hour`);
    if (ran.code !== 0) return undefined; // no engine (or sudo refused bash): nothing was asked
    let answer: { code?: unknown; data?: unknown } | undefined;
    try {
      answer = JSON.parse(ran.stdout) as typeof answer;
    } catch {
      answer = undefined;
    }
    if (
      typeof answer !== "object" ||
      answer === null ||
      typeof answer.code !== "number" ||
      !("data" in answer)
    )
      throw new UnreachableError(
        `the master's operator engine gave an answer to ${fn} that is not {code, data}: ${ran.stdout.trim().slice(-300)}`,
      );
    return { code: answer.code, data: answer.data };
  };
  return {
    async runner(fn, args) {
      // The deploy lifecycle's own runner functions go through the operator engine when the
      // master has it (no Salt process per command); anything else, and older masters, salt-run.
      const fast = fn.startsWith("saltpipe.") ? await engineReply(fn, args) : undefined;
      return fast ?? saltRunReply(fn, args);
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
