/**
 * A local environment driven exactly as a user drives it (scripts/local-stack.sh), under
 * its own state directory, name prefix and ports so it can run beside the user's own
 * `local` environment; plus the handles an end-to-end test needs.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PACKAGE_ROOT } from "../../../infra/paths";
import { mustRun, run } from "./run";

export const DOCKER = "/usr/bin/docker";
const STACK_SCRIPT = "scripts/local-stack.sh";
/** The `saltpipe` command's entry (the package's bin, compiled to dist/infra/cli/main.js). */
export const OPERATOR_CLI = "infra/cli/main.ts";

export interface StackOutputs {
  /** The one entry URL (the load balancer). */
  readonly appUrl: string;
  /** Every minion's own proxy on 127.0.0.1 (diagnosis: which minion serves what). */
  readonly appUrls: string[];
  /** CA certificate of the hook's TLS certificate (public). */
  readonly hookCaCertificate: string;
  readonly imageDigest: string;
  readonly imageName: string;
  readonly registry: string;
  readonly webhookUrl: string;
}

export interface PushedImage {
  readonly version: string;
  readonly tag: string;
  readonly digest: string;
}

export class LocalStack {
  readonly env: Record<string, string>;
  private readonly overrides: Record<string, unknown>;

  /** `config`: more `saltpipe:*` keys over the committed Pulumi.local.yaml (e.g. `deploy`). */
  constructor(
    readonly prefix: string,
    opts: { appPortBase: number; registryPort: number; config?: Record<string, unknown> },
  ) {
    this.overrides = {
      ...opts.config,
      local: { namePrefix: prefix, appPortBase: opts.appPortBase },
      registry: { port: opts.registryPort },
    };
    this.env = {
      SALTPIPE_STATE_DIR: path.join(PACKAGE_ROOT, ".state", prefix),
      SALTPIPE_CONFIG_OVERRIDES: JSON.stringify(this.overrides),
    };
  }

  /** Everything the engine printed (stdout and stderr), for the secrets check. */
  readonly transcript: string[] = [];

  /** The script's result, with `config` over this stack's keys for this run only. */
  async scriptResult(args: string[], config: Record<string, unknown> = {}) {
    const env = { ...this.env, SALTPIPE_CONFIG_OVERRIDES: JSON.stringify({ ...this.overrides, ...config }) };
    const result = await run("bash", [STACK_SCRIPT, ...args], { env, timeoutMs: 30 * 60_000 });
    this.transcript.push(result.stdout, result.stderr);
    return result;
  }

  private async script(...args: string[]): Promise<string> {
    const result = await this.scriptResult(args);
    if (result.code !== 0) {
      const tail = (result.stdout + result.stderr).split("\n").slice(-40).join("\n");
      throw new Error(`local-stack.sh ${args.join(" ")} exited ${result.code}:\n${tail}`);
    }
    return result.stdout;
  }

  /** `up` from nothing: what an interrupted run left is removed first. Also how long `up` took. */
  async upFresh(): Promise<{ outputs: StackOutputs; ms: number }> {
    await this.forceClean();
    const start = Date.now();
    const outputs = await this.up();
    return { outputs, ms: Date.now() - start };
  }

  /** After a run: a failed run must not leave machines behind for the next one. */
  async cleanUp(): Promise<void> {
    if ((await this.leftovers()).length > 0) await this.forceClean();
  }

  async up(): Promise<StackOutputs> {
    await this.script("up");
    return this.outputs();
  }

  async outputs(): Promise<StackOutputs> {
    return JSON.parse(await this.script("outputs")) as StackOutputs;
  }

  /** `pulumi up` again: the summary line of changes. */
  async upAgain(): Promise<string> {
    return this.script("pulumi", "up", "--yes", "--skip-preview");
  }

  async preview(): Promise<string> {
    return this.script("preview");
  }

  async destroy(): Promise<void> {
    await this.script("destroy");
  }

