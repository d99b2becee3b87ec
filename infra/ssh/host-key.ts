/**
 * SSH host keys: the one module that reads a pinned key and checks a host against it, used by
 * the Pulumi program (before anything is sent to a host), the operator commands and the
 * offline command-plugin stand-in.
 *
 * A pinned key is one OpenSSH public-key line (`ssh-ed25519 AAAA… [comment]`). Like the real
 * `@pulumi/command` plugin, a connection with `hostKey` offers only that key's algorithm and
 * accepts only that exact key.
 */
import { createHash } from "crypto";
import { Client, type ConnectConfig } from "ssh2";

export interface PublicHostKey {
  /** Algorithm, e.g. `ssh-ed25519`. */
  readonly type: string;
  /** The key in SSH wire format. */
  readonly blob: Buffer;
  /** `type base64`, without a comment. */
  readonly line: string;
}

/**
 * Algorithms a key can be pinned with. `ssh-rsa` is not one: the real plugin would offer only
 * the SHA-1 `ssh-rsa` signature for it, which OpenSSH ≥ 8.8 refuses.
 */
export const PINNABLE_KEY_TYPES: readonly string[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
];

/** Which of a host's keys to pin when it offers several (most preferred first). */
const PREFERENCE = PINNABLE_KEY_TYPES;

function embeddedType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const length = blob.readUInt32BE(0);
  if (length <= 0 || length > 64 || 4 + length > blob.length) return undefined;
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** One key from a line of `type base64 [comment]`, possibly after options or a host field. */
function keyOfLine(line: string): PublicHostKey | undefined {
  const fields = line.trim().split(/\s+/);
  for (let i = 0; i + 1 < fields.length; i++) {
    if (!/^[a-z0-9@.-]+$/.test(fields[i]) || !/^[A-Za-z0-9+/]+={0,2}$/.test(fields[i + 1])) continue;
    const blob = Buffer.from(fields[i + 1], "base64");
    if (embeddedType(blob) !== fields[i]) continue;
    // An ed25519 key is exactly its type and 32 bytes (Go's parser refuses anything else).
    if (fields[i] === "ssh-ed25519" && (blob.length !== 51 || blob.readUInt32BE(15) !== 32)) continue;
    return { type: fields[i], blob, line: `${fields[i]} ${fields[i + 1]}` };
  }
  return undefined;
}

/**
 * Every key in a text of authorized_keys, known_hosts, `ssh-keyscan` or `.pub` lines; blank
 * lines and `#` comments are skipped.
 */
export function parseHostKeys(text: string): PublicHostKey[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map(keyOfLine)
    .filter((k): k is PublicHostKey => k !== undefined);
}

/** The first key of a text (what the real plugin's `ssh.ParseAuthorizedKey` reads), or undefined. */
export function parseHostKey(text: string): PublicHostKey | undefined {
  return parseHostKeys(text)[0];
}

/** Why a configured or collected key cannot be pinned, or undefined when it can. */
export function hostKeyProblem(text: string): string | undefined {
  const key = parseHostKey(text);
  if (!key) return "is not an SSH public key line such as `ssh-ed25519 AAAA…`";
  if (!PINNABLE_KEY_TYPES.includes(key.type))
    return `is a ${key.type} key: pin an ${PINNABLE_KEY_TYPES.join(" / ")} key (ssh-rsa pins fail against OpenSSH ≥ 8.8)`;
  return undefined;
}

/** The key to pin among those a host offers (ssh-keyscan output, a host's `.pub` files). */
export function preferredHostKey(text: string): string {
  const keys = parseHostKeys(text).filter((k) => PINNABLE_KEY_TYPES.includes(k.type));
  keys.sort((a, b) => PREFERENCE.indexOf(a.type) - PREFERENCE.indexOf(b.type));
  if (keys.length === 0)
    throw new Error(
      `no pinnable SSH host key (${PINNABLE_KEY_TYPES.join(", ")}) in: ${text.trim().slice(0, 200)}`,
    );
  return keys[0].line;
}

