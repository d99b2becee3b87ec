/**
 * Helpers for the real-Salt tests: the project's Salt venv, free ports, child processes in
 * their own process groups (killed in afterAll), the master's event bus, HTTP posts.
 */
import { execFile, spawn, type ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const REPO = path.resolve(__dirname, "../..");
export const STATES_DIR = path.join(REPO, "salt-states");

/** Path of the project's Salt venv; throws (never skips) with what to run when it is missing. */
export function saltVenv(): string {
  const req = fs.readFileSync(path.join(REPO, "requirements/salt.txt"), "utf8");
  const version = /^salt==([0-9.]+)$/m.exec(req)?.[1];
  if (!version) throw new Error("requirements/salt.txt has no exact salt==<version> pin");
  const cache =
    process.env.SALTPIPE_CACHE ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "saltpipe");
  const candidates = fs.existsSync(cache)
    ? fs
        .readdirSync(cache)
        .filter((d) => d.startsWith(`salt-${version}-py`))
        .map((d) => path.join(cache, d))
    : [];
  // Only a venv built from these very pins (scripts/setup-salt.sh stamps it with their hash).
  const pins = crypto
    .createHash("sha256")
    .update(fs.readFileSync(path.join(REPO, "requirements/salt.txt")))
    .update(fs.readFileSync(path.join(REPO, "requirements/salt-lint.txt")))
    .digest("hex")
    .slice(0, 16);
  const stampOf = (dir: string) => fs.readFileSync(path.join(dir, ".saltpipe-complete"), "utf8").trim();
  const complete = candidates.filter(
    (dir) =>
      fs.existsSync(path.join(dir, ".saltpipe-complete")) &&
      stampOf(dir) === pins &&
      ["salt-master", "salt-minion", "salt-api", "salt-call", "salt-run", "salt-key", "salt-lint"].every(
        (b) => fs.existsSync(path.join(dir, "bin", b)),
      ),
  );
  if (complete.length === 0) {
    throw new Error(
      `Salt ${version} venv for requirements/salt.txt (pins ${pins}) not found under ${cache}: run \`npm run setup:salt\` first.`,
    );
  }
  return complete.sort().at(-1)!;
}

export function saltBin(name: string): string {
  return path.join(saltVenv(), "bin", name);
}

/** nginx binary for the hook proxy; throws with what to do when missing. */
export function nginxBin(): string {
  for (const dir of ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"]) {
    const p = path.join(dir, "nginx");
    if (fs.existsSync(p)) return p;
  }
  throw new Error(
    "nginx not found: run `npm run setup:salt` (installs nginx-light on Debian) or install nginx",
  );
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      [...args],
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        cwd: opts.cwd,
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as NodeJS.ErrnoException).code === "number"
            ? Number((err as NodeJS.ErrnoException).code)
            : 1
          : 0;
        resolve({
          code,
          stdout: String(stdout),
          stderr: String(stderr) + (err && code === 1 && !stderr ? String(err) : ""),
        });
      },
    );
    // Some tools (salt-lint) read stdin when it is not a terminal: give them an empty one.
    child.stdin?.end();
  });
}

/** `n` distinct free TCP ports on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    servers.push(server);
    ports.push((server.address() as net.AddressInfo).port);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export function mkTemp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An error that stops {@link waitFor} at once (the awaited thing can no longer happen). */