  /** A decrypted stack secret (never printed by the tests, and kept out of the transcript). */
  async secret(
    key: "webhookSecret" | "notifySecret" | "sshPrivateKey" | "registryPassword",
  ): Promise<string> {
    const out = await mustRun("bash", [STACK_SCRIPT, "pulumi", "config", "get", `saltpipe:${key}`], {
      env: this.env,
    });
    return out.trim();
  }

  /** Every file of the stack's state backend (checkpoints, history, backups), as text. */
  stateFiles(): { file: string; text: string }[] {
    const root = path.join(this.env.SALTPIPE_STATE_DIR, "backend");
    const files: { file: string; text: string }[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.isFile()) files.push({ file: full, text: fs.readFileSync(full, "latin1") });
      }
    };
    walk(root);
    return files;
  }

  /** Runs an operator command (`saltpipe status|rollback|…`, as npm run status|… does) against this environment. */
  ops(...args: string[]) {
    return run("npx", ["ts-node", "--transpile-only", OPERATOR_CLI, ...args, "--stack", "local"], {
      env: this.env,
      timeoutMs: 120_000,
    });
  }

  container(host: string): string {
    return `${this.prefix}-${host}`;
  }

  /**
   * POSTs `body` to the master's hook from inside `fromHost` (on the environment network),
   * as the registry does; the token and the CA travel in the exec's environment, never in
   * a command line. `scheme: "http"` tries plain HTTP on the TLS port. Returns curl's
   * `%{http_code}` ("000": no HTTP answer at all), or `curl:<exit code>` when curl failed.
   */
  async postToHook(
    fromHost: string,
    body: string,
    opts: { token: string; ca?: string; scheme?: "https" | "http"; contentType?: string; port?: number },
  ): Promise<string> {
    const url = `${opts.scheme ?? "https"}://master:${opts.port ?? 8443}/hook/saltpipe/registry`;
    const script = [
      'ca="$(mktemp)"; printf "%s" "$CA" >"$ca"',
      `code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${opts.ca ? '--cacert "$ca"' : ""} -X POST ${url}` +
        ` -H ${shellWord(`Content-Type: ${opts.contentType ?? "application/vnd.docker.distribution.events.v1+json"}`)}` +
        ` -H "Authorization: Bearer $TOKEN" --data-binary @-) || code="curl:$?"`,
      'rm -f "$ca"; echo "$code"',
    ].join("\n");
    const out = await mustRun(
      DOCKER,
      [
        "exec",
        "-i",
        "-e",
        `TOKEN=${opts.token}`,
        "-e",
        `CA=${opts.ca ?? ""}`,
        this.container(fromHost),
        "bash",
        "-c",
        script,
      ],
      { input: body },
    );
    return out.trim();
  }

  /** Runs a shell command inside a host container. */
  onHost(host: string, script: string): Promise<string> {
    return docker("exec", this.container(host), "bash", "-c", script);
  }

  /** Every container, network and volume of this environment, by name. */
  async leftovers(): Promise<string[]> {
    const names = await Promise.all([
      docker("ps", "-a", "--format", "{{.Names}}"),
      docker("network", "ls", "--format", "{{.Name}}"),
      docker("volume", "ls", "--format", "{{.Name}}"),
    ]);
    return names
      .join("\n")
      .split("\n")
      .filter((n) => n.startsWith(`${this.prefix}-`));
  }

  /** Removes what a previous, interrupted run left behind (its state may be gone). */
  async forceClean(): Promise<void> {
    const [containers, networks, volumes] = await Promise.all([
      docker("ps", "-a", "--format", "{{.Names}}"),
      docker("network", "ls", "--format", "{{.Name}}"),
      docker("volume", "ls", "--format", "{{.Name}}"),
    ]);
    const mine = (list: string) => list.split("\n").filter((n) => n.startsWith(`${this.prefix}-`));
    if (mine(containers).length) await docker("rm", "-f", ...mine(containers));
    if (mine(networks).length) await docker("network", "rm", ...mine(networks));
    if (mine(volumes).length) await docker("volume", "rm", "-f", ...mine(volumes));
    await mustRun("rm", ["-rf", this.env.SALTPIPE_STATE_DIR]);
  }

  /**
   * Builds the app at `version` and pushes it under tag `local-<version>`, as CI would:
   * the registry's notification is what starts the deploy.
   */
  async pushVersion(registry: string, version: string, opts: BuildOptions = {}): Promise<PushedImage> {
    return this.push(await this.build(registry, version, opts));
  }

  /** Builds the app at `version` as `<registry>:<tag>` (tag `local-<version>` unless given). */
  async build(registry: string, version: string, opts: BuildOptions = {}): Promise<BuiltImage> {
    const tag = opts.tag ?? `local-${version}`;
    const ref = `${registry}:${tag}`;
    const args = ["build", "-q", "-t", ref, "--build-arg", `APP_VERSION=${version}`];
    if (opts.healthy === false) args.push("--build-arg", "APP_HEALTHY=false");
    await docker(...args, "app");
    return { version, tag, ref };
  }

  /**
   * Logs in to the registry of `ref` as the pipeline, into this stack's own Docker client
   * config (never the machine's ~/.docker); returns the `--config` to push with.
   */
  async registryLogin(ref: string): Promise<string[]> {
    const config = path.join(this.env.SALTPIPE_STATE_DIR, "docker-client");
    const server = ref.split("/")[0];
    if (!this.loggedIn.has(server)) {
      fs.mkdirSync(config, { recursive: true, mode: 0o700 });
      const password = await this.secret("registryPassword");
      await mustRun(DOCKER, ["--config", config, "login", "-u", "saltpipe", "--password-stdin", server], {
        input: password,
      });
      this.loggedIn.add(server);
    }
    return ["--config", config];
  }
  private readonly loggedIn = new Set<string>();

  /** Pushes a built image as the pipeline: the registry notifies the master. */
  async push(image: BuiltImage): Promise<PushedImage> {
    const push = await docker(...(await this.registryLogin(image.ref)), "push", image.ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push)?.[1];
    if (!digest) throw new Error(`no digest in docker push output:\n${push}`);
    return { version: image.version, tag: image.tag, digest };
  }
}

