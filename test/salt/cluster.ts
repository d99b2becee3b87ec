/**
 * A real Salt cluster on 127.0.0.1 for the tests: salt-master, salt-api, the hook proxy
 * (nginx) and N salt-minions, in a temporary root on free ports, with pre-seeded keys.
 * Config and pillar are the rendered texts of infra/render (the same the hosts get).
 * A real registry (Debian's docker-registry) holds the images the tests push: the master
 * verifies every push with it. The master is plan-only by default (`planOnly`): every
 * deploy is a `test=True` plan against this machine's engine and changes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import {
  HOOK_URL_PATH,
  renderHookProxyConfig,
  renderMasterConfig,
  renderMinionConfig,
  renderSaltApiConfig,
  type LifecycleOptions,
} from "../../infra/render/salt-config";
import { renderPillar } from "../../infra/render/salt-pillar";
import {
  Daemon,
  EventWatcher,
  TestRegistry,
  REGISTRY_CONTENT_TYPE,
  STATES_DIR,
  fatal,
  freePorts,
  get,
  mkTemp,
  nginxBin,
  post,
  registryEnvelope,
  run,
  saltBin,
  waitFor,
  type RunResult,
  type SaltEvent,
} from "./helpers";

// The master imports salt-states/lib from this checkout: keep __pycache__ out of the repo.
process.env.PYTHONDONTWRITEBYTECODE = "1";

export interface ClusterOptions {
  readonly environment: string;
  readonly repository: string;
  readonly secret: string;
  readonly minions: readonly string[];
  readonly batch?: string;
  readonly lifecycle?: LifecycleOptions;
  /** Extra pillar YAML appended to the generated one. */
  readonly pillarExtra?: string;
  /** Plan-only master (default true): deploys are `test=True` plans that count as deployed. */
  readonly planOnly?: boolean;
  /** Extra master options. */
  readonly masterExtra?: Readonly<Record<string, unknown>>;
  /** The environment's app minion ids in the master config (default: all of `minions`). */
  readonly appMinions?: readonly string[];
}

export class Cluster {
  readonly tmp = mkTemp("saltpipe-salt-");
  readonly masterConf = path.join(this.tmp, "master-conf");
  readonly masterRoot = path.join(this.tmp, "master-root");
  readonly logs = path.join(this.tmp, "logs");
  readonly registry = new TestRegistry(path.join(this.tmp, "registry"));
  /** The hook proxy's refusal log. */
  readonly refusedLog = path.join(this.tmp, "nginx", "hook-refused.log");
  hookUrl = "";
  apiPort = 0;
  events!: EventWatcher;
  master?: Daemon;
  readonly minions = new Map<string, Daemon>();
  private readonly others: Daemon[] = [];
  private minionConfs = new Map<string, string>();

  constructor(readonly o: ClusterOptions) {}

  /** The environment's record directory on the master (its cachedir/saltpipe). */
  get stateDir(): string {
    return path.join(this.masterRoot, "var/cache/salt/master/saltpipe");
  }

  async start(): Promise<void> {
    const o = this.o;
    const [publishPort, retPort, apiPort, hookPort] = await freePorts(4);
    this.apiPort = apiPort;
    await this.registry.start();
    const pillarDir = path.join(this.tmp, "pillar");
    for (const d of [path.join(this.masterConf, "master.d"), this.masterRoot, pillarDir, this.logs])
      fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(this.masterConf, "master"), "# see master.d/\n");
    fs.writeFileSync(
      path.join(this.masterConf, "master.d", "saltpipe.conf"),
      renderMasterConfig({
        environment: o.environment,
        interface: "127.0.0.1",
        publishPort,
        retPort,
        webhookSecret: o.secret,
        repository: o.repository,
        batch: o.batch ?? "1",
        deployTimeoutSeconds: 60,
        statesDir: STATES_DIR,
        pillarDir,
        rootDir: this.masterRoot,
        lifecycle: o.lifecycle,
        appMinions: o.appMinions ?? o.minions,
        registry: { kind: "http", url: this.registry.url },
        refusedLog: this.refusedLog,
        planOnly: o.planOnly ?? true,
        extra: { user: "root", log_level_logfile: "info", worker_threads: 3, ...o.masterExtra },
      }),
    );
    fs.writeFileSync(
      path.join(this.masterConf, "master.d", "saltpipe-api.conf"),
      renderSaltApiConfig({ apiPort }),
    );
    fs.writeFileSync(
      path.join(pillarDir, "saltpipe.sls"),
      renderPillar({
        environment: o.environment,
        app: { name: "saltpipe-test-app", port: 8080, proxyPort: 8088, healthPath: "/healthz" },
        deploy: { healthTimeoutSeconds: 10, drainSeconds: 1, keepImages: 2 },
        registry: { server: "127.0.0.1:5999", repository: o.repository },
        slots: { blue: 28081, green: 28082 },
      }) + (o.pillarExtra ?? ""),
    );
    const keys = path.join(this.tmp, "keys");
    fs.mkdirSync(keys);
    for (const id of o.minions) {
      const minionConf = path.join(this.tmp, `minion-conf-${id}`);
      const minionRoot = path.join(this.tmp, `minion-root-${id}`);
      fs.mkdirSync(path.join(minionConf, "minion.d"), { recursive: true });
      fs.writeFileSync(path.join(minionConf, "minion"), "# see minion.d/\n");
      fs.writeFileSync(
        path.join(minionConf, "minion.d", "saltpipe.conf"),
        renderMinionConfig({
          id,
          master: "127.0.0.1",
          masterPort: retPort,
          publishPort,
          environment: o.environment,
          roles: ["app"],
          rootDir: minionRoot,
          extra: { user: "root", test: true, log_level_logfile: "info" },
        }),
      );
      this.minionConfs.set(id, minionConf);
      // Pre-seed the key: generate it, accept it on the master before either starts.
      const gen = await run(saltBin("salt-key"), [
        "-c",
        this.masterConf,
        `--gen-keys=${id}`,
        `--gen-keys-dir=${keys}`,
      ]);
      if (gen.code !== 0) throw new Error(`salt-key --gen-keys failed: ${gen.stderr}`);
      const masterPki = path.join(this.masterRoot, "etc/salt/pki/master/minions");
      const minionPki = path.join(minionRoot, "etc/salt/pki/minion");
      fs.mkdirSync(masterPki, { recursive: true });
      fs.mkdirSync(minionPki, { recursive: true });
      fs.copyFileSync(path.join(keys, `${id}.pub`), path.join(masterPki, id));
      fs.copyFileSync(path.join(keys, `${id}.pub`), path.join(minionPki, "minion.pub"));
      fs.copyFileSync(path.join(keys, `${id}.pem`), path.join(minionPki, "minion.pem"));
      fs.chmodSync(path.join(minionPki, "minion.pem"), 0o600);
    }

