/**
 * The `saltpipe` command with the SSH side faked (a scripted master) and, for the stack side,
 * a real stand-in `pulumi` executable: every command's --help, each documented error, the
 * human and JSON output, and `watch` following a scripted event stream.
 */
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { connectMaster, type Master, type MasterAccess, type RunnerReply } from "../master";
import { EXIT } from "../errors";
import { run, type Deps } from "../program";
import { describeEvent } from "../watch";
import { stackAccess } from "../stack";
import { ed25519KeyPair } from "../../../test/support/ssh-keys";

/** A digest whose short form (12 hex) is `n` twelve times. */
const D = (n: number) => `sha256:${n.toString(16).repeat(64)}`;
const NOW = Date.now() / 1000;

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** A master that answers runners from `answers` and streams `events` once the watch is ready. */
class FakeMaster implements Master {
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

const ACCESS: MasterAccess = {
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

async function cli(argv: string[], master?: FakeMaster, over: Partial<Deps> = {}): Promise<Captured> {
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

const STATUS = {
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

describe("--help", () => {
  test.each(["status", "history", "watch", "rollback", "approve", "reject"])(
    "%s --help: usage, options, exit codes",
    async (cmd) => {
      const r = await cli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: saltpipe ${cmd}`);
      for (const text of [
        "--stack <name>",
        "--json",
        "--outputs <file>",
        "--identity <file>",
        "Exit codes:",
        "2  usage error",
      ])
        expect(r.stdout).toContain(text);
    },
  );

  test("saltpipe --help lists every command and the exit codes", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of ["status", "history", "watch", "rollback", "approve", "reject"])
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    expect(r.stdout).toContain("masterSshKey");
  });

  test("no arguments: the help, exit 2", async () => {
    const r = await cli([]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stdout).toContain("Usage: saltpipe");
  });
});

describe("usage errors exit 2 and say what is wrong", () => {
  test.each([
    [["status"], "required option '--stack <name>' not specified"],
    [["bogus", "--stack", "dev"], "unknown command 'bogus'"],
    [["rollback", "--stack", "dev", "--to", "abc"], 'want a digest sha256:<64 hex>, got "abc"'],
    [["approve", "sha256:12", "--stack", "dev"], 'want a digest sha256:<64 hex>, got "sha256:12"'],
    [["history", "--stack", "dev", "--result", "maybe"], "Allowed choices are ok, failed"],
    [["history", "--stack", "dev", "--page", "0"], 'want a whole number ≥ 1, got "0"'],
    [["status", "--stack", "dev", "--bogus"], "unknown option '--bogus'"],
  ])("%j", async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(message);
  });
});

describe("the stack side (a stand-in pulumi executable)", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-cli-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A `pulumi` that runs `script` (bash, with "$@"). */
  function fakePulumi(name: string, script: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/bash\n${script}\n`, { mode: 0o755 });
    return file;
  }

  const real = (env: NodeJS.ProcessEnv, argv: string[]) => cli(argv, undefined, { env, access: stackAccess });

  test("no such stack: the stacks that exist and how to select the backend", async () => {
    const pulumi = fakePulumi(
      "nostack",
      `[[ "$1 $2" == "stack ls" ]] && { echo '[{"name":"dev"},{"name":"test"}]'; exit 0; }
       echo "error: no stack named 'prod' found" >&2; exit 255`,
    );
    const r = await real({ SALTPIPE_PULUMI: pulumi }, ["status", "--stack", "prod"]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('no stack "prod" in the selected backend; stacks there: dev, test.');
    expect(r.stderr).toContain("PULUMI_BACKEND_URL is not set");
    expect(r.stderr).toContain("Select the backend with PULUMI_BACKEND_URL=<url>");
    expect(r.stderr).toContain("pulumi said: error: no stack named 'prod' found");
  });

  test("a failing `pulumi stack output` shows the CLI's own error, not an empty one", async () => {
    const pulumi = fakePulumi(
      "decrypt",
      `echo "error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE" >&2; exit 255`,
    );
    const r = await real({ SALTPIPE_PULUMI: pulumi, PULUMI_BACKEND_URL: "file:///srv/state" }, [
      "status",
      "--stack",
      "prod",
    ]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(
      'pulumi stack output failed for stack "prod": error: getting secrets manager: passphrase must be set with PULUMI_CONFIG_PASSPHRASE',
    );
    expect(r.stderr).toContain("PULUMI_BACKEND_URL is file:///srv/state");
  });

  test("the pulumi CLI missing: say how to get it or what to pass instead", async () => {
    const r = await real({ SALTPIPE_PULUMI: path.join(dir, "not-there") }, ["status", "--stack", "prod"]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("the Pulumi CLI is not on PATH");
    expect(r.stderr).toContain("--outputs FILE");
  });

  test("the outputs are read with secrets, and --stack is passed", async () => {
    const log = path.join(dir, "args.log");
    const pulumi = fakePulumi("args", `echo "$@" >> ${log}; echo '{}'`);
    const r = await real({ SALTPIPE_PULUMI: pulumi }, ["status", "--stack", "prod", "--json"]);
    expect(fs.readFileSync(log, "utf8")).toContain("stack output --json --show-secrets --stack prod");
    expect(r.code).toBe(EXIT.USAGE);
    // --json: the error is also one JSON object on stdout.
    expect(JSON.parse(r.stdout)).toMatchObject({
      result: false,
      exitCode: 2,
      error: expect.stringContaining("no usable masterSsh output"),
    });
    expect(r.stderr).toContain(
      "export const masterSsh = env.masterSsh; export const masterSshKey = env.masterSshKey;",
    );
  });

  test("outputs without the key: what to export", async () => {
    const file = path.join(dir, "outputs.json");
    fs.writeFileSync(
      file,
      JSON.stringify({ masterSsh: { host: "10.0.0.1", port: 22, user: "root" }, masterSshKey: "[secret]" }),
    );
    const r = await real({}, ["status", "--stack", "prod", "--outputs", file]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain("gives no masterSshKey output (with --show-secrets) and no --identity FILE");
  });

  test("an unreachable master: the address, user and key that were tried", async () => {
    const { privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const port = await closedPort();
    const file = path.join(dir, "up.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        masterSsh: {
          host: "127.0.0.1",
          port,
          user: "ops",
          hostKey: ed25519KeyPair().public,
        },
        masterSshKey: privateKey,
        environmentName: "prod",
      }),
    );
    const r = await cli(["status", "--stack", "prod", "--outputs", file], undefined, {
      access: stackAccess,
      connect: (a) => connectMaster(a, 3000),
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(
      `cannot reach the master of stack "prod" over SSH: tried ops@127.0.0.1:${port} with the key from stack output masterSshKey of "prod"`,
    );
    expect(r.stderr).toContain("ECONNREFUSED");
    expect(r.stderr).not.toContain("PRIVATE KEY");
  });

  test("a master without a pinned host key is not dialed: the output to pin it is named", async () => {
    const file = path.join(dir, "unpinned.json");
    fs.writeFileSync(
      file,
      JSON.stringify({
        masterSsh: { host: "127.0.0.1", port: await closedPort(), user: "ops" },
        masterSshKey: ed25519KeyPair().private,
        environmentName: "prod",
      }),
    );
    const r = await cli(["status", "--stack", "prod", "--outputs", file], undefined, {
      access: stackAccess,
      connect: (a) => connectMaster(a, 3000),
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('stack "prod" has no pinned SSH host key for its master "master"');
    expect(r.stderr).not.toContain("ECONNREFUSED");
  });
});

const ESC = String.fromCharCode(27);

/** What a terminal shows: per line, the text after the last "erase line" (\r\x1b[2K), colours removed. */
function screen(output: string): string[] {
  return output
    .split("\n")
    .map((line) => line.split("\r\x1b[2K").at(-1) ?? "")
    .map((line) => line.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), ""))
    .filter((line) => line !== "");
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe("status", () => {
  test("the environment, minions and last deploys in tables; no audit", async () => {
    const master = new FakeMaster({ "saltpipe.status": () => STATUS });
    const r = await cli(["status", "--stack", "dev"], master);
    expect(r.code).toBe(0);
    expect(master.calls[0]).toEqual({ fn: "saltpipe.status", args: ["dev", "audit=0"] });
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("environment dev (stack dev)");
    expect(lines[1]).toMatch(
      /^ {2}current {3}222222222222 {2}tag dev-2 {2}since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(4 min ago\) {2}by approved, approved by bob@laptop$/,
    );
    expect(r.stdout).toContain(`approval  333333333333  tag dev-3 waits until`);
    expect(r.stdout).toContain(`saltpipe approve --stack dev ${D(3)}`);
    expect(r.stdout).toContain(
      "MIXED     the minions serve 2 versions: 222222222222 on web-1; 111111111111 on web-2",
    );
    expect(r.stdout).toMatch(/^MINION +DIGEST +CURRENT +SINCE +PROXY +OS +SALT +LAST DEPLOY$/m);
    expect(r.stdout).toMatch(/^web-1 +222222222222 +yes +.* healthy \(200\) +Ubuntu 24\.04 +3008\.4 +ok$/m);
    expect(r.stdout).toMatch(/^web-2 +111111111111 +no +.* failed: health check failed$/m);
    expect(r.stdout).toMatch(/^FINISHED +DIGEST +TAG +KIND +RESULT +TOOK +BY +REASON$/m);
    expect(r.stdout).toMatch(/^\S+ \S+ +999999999999 +dev-9 +push +failed +31\.0 s +- +batch 1 failed$/m);
    expect(r.stdout).not.toContain("received");
    expect(r.stdout).not.toContain("{");
    expect(master.closed).toBe(true);
  });

  test("--json: the status without the audit trail", async () => {
    const r = await cli(
      ["status", "--stack", "dev", "--json"],
      new FakeMaster({ "saltpipe.status": () => STATUS }),
    );
    const parsed = JSON.parse(r.stdout);
    expect(parsed.current).toBe(D(2));
    expect(parsed.minions).toHaveLength(2);
    expect(parsed.audit).toBeUndefined();
  });

  test("the master refuses: exit 1 with its message", async () => {
    const master = new FakeMaster({
      "saltpipe.status": () => ({
        result: false,
        error: "this master deploys environment 'prod', not 'dev'",
      }),
    });
    const r = await cli(["status", "--stack", "dev"], master);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toBe("saltpipe: status failed: this master deploys environment 'prod', not 'dev'\n");
  });
});

describe("history", () => {
  const master = () => new FakeMaster({ "saltpipe.status": () => STATUS });

  test("deploys, newest first, with a page line", async () => {
    const m = master();
    const r = await cli(["history", "--stack", "dev", "--limit", "2"], m);
    expect(m.calls[0].args).toEqual(["dev", "audit=0", "live=False"]);
    expect(r.stdout.match(/^\S+ \S+ +(\d)\1{11} /gm)).toHaveLength(2);
    expect(r.stdout).toContain("page 1 of 2 (3 deploys; next: --page 2)");
    const page2 = await cli(["history", "--stack", "dev", "--limit", "2", "--page", "2"], master());
    expect(page2.stdout).toMatch(/111111111111 +dev-1/);
    expect(page2.stdout).toContain("page 2 of 2");
  });

  test("filters: --result, --kind, --digest prefix; --json", async () => {
    const failed = await cli(["history", "--stack", "dev", "--result", "failed", "--json"], master());
    expect(JSON.parse(failed.stdout)).toMatchObject({ kind: "deploys", total: 1, items: [{ digest: D(9) }] });
    const approved = await cli(["history", "--stack", "dev", "--kind", "approved", "--json"], master());
    expect(JSON.parse(approved.stdout).items.map((d: { digest: string }) => d.digest)).toEqual([D(2)]);
    const byDigest = await cli(["history", "--stack", "dev", "--digest", "sha256:1111", "--json"], master());
    expect(JSON.parse(byDigest.stdout).total).toBe(1);
  });

  test("--audit: the audit trail, newest first, filtered by event", async () => {
    const m = master();
    const r = await cli(["history", "--stack", "dev", "--audit"], m);
    expect(m.calls[0].args).toEqual(["dev", "audit=1000", "live=False"]);
    const rows = r.stdout.split("\n").filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((l) => l.split(/ +/)[2])).toEqual(["approved", "deploy", "received"]);
    expect(r.stdout).toContain("approver=bob@laptop");
    const only = await cli(
      ["history", "--stack", "dev", "--audit", "--event", "received", "--json"],
      master(),
    );
    expect(JSON.parse(only.stdout)).toMatchObject({
      kind: "audit",
      total: 1,
      items: [{ event: "received" }],
    });
  });
});

describe("rollback, approve, reject", () => {
  const outcome = {
    result: true,
    action: "deployed",
    digest: D(1),
    tag: "dev-1",
    duration: 8.25,
    minions: { "web-1": { result: true }, "web-2": { result: true } },
  };

  test("rollback --to: the runner gets the environment, the approver and the digest; one readable line", async () => {
    const m = new FakeMaster({ "saltpipe.rollback": () => outcome });
    const r = await cli(["rollback", "--stack", "dev", "--to", D(1)], m);
    expect(r.code).toBe(0);
    expect(m.calls[0]).toEqual({
      fn: "saltpipe.rollback",
      args: ["dev", "approver=alice@ops_host", `to=${D(1)}`],
    });
    expect(r.stdout).toBe("rollback: 111111111111 (tag dev-1) now serves on web-1, web-2 in 8.3 s\n");
  });

  test("a refused rollback exits 1 with the master's reason", async () => {
    const m = new FakeMaster({
      "saltpipe.rollback": () => ({
        result: false,
        error: `digest ${D(7)} never ran in dev; known: ${D(1)}`,
        retcode: 1,
      }),
    });
    const r = await cli(["rollback", "--stack", "dev", "--to", D(7)], m);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toContain(`rollback failed: digest ${D(7)} never ran in dev`);
  });

  test("approve DIGEST and reject --reason reach the runner; --json prints its answer", async () => {
    const m = new FakeMaster({
      "saltpipe.approve": () => outcome,
      "saltpipe.reject": () => ({
        result: true,
        action: "rejected",
        digest: D(3),
        tag: "dev-3",
        reason: "not today",
      }),
    });
    expect((await cli(["approve", D(3), "--stack", "dev"], m)).code).toBe(0);
    expect(m.calls[0].args).toEqual(["dev", "approver=alice@ops_host", `digest=${D(3)}`]);
    const rejected = await cli(["reject", "--stack", "dev", "--reason", "not today", "--json"], m);
    expect(m.calls[1].args).toEqual(["dev", "approver=alice@ops_host", "reason=not today"]);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ action: "rejected", digest: D(3) });
  });

  test("a failed deploy (result false) exits 1 and names the minions", async () => {
    const m = new FakeMaster({
      "saltpipe.approve": () => ({
        result: false,
        reason: "batch 1 failed",
        digest: D(3),
        minions: { "web-1": { result: false, comment: "health check failed: no 2xx" } },
      }),
    });
    const r = await cli(["approve", "--stack", "dev"], m);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toBe("approve failed: batch 1 failed\n  web-1: health check failed: no 2xx\n");
  });
});

/** The events of a two-minion deploy of D(5) over D(4), batch 1. */
function deployEvents(ok: boolean): [string, unknown][] {
  const tag = (t: string) => `saltpipe/deploy/dev/${t}`;
  const minion = (id: string, step: string, data: object) =>
    [tag(`minion/${step}`), { id, data: { digest: D(5), ...data }, cmd: "_minion_event" }] as [
      string,
      unknown,
    ];
  const steps = (id: string): [string, unknown][] => [
    minion(id, "pull", { image: "reg/app@" + D(5), present: false }),
    minion(id, "start", { container: "app-green", slot: "green", port: 18082 }),
    minion(id, "healthy", { detail: "http://127.0.0.1:18082/healthz answered 200" }),
    minion(id, "switched", { upstream: "127.0.0.1:18082" }),
    minion(id, "draining", { stopped: ["app-blue"], drain_seconds: 10, detached: true }),
  ];
  return [
    ["salt/job/123/new", { fun: "test.ping" }],
    ["saltpipe/deploy/other/start", { digest: D(6) }], // another environment's deploy: not shown
    [
      tag("start"),
      { digest: D(5), tag: "dev-5", kind: "push", batch: "1", previous: D(4), environment: "dev" },
    ],
    [tag("batch"), { digest: D(5), index: 1, of: 2, minions: ["web-1"] }],
    ...steps("web-1"),
    [tag("batch"), { digest: D(5), index: 2, of: 2, minions: ["web-2"] }],
    ...(ok
      ? steps("web-2")
      : [
          minion("web-2", "pull", { present: true }),
          minion("web-2", "start", { container: "app-green", slot: "green", port: 18082 }),
          minion("web-2", "failed", {
            reason: "health check failed: no 2xx from http://127.0.0.1:18082/healthz within 30s",
          }),
          [tag("revert"), { digest: D(5), to: D(4), minions: ["web-1"] }] as [string, unknown],
        ]),
    [
      tag("outcome"),
      ok
        ? {
            digest: D(5),
            result: true,
            reason: "",
            duration: 14.2,
            minions: { "web-1": { result: true }, "web-2": { result: true } },
          }
        : {
            digest: D(5),
            result: false,
            reason: "batch 2 failed",
            duration: 35,
            minions: {
              "web-1": { result: true },
              "web-2": { result: false, comment: "health check failed" },
            },
          },
    ],
  ];
}

describe("watch", () => {
  test("not a terminal: one JSON line per event, batches and minions in order, exit 0", async () => {
    const m = new FakeMaster({}, deployEvents(true));
    const r = await cli(["watch", "--stack", "dev"], m);
    expect(r.code).toBe(0);
    expect(m.calls.find((c) => c.fn === "lines")?.args[0]).toBe(
      "sudo -n salt-run state.event 'tagmatch=saltpipe/*' count=-1 pretty=False",
    );
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => [e.event, e.step ?? e.index ?? "", e.minion ?? ""].join(" ").trim())).toEqual([
      "watching",
      "start",
      "batch 1",
      ...["pull", "start", "healthy", "switched", "draining"].map((s) => `minion ${s} web-1`),
      "batch 2",
      ...["pull", "start", "healthy", "switched", "draining"].map((s) => `minion ${s} web-2`),
      "outcome",
      "end",
    ]);
    expect(events.at(-1)).toEqual({ event: "end", code: 0, message: "deployed 555555555555 in 14.2 s" });
  });

  test("an unhealthy push: exit 1 with the reason", async () => {
    const r = await cli(["watch", "--stack", "dev", "--json"], new FakeMaster({}, deployEvents(false)));
    expect(r.code).toBe(EXIT.FAILED);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.find((e) => e.step === "failed")).toMatchObject({
      minion: "web-2",
      reason: expect.stringContaining("health check failed"),
    });
    expect(events.find((e) => e.event === "revert")).toMatchObject({ to: D(4), minions: ["web-1"] });
    expect(events.at(-1)).toEqual({
      event: "end",
      code: 1,
      message: "deploy of 555555555555 failed in 35.0 s: batch 2 failed",
    });
  });

  test("on a terminal: readable lines and a status line, cleared at the end", async () => {
    const r = await cli(["watch", "--stack", "dev"], new FakeMaster({}, deployEvents(true)), {
      stdout: { write: () => true, isTTY: true },
    });
    expect(r.code).toBe(0);
    const lines = screen(r.stdout);
    expect(lines.slice(0, 4)).toEqual([
      "watching environment dev; Ctrl-C stops watching (the deploy goes on)",
      `deploy 555555555555 (tag dev-5): push, batch 1, replacing 444444444444`,
      "batch 1/2: web-1",
      `  web-1        pull      pulled reg/app@${D(5)}`,
    ]);
    expect(lines).toContain("  web-1        healthy   healthy: http://127.0.0.1:18082/healthz answered 200");
    expect(lines).toContain("  web-2        draining  draining app-blue (detached)");
    expect(lines).toContain("outcome: succeeded");
    expect(lines).toContain("✔ deployed 555555555555 in 14.2 s");
  });

  test("a minion that drained in its state (no detached finisher) still reads as drained", () => {
    const e = { kind: "minion", step: "drained", minion: "web-1", data: { stopped: ["app-blue"] } };
    expect(describeEvent(e)).toBe("  web-1        drained   drained and removed app-blue");
    expect(describeEvent({ ...e, step: "draining", data: { stopped: [] } })).toBe(
      "  web-1        draining  nothing to drain",
    );
  });

  test("a push waiting for approval ends the watch with the command to approve it", async () => {
    const events: [string, unknown][] = [
      [
        "saltpipe/deploy/dev/pending-approval",
        { digest: D(8), tag: "1.2.0", expires: "2026-12-02T02:00:00Z" },
      ],
    ];
    const r = await cli(["watch", "--stack", "dev", "--json"], new FakeMaster({}, events));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`saltpipe approve --stack dev ${D(8)}`);
  });

  test("--digest of a deploy that is already over: its outcome at once", async () => {
    const done = new FakeMaster({ "saltpipe.status": () => ({ ...STATUS, current: D(5) }) });
    const ok = await cli(["watch", "--stack", "dev", "--digest", D(5), "--json"], done);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("555555555555 is deployed (current)");
    const failed = await cli(
      ["watch", "--stack", "dev", "--digest", D(9), "--json"],
      new FakeMaster({ "saltpipe.status": () => STATUS }),
    );
    expect(failed.code).toBe(EXIT.FAILED);
    expect(failed.stdout).toContain("the deploy of 999999999999 failed: batch 1 failed");
  });

  test("--timeout: no deploy within it exits 1", async () => {
    const r = await cli(["watch", "--stack", "dev", "--json", "--timeout", "1"], new FakeMaster({}, []));
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toContain("no deploy of dev within 1 s");
  });

  test("rollback --watch: the stream is ready before the rollback starts, and its deploy is followed", async () => {
    const m = new FakeMaster(
      { "saltpipe.rollback": () => ({ result: true, action: "deployed", digest: D(5), minions: {} }) },
      deployEvents(true),
    );
    const r = await cli(["rollback", "--stack", "dev", "--to", D(5), "--watch", "--json"], m);
    expect(r.code).toBe(0);
    const order = m.calls.map((c) => c.fn);
    expect(order.indexOf("event.send")).toBeLessThan(order.indexOf("saltpipe.rollback"));
    expect(r.stdout).toContain('"event":"outcome"');
  });
});