export interface BuildOptions {
  /** Build an app whose health check fails. */
  readonly healthy?: boolean;
  /** Push under this tag instead of `local-<version>`. */
  readonly tag?: string;
}

export interface BuiltImage {
  readonly version: string;
  readonly tag: string;
  readonly ref: string;
}

function shellWord(text: string): string {
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}

export async function docker(...args: string[]): Promise<string> {
  return mustRun(DOCKER, args, { timeoutMs: 10 * 60_000, env: { DOCKER_BUILDKIT: "1" } });
}

export interface MasterEvent {
  readonly tag: string;
  readonly data: Record<string, unknown>;
}

/**
 * Streams the master's events matching `tagmatch` while a test runs. Each event goes to
 * `onEvent`; only with `keep` (the default) is it also kept in `events`.
 */
export class EventWatch {
  readonly events: MasterEvent[] = [];
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(
    masterContainer: string,
    opts: { tagmatch?: string; keep?: boolean; onEvent?: (event: MasterEvent) => void } = {},
  ) {
    const tagmatch = opts.tagmatch ?? "saltpipe/*";
    this.child = spawn(DOCKER, [
      "exec",
      masterContainer,
      "salt-run",
      "state.event",
      `tagmatch=${tagmatch}`,
      "count=-1",
    ]);
    let pending = "";
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const event = parseEventLine(line);
        if (!event) continue;
        if (opts.keep !== false) this.events.push(event);
        opts.onEvent?.(event);
      }
    });
  }

  matching(tag: string | RegExp): MasterEvent[] {
    return this.events.filter((e) => (typeof tag === "string" ? e.tag === tag : tag.test(e.tag)));
  }

  stop(): void {
    this.child.kill();
  }
}

/** One `salt-run state.event` line: `tag<TAB>json`; anything else (a partial line) is no event. */
function parseEventLine(line: string): MasterEvent | undefined {
  const tab = line.indexOf("\t");
  if (tab < 0) return undefined;
  try {
    return { tag: line.slice(0, tab), data: JSON.parse(line.slice(tab + 1)) as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export { run };