export function fatal(message: string): Error {
  return Object.assign(new Error(message), { fatal: true });
}

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes (then throw `what`). */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      if ((err as { fatal?: boolean }).fatal) throw err;
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`,
      );
    await sleep(everyMs);
  }
}

/** A long-running child in its own process group, output to a log file. */
export class Daemon {
  readonly child: ChildProcess;
  exited = false;
  constructor(
    readonly name: string,
    cmd: string,
    args: readonly string[],
    readonly logFile: string,
  ) {
    const fd = fs.openSync(logFile, "a");
    this.child = spawn(cmd, [...args], { detached: true, stdio: ["ignore", fd, fd] });
    fs.closeSync(fd);
    this.child.on("exit", () => (this.exited = true));
  }

  /** SIGTERM the process group, SIGKILL it after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    const pid = this.child.pid;
    if (!pid || this.exited) return;
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      try {
        process.kill(-pid, 0);
      } catch {
        return; // the whole group is gone
      }
      await sleep(200);
    }
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
    // Reaped, so a pidfile check of a restarted daemon does not see it as still running.
    await waitFor("the process to be reaped", async () => this.exited, 5_000, 50).catch(() => undefined);
  }
}

export interface SaltEvent {
  tag: string;
  data: Record<string, unknown>;
}

/** The master's event bus, through `salt-run state.event pretty=False`. */
export class EventWatcher {
  readonly events: SaltEvent[] = [];
  private proc: ChildProcess;
  private buffer = "";
  exited = false;

  constructor(confDir: string) {
    this.proc = spawn(saltBin("salt-run"), ["-c", confDir, "state.event", "pretty=False"], {
      detached: true,
      stdio: ["ignore", "pipe", "ignore"],
    });
    this.proc.on("exit", () => (this.exited = true));
    this.proc.stdout!.setEncoding("utf8");
    this.proc.stdout!.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const tab = line.indexOf("\t");
        if (tab < 0) continue;
        try {
          this.events.push({ tag: line.slice(0, tab), data: JSON.parse(line.slice(tab + 1)) });
        } catch {
          /* not an event line */
        }
      }
    });
  }

  find(pred: (e: SaltEvent) => boolean): SaltEvent[] {
    return this.events.filter(pred);
  }

  async waitFor(what: string, pred: (e: SaltEvent) => boolean, timeoutMs: number): Promise<SaltEvent> {
    return waitFor(what, async () => this.events.find(pred), timeoutMs, 200);
  }

  /** Wait until `count` events match. */
  async waitForCount(
    what: string,
    pred: (e: SaltEvent) => boolean,
    count: number,
    timeoutMs: number,
  ): Promise<SaltEvent[]> {
    return waitFor(
      what,
      async () => {
        const found = this.events.filter(pred);
        return found.length >= count ? found : undefined;
      },
      timeoutMs,
      200,
    );
  }

  async stop(): Promise<void> {
    const pid = this.proc.pid;
    if (!pid || this.exited) return;
    try {
      process.kill(-pid, "SIGTERM");
    } catch {
      /* gone */
    }
    await sleep(200);
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

export interface PostResult {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** POST a raw body (Buffer/string) with the given headers. */
export function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  timeoutMs = 10_000,
): Promise<PostResult> {
  return request(
    "POST",
    url,
    { ...headers, "Content-Length": String(Buffer.byteLength(body)) },
    body,
    timeoutMs,
  );
}

export function get(url: string, timeoutMs = 5_000): Promise<PostResult> {
  return request("GET", url, {}, undefined, timeoutMs);
}

/** One HTTP(S) request (self-signed certificates accepted: the test hook proxy's). */
export function request(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  timeoutMs: number,
): Promise<PostResult> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data, headers: res.headers }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

export function hmacSha256Hex(secret: string, body: string | Buffer): string {
  return crypto.createHmac("sha256", secret).update(body).digest("hex");
}

export function randomDigest(): string {
  return `sha256:${crypto.randomBytes(32).toString("hex")}`;
}

/** A distribution-style notification envelope with one event. */
export function registryEnvelope(ev: {
  id?: string;
  action?: string;
  mediaType?: string;
  repository: string;
  tag?: string;
  digest: string;
}): string {
  return JSON.stringify({
    events: [
      {
        id: ev.id ?? crypto.randomUUID(),
        timestamp: new Date().toISOString(),
        action: ev.action ?? "push",
        target: {
          mediaType: ev.mediaType ?? "application/vnd.docker.distribution.manifest.v2+json",
          size: 527,
          digest: ev.digest,
          length: 527,
          repository: ev.repository,
          url: `http://registry.local:5000/v2/${ev.repository}/manifests/${ev.digest}`,
          ...(ev.tag ? { tag: ev.tag } : {}),
        },
        request: {
          id: crypto.randomUUID(),
          addr: "127.0.0.1:40000",
          host: "registry.local:5000",
          method: "PUT",
          useragent: "docker/20.10.24",
        },
        actor: {},
        source: { addr: "registry:5000", instanceID: crypto.randomUUID() },
      },
    ],
  });
}

