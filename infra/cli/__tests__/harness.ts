/**
 * The `saltpipe` command's test harness: a scripted master (runner answers and an event
 * stream), captured output, and the status the scripted master reports.
 */
import type { Master, MasterAccess, RunnerReply } from "../master";
import { run } from "../program";
import type { Deps } from "../session";

/** A digest whose short form (12 hex) is `n` twelve times. */
export const D = (n: number) => `sha256:${n.toString(16).repeat(64)}`;
export const NOW = Date.now() / 1000;

export interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** A master that answers runners from `answers` and streams `events` once the watch is ready. */
export class FakeMaster implements Master {
  calls: { fn: string; args: readonly string[] }[] = [];
  private onLine?: (line: string) => void;
  private stopped = false;
  private resolveDone: () => void = () => undefined;

  constructor(
    private readonly answers: Record<string, (args: readonly string[]) => unknown>,
    private readonly events: [string, unknown][] = [],
  ) {}

  async runner(fn: string, args: readonly string[]): Promise<RunnerReply> {
    this.calls.push({ fn, args });
    if (fn === "event.send") {
      this.onLine?.(`${args[0]}\t{"_stamp": "now"}`);
      // The deploy's events follow, one per tick, as the master's bus would deliver them.
      setTimeout(() => this.play(), 5);
      return { code: 0, data: true };
    }
    const answer = this.answers[fn];
    if (!answer) throw new Error(`unexpected runner ${fn}`);
    const data = answer(args);
    return { code: (data as { result?: boolean }).result === false ? 1 : 0, data };
  }

  private play() {
    for (const [tag, data] of this.events.splice(0))
      if (!this.stopped) this.onLine?.(`${tag}\t${JSON.stringify(data)}`);
  }

  lines(command: string, onLine: (line: string) => void) {
    this.calls.push({ fn: "lines", args: [command] });
    this.onLine = onLine;
    onLine("[WARNING ] a log line that is no event");
    return {
      stop: () => {
        this.stopped = true;
        this.resolveDone();
      },
      done: new Promise<void>((resolve) => (this.resolveDone = resolve)),
    };
  }

  closed = false;
  close() {
    this.closed = true;
  }
}

export const ACCESS: MasterAccess = {
  stack: "dev",
  environment: "dev",
  ssh: { host: "198.51.100.7", port: 22, user: "ubuntu" },
  privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
  keySource: 'stack output masterSshKey of "dev"',
};

function out(tty = false) {
  const chunks: string[] = [];
  return { chunks, stream: { write: (s: string) => chunks.push(s), isTTY: tty } };
}

export async function cli(argv: string[], master?: FakeMaster, over: Partial<Deps> = {}): Promise<Captured> {
  const stdout = out((over.stdout as { isTTY?: boolean } | undefined)?.isTTY);
  const stderr = out();
  const code = await run(argv, {
    env: {},
    access: () => ACCESS,
    connect: async () => {
      if (!master) throw new Error("no master in this test");
      return master;
    },
    operator: "alice@ops host",
    streamStartMs: 2000,
    ...over,
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { code, stdout: stdout.chunks.join(""), stderr: stderr.chunks.join("") };
}

export const STATUS = {
  result: true,
  environment: "dev",
  current: D(2),
  current_tag: "dev-2",
  current_since: NOW - 240,
  current_by: "approved",
  previous: [{ digest: D(1), tag: "dev-1" }],
  claim: null,
  pending: null,
  approval: { digest: D(3), tag: "dev-3", expires: NOW + 600 },
  approval_required: true,
  deploys: [
    {
      digest: D(2),
      tag: "dev-2",
      kind: "approved",
      approver: "bob@laptop",
      result: true,
      reason: "",
      finished: NOW - 240,
      duration: 12.5,
    },
    {
      digest: D(9),
      tag: "dev-9",
      kind: "push",
      approver: "",
      result: false,
      reason: "batch 1 failed",
      finished: NOW - 900,
      duration: 31,
    },
    {
      digest: D(1),
      tag: "dev-1",
      kind: "push",
      approver: "",
      result: true,
      reason: "",
      finished: NOW - 3600,
      duration: 10,
    },
  ],
  minions: [
    {
      id: "web-1",
      answered: true,
      os: "Ubuntu 24.04",
      salt: "3008.4",
      digest: D(2),
      since: NOW - 240,
      serving: true,
      proxy: "healthy (200)",
      on_current: true,
      last_result: "ok",
    },
    {
      id: "web-2",
      answered: true,
      os: "CentOS Stream 9",
      salt: "3008.4",
      digest: D(1),
      since: NOW - 3600,
      serving: true,
      proxy: "healthy (200)",
      on_current: false,
      last_result: "failed: health check failed",
    },
  ],
  audit: [
    { at: "2026-12-02T00:00:00Z", event: "received", digest: D(1), action: "deploy" },
    { at: "2026-12-02T00:01:00Z", event: "deploy", digest: D(1), result: true },
    { at: "2026-12-02T00:02:00Z", event: "approved", digest: D(2), approver: "bob@laptop" },
  ],
};
