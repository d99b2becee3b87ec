/**
 * One run of the `saltpipe` command: what it depends on (output streams, the stack's outputs,
 * the SSH connection: fakes in the unit tests), the options every subcommand takes, and the
 * connection to the master, opened once and only when a subcommand needs it.
 */
import * as os from "os";
import { connectMaster, UnreachableError, type Master, type MasterAccess } from "./master";
import { CliError, EXIT } from "./errors";
import type { Json } from "./format";
import { stackAccess, type StackOptions } from "./stack";

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Deps {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  /** Stack outputs → master access (default: through the Pulumi CLI). */
  readonly access: (opts: StackOptions) => MasterAccess;
  /** Opens the SSH connection (default: ssh2). */
  readonly connect: (access: MasterAccess) => Promise<Master>;
  /** Recorded as the approver of rollbacks, approvals and rejections. */
  readonly operator: string;
  /** How long `watch` waits for the master's event stream to start, in ms. */
  readonly streamStartMs?: number;
}

export function defaultDeps(): Deps {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    access: stackAccess,
    connect: (access) => connectMaster(access),
    operator: `${os.userInfo().username}@${os.hostname()}`,
  };
}

export interface CommonOptions {
  readonly stack: string;
  readonly json?: boolean;
  readonly outputs?: string;
  readonly identity?: string;
  readonly cwd?: string;
}

export class Session {
  private master?: Master;
  private access?: MasterAccess;

  constructor(
    readonly deps: Deps,
    readonly opts: CommonOptions,
  ) {}

  get json(): boolean {
    return Boolean(this.opts.json);
  }

  out(text: string): void {
    this.deps.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }

  stackAccess(): MasterAccess {
    this.access ??= this.deps.access({
      stack: this.opts.stack,
      outputs: this.opts.outputs,
      identity: this.opts.identity,
      cwd: this.opts.cwd,
      env: this.deps.env,
    });
    return this.access;
  }

  get environment(): string {
    return this.stackAccess().environment;
  }

  async connect(): Promise<Master> {
    this.master ??= await this.deps.connect(this.stackAccess());
    return this.master;
  }

  /** A runner's answer; a refusal (`result: false`) is returned, not thrown. */
  async runner(fn: string, args: string[]): Promise<Json> {
    const master = await this.connect();
    const reply = await master.runner(fn, [this.environment, ...args]);
    const data = reply.data;
    if (typeof data !== "object" || data === null || Array.isArray(data)) {
      throw new UnreachableError(`${fn} answered ${JSON.stringify(data).slice(0, 300)} (exit ${reply.code})`);
    }
    return data as Json;
  }

  close(): void {
    this.master?.close();
  }
}

/** Status refused by the master → exit 1 with its message. */
export function refusal(what: string, data: Json): CliError {
  return new CliError(
    `${what}: ${String(data.error ?? data.reason ?? "refused by the master")}`,
    EXIT.FAILED,
  );
}