/** OpenSSH's fingerprint of a key: `SHA256:<base64, unpadded>`. */
export function fingerprint(key: PublicHostKey | Buffer): string {
  const blob = Buffer.isBuffer(key) ? key : key.blob;
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** Thrown when a host presents another key than the pinned one. Nothing was sent to it. */
export class HostKeyChangedError extends Error {
  constructor(
    readonly hostName: string,
    readonly endpoint: string,
    readonly pinned: string,
    readonly presented: string,
  ) {
    super(
      `SSH host key of host "${hostName}" (${endpoint}) changed: pinned ${pinned}, it now presents ${presented}. ` +
        `Refusing to connect; nothing was sent to it. If the host was rebuilt on purpose, ` +
        `re-pin it (docker/aws: replace the host; existing: update hostKey in the stack file or ` +
        `\`pulumi up --replace\` its host-key resource).`,
    );
    this.name = "HostKeyChangedError";
  }
}

/** ssh2 settings that make a connection accept only `pinned` (the real plugin's semantics). */
export function pinnedConnectConfig(
  pinned: string,
  onMismatch?: (presented: Buffer) => void,
): Pick<ConnectConfig, "hostVerifier" | "algorithms"> {
  const key = parseHostKey(pinned);
  if (!key) throw new Error(`failed to parse host key: ssh: no key found`);
  return {
    algorithms: { serverHostKey: [key.type as never] },
    hostVerifier: (presented: Buffer) => {
      const ok = presented.equals(key.blob);
      if (!ok) onMismatch?.(presented);
      return ok;
    },
  };
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** What one key exchange with a host showed. */
export type HostKeyCheck =
  | { readonly result: "match" }
  | { readonly result: "changed"; readonly presented: string }
  | { readonly result: "unreachable"; readonly reason: string };

/**
 * Key exchange only: connects, compares the host's key with `pinned` and disconnects before
 * authenticating (no user name, key or command ever leaves this machine). `sock` lets the
 * exchange run through a jump host's forwarded channel.
 */
export function checkHostKey(
  endpoint: Endpoint,
  pinned: string,
  opts: { timeoutMs?: number; sock?: NodeJS.ReadableStream & NodeJS.WritableStream } = {},
): Promise<HostKeyCheck> {
  return new Promise((resolve) => {
    const client = new Client();
    let seen: Buffer | undefined;
    let settled = false;
    const done = (check: HostKeyCheck) => {
      if (settled) return;
      settled = true;
      client.end();
      resolve(check);
    };
    const config = pinnedConnectConfig(pinned);
    const expected = parseHostKey(pinned)!;
    client.on("error", (err) => {
      if (seen) {
        done({ result: "changed", presented: `${expected.type} ${fingerprint(seen)}` });
      } else done({ result: "unreachable", reason: err.message });
    });
    // Authentication is never attempted: `none` with a user nobody has, and the key check comes first.
    client.on("ready", () => done({ result: "match" }));
    client.connect({
      host: endpoint.host,
      port: endpoint.port,
      sock: opts.sock as never,
      username: "saltpipe-host-key-check",
      readyTimeout: opts.timeoutMs ?? 10_000,
      algorithms: config.algorithms,
      hostVerifier: (key: Buffer) => {
        if (key.equals(expected.blob)) {
          // The key matches: stop here, before any authentication.
          setImmediate(() => done({ result: "match" }));
          return true;
        }
        seen = key;
        return false;
      },
    });
  });
}

/** Throws HostKeyChangedError when a reachable host presents another key; unreachable hosts pass. */
export async function assertHostKey(
  hostName: string,
  endpoint: Endpoint,
  pinned: string,
  opts: { timeoutMs?: number; sock?: NodeJS.ReadableStream & NodeJS.WritableStream } = {},
): Promise<void> {
  const check = await checkHostKey(endpoint, pinned, opts);
  if (check.result === "changed") {
    throw new HostKeyChangedError(
      hostName,
      `${endpoint.host}:${endpoint.port}`,
      `${parseHostKey(pinned)!.type} ${fingerprint(parseHostKey(pinned)!)}`,
      check.presented,
    );
  }
}