/** The registry's own notification content type (salt-api alone answers 406 to it). */
export const REGISTRY_CONTENT_TYPE = "application/vnd.docker.distribution.events.v1+json";

/** `docker-registry` (Debian's distribution 2.8) for the tests; throws with what to install. */
export function registryBin(): string {
  for (const p of ["/usr/bin/docker-registry", "/usr/local/bin/docker-registry"])
    if (fs.existsSync(p)) return p;
  throw new Error(
    "docker-registry not found: the master verifies every push with a real registry; run `npm run setup:os` (apt-get install docker-registry)",
  );
}

const sha256 = (data: Buffer | string) => `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;

/** A real registry on 127.0.0.1 (no auth, no notifications): the tests push manifests to it. */
export class TestRegistry {
  daemon?: Daemon;
  url = "";
  constructor(readonly dir: string) {}

  async start(): Promise<void> {
    const [port] = await freePorts(1);
    this.url = `http://127.0.0.1:${port}`;
    fs.mkdirSync(path.join(this.dir, "data"), { recursive: true });
    const config = path.join(this.dir, "config.yml");
    fs.writeFileSync(
      config,
      [
        "version: 0.1",
        "log: {level: warn}",
        `storage: {filesystem: {rootdirectory: ${path.join(this.dir, "data")}}, delete: {enabled: true}}`,
        `http: {addr: "127.0.0.1:${port}"}`,
        "",
      ].join("\n"),
    );
    this.daemon = new Daemon(
      "docker-registry",
      registryBin(),
      ["serve", config],
      path.join(this.dir, "registry.out"),
    );
    await waitFor(
      "the test registry",
      async () => (await get(`${this.url}/v2/`)).status === 200,
      30_000,
      200,
    );
  }

  private async blob(repository: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const start = await request(
      "POST",
      `${this.url}/v2/${repository}/blobs/uploads/`,
      { "Content-Length": "0" },
      "",
      10_000,
    );
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${start.body}`);
    const location = new URL(String(start.headers.location), this.url);
    location.searchParams.set("digest", digest);
    const put = await request(
      "PUT",
      location.toString(),
      { "Content-Type": "application/octet-stream", "Content-Length": String(data.length) },
      data,
      10_000,
    );
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${put.body}`);
    return digest;
  }

  /** Push a new, unique image manifest as `repository:tag`; returns its digest. */
  async image(repository: string, tag: string): Promise<string> {
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", saltpipe_test: crypto.randomUUID() }),
    );
    const layer = crypto.randomBytes(64);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        size: config.length,
        digest: await this.blob(repository, config),
      },
      layers: [
        {
          mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
          size: layer.length,
          digest: await this.blob(repository, layer),
        },
      ],
    });
    const res = await request(
      "PUT",
      `${this.url}/v2/${repository}/manifests/${tag}`,
      {
        "Content-Type": "application/vnd.docker.distribution.manifest.v2+json",
        "Content-Length": String(Buffer.byteLength(manifest)),
      },
      manifest,
      10_000,
    );
    if (res.status !== 201)
      throw new Error(`manifest push ${repository}:${tag}: HTTP ${res.status} ${res.body}`);
    const digest = String(res.headers["docker-content-digest"]);
    if (digest !== sha256(manifest)) throw new Error(`registry answered digest ${digest}`);
    return digest;
  }

  stop(): Promise<void> {
    return this.daemon?.stop(3_000) ?? Promise.resolve();
  }
}