    const nginxDir = path.join(this.tmp, "nginx");
    fs.mkdirSync(nginxDir);
    fs.writeFileSync(
      path.join(nginxDir, "saltpipe-hook.conf"),
      renderHookProxyConfig({
        hookPort,
        listenAddress: "127.0.0.1",
        apiPort,
        maxBodyBytes: 16384,
        webhookSecret: o.secret,
        refusedLog: this.refusedLog,
        errorLog: path.join(nginxDir, "error.log"),
      }),
    );
    fs.writeFileSync(
      path.join(nginxDir, "nginx.conf"),
      [
        "daemon off;",
        "worker_processes 1;",
        `pid ${nginxDir}/nginx.pid;`,
        `error_log ${nginxDir}/error.log info;`,
        "events { worker_connections 64; }",
        "http {",
        `  access_log ${nginxDir}/access.log;`,
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(
          (t) => `  ${t}_temp_path ${nginxDir}/${t}_temp;`,
        ),
        `  include ${nginxDir}/saltpipe-hook.conf;`,
        "}",
        "",
      ].join("\n"),
    );
    this.hookUrl = `http://127.0.0.1:${hookPort}${HOOK_URL_PATH}`;

    await this.startMaster();
    this.events = new EventWatcher(this.masterConf);
    this.others.push(
      new Daemon(
        "salt-api",
        saltBin("salt-api"),
        ["-c", this.masterConf, "-l", "warning"],
        path.join(this.logs, "api.out"),
      ),
      new Daemon(
        "nginx",
        nginxBin(),
        ["-p", `${nginxDir}/`, "-e", `${nginxDir}/error.log`, "-c", path.join(nginxDir, "nginx.conf")],
        path.join(this.logs, "nginx.out"),
      ),
    );
    for (const id of o.minions) this.startMinion(id);
    await this.waitMinions(o.minions);
    await waitFor("salt-api", async () => (await get(`http://127.0.0.1:${apiPort}/`)).status === 200, 60_000);
    await waitFor(
      "the hook proxy",
      async () => (await get(`http://127.0.0.1:${hookPort}/`)).status === 404,
      30_000,
    );
    // The minions' grains reach the master's cache (rollouts target by grains).
    await this.salt(["*", "saltutil.sync_grains"]);
  }

  async startMaster(): Promise<void> {
    this.master = new Daemon(
      "salt-master",
      saltBin("salt-master"),
      ["-c", this.masterConf, "-l", "warning"],
      path.join(this.logs, "master.out"),
    );
    const ipc = path.join(this.masterRoot, "var/run/salt/master/master_event_pub.ipc");
    await waitFor("salt-master", async () => fs.existsSync(ipc), 60_000);
  }

  /** SIGKILL the master and every process it started (a crash, not a shutdown). */
  async killMaster(): Promise<void> {
    const pid = this.master?.child.pid;
    if (!pid) return;
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      /* gone */
    }
    await waitFor("the master to die", async () => this.master!.exited, 10_000, 100);
    // Its sockets stay behind after a SIGKILL; the next master must not mistake them for its own.
    fs.rmSync(path.join(this.masterRoot, "var/run/salt/master"), { recursive: true, force: true });
    fs.rmSync(path.join(this.masterRoot, "var/run/process_responsibility_salt-master.pid"), { force: true });
  }

  startMinion(id: string): Daemon {
    // A killed minion's child can linger as a zombie that Salt's pidfile check takes for alive.
    fs.rmSync(path.join(this.tmp, `minion-root-${id}`, "var/run/process_responsibility_salt-minion.pid"), {
      force: true,
    });
    const d = new Daemon(
      `salt-minion-${id}`,
      saltBin("salt-minion"),
      ["-c", this.minionConfs.get(id)!, "-l", "warning"],
      path.join(this.logs, `minion-${id}.out`),
    );
    this.minions.set(id, d);
    return d;
  }

  async waitMinions(ids: readonly string[], timeoutMs = 90_000): Promise<void> {
    await waitFor(
      `minions ${ids.join(", ")} to answer test.ping`,
      async () => {
        const r = await this.salt(["--static", "-L", ids.join(","), "test.ping", "-t", "5"], 20_000);
        if (r.code !== 0 && !r.stdout.trim()) return false;
        const out = JSON.parse(r.stdout || "{}");
        return ids.every((id) => out[id] === true);
      },
      timeoutMs,
      1000,
    );
  }

  salt(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    return run(saltBin("salt"), ["-c", this.masterConf, "--out", "json", ...args], { timeoutMs });
  }

  /** `salt-run --out=json saltpipe.<fun> args…` → {code, json}. */
  async runner(
    fun: string,
    args: string[] = [],
    timeoutMs = 120_000,
  ): Promise<{ code: number; json: any; raw: RunResult }> {
    const raw = await run(
      saltBin("salt-run"),
      ["-c", this.masterConf, "--out", "json", `saltpipe.${fun}`, ...args],
      {
        timeoutMs,
      },
    );
    let json: unknown;
    try {
      json = JSON.parse(raw.stdout);
    } catch {
      json = undefined;
    }
    return { code: raw.code, json, raw };
  }

  /** Push a new image as `<repository>:<tag>` to the test registry; its digest. */
  image(tag: string): Promise<string> {
    return this.registry.image(this.o.repository, tag);
  }

  /**
   * POST one registry-style push event with the bearer token. Without `digest`, a new image
   * is pushed to the registry under `tag` first (so the master's check finds it).
   */
  async push(ev: {
    digest?: string;
    tag: string;
    id?: string;
    timestamp?: string;
  }): Promise<{ status: number; digest: string; id: string }> {
    const digest = ev.digest ?? (await this.image(ev.tag));
    const id = ev.id ?? `ev-${digest.slice(7, 19)}`;
    const body = JSON.parse(registryEnvelope({ id, repository: this.o.repository, tag: ev.tag, digest }));
    if (ev.timestamp) body.events[0].timestamp = ev.timestamp;
    return post(this.hookUrl, JSON.stringify(body), {
      "Content-Type": REGISTRY_CONTENT_TYPE,
      Authorization: `Bearer ${this.o.secret}`,
    }).then((r) => ({ status: r.status, digest, id }));
  }

  /** The `saltpipe/deploy/<env>/<what>` events so far. */
  deployEvents(what: string): SaltEvent[] {
    return this.events.find((e) => e.tag === `saltpipe/deploy/${this.o.environment}/${what}`);
  }

  /** Wait for the `saltpipe/deploy/<env>/<what>` event of `digest`. */
  deployEvent(what: string, digest: string, timeoutMs = 60_000): Promise<SaltEvent> {
    return this.events.waitFor(
      `${what} of ${digest}`,
      (e) => e.tag === `saltpipe/deploy/${this.o.environment}/${what}` && e.data.digest === digest,
      timeoutMs,
    );
  }

  /** Wait for the outcome of `digest` (optionally of a kind); fail fast if its receive runner failed without one. */
  async outcome(digest: string, kind?: string, timeoutMs = 90_000): Promise<SaltEvent> {
    const match = (e: SaltEvent) =>
      e.tag === `saltpipe/deploy/${this.o.environment}/outcome` &&
      e.data.digest === digest &&
      (kind === undefined || e.data.kind === kind);
    return waitFor(
      `the outcome of ${digest}${kind ? ` (${kind})` : ""}`,
      async () => {
        const found = this.events.events.find(match);
        if (found) return found;
        const failed = this.events.events.find(
          (e) =>
            /^salt\/run\/\d+\/ret$/.test(e.tag) &&
            e.data.fun === "runner.saltpipe.receive" &&
            e.data.success === false &&
            JSON.stringify(e.data).includes(digest),
        );
        if (failed)
          throw fatal(`saltpipe.receive of ${digest} failed: ${JSON.stringify(failed.data).slice(0, 3000)}`);
        return undefined;
      },
      timeoutMs,
      200,
    );
  }

  async stop(): Promise<void> {
    await this.events?.stop();
    // All at once, 3 s of grace each: nothing here needs a graceful shutdown.
    await Promise.all(
      [...this.minions.values(), ...this.others, ...(this.master ? [this.master] : [])].map((d) =>
        d.stop(3_000),
      ),
    );
    await this.registry.stop();
    if (!process.env.SALTPIPE_KEEP_TMP) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
