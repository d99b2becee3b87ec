/** Runs Salt runners on a stack's master over SSH and returns their JSON. */
import { Client } from "ssh2";
import {
  fingerprint,
  HostKeyChangedError,
  parseHostKey,
  pinnedConnectConfig,
} from "../../infra/ssh/host-key";
import { OpsError, type StackAccess } from "./stack";

const CONNECT_TIMEOUT_MS = 10_000;

function quote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** `salt-run --out=json <fn> <args…>` on the master; throws with the runner's message on failure. */
export function runner(access: StackAccess, fn: string, args: readonly string[]): Promise<unknown> {
  const sudo = access.masterSsh.user === "root" ? "" : "sudo -n ";
  const commandLine = `${sudo}salt-run --out=json --no-color -l quiet ${[fn, ...args].map(quote).join(" ")}`;
  const { host, port, user, hostKey } = access.masterSsh;
  const name = access.masterSsh.name ?? "master";
  if (!hostKey || !parseHostKey(hostKey)) {
    return Promise.reject(
      new OpsError(
        `stack "${access.stack}" has no pinned SSH host key for its master "${name}": run pulumi up once to pin it`,
      ),
    );
  }
  let changed: HostKeyChangedError | undefined;
  const pinned = pinnedConnectConfig(hostKey, (presented) => {
    const key = parseHostKey(hostKey)!;
    changed = new HostKeyChangedError(
      name,
      `${host}:${port}`,
      `${key.type} ${fingerprint(key)}`,
      `${key.type} ${fingerprint(presented)}`,
    );
  });
  return new Promise((resolve, reject) => {
    const client = new Client();
    const fail = (message: string) => {
      client.end();
      reject(new OpsError(message));
    };
    client
      .on("ready", () => {
        client.exec(commandLine, (err, channel) => {
          if (err) return fail(`cannot run ${fn} on the master: ${err.message}`);
          let stdout = "";
          let stderr = "";
          channel.on("data", (d: Buffer) => (stdout += d.toString()));
          channel.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
          channel.on("close", (code: number) => {
            client.end();
            let parsed: unknown;
            try {
              parsed = JSON.parse(stdout);
            } catch {
              return reject(
                new OpsError(
                  `${fn} failed on the master (exit ${code}): ${(stderr || stdout).trim().slice(-500)}`,
                ),
              );
            }
            if (code !== 0)
              return reject(
                new OpsError(`${fn} failed on the master: ${JSON.stringify(parsed).slice(0, 500)}`),
              );
            resolve(parsed);
          });
        });
      })
      .on("error", (err) =>
        changed
          ? fail(changed.message)
          : fail(
              `cannot reach the master of stack "${access.stack}" at ${user}@${host}:${port} over SSH (${err.message}). ` +
                `Is the stack up? (npm run up:local, or pulumi up --stack ${access.stack})`,
            ),
      )
      .connect({
        host,
        port,
        username: user,
        privateKey: access.privateKey,
        readyTimeout: CONNECT_TIMEOUT_MS,
        ...pinned,
      });
  });
}
