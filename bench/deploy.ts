/**
 * Deploy benchmarks on real local environments (`npm run bench:deploy`). Not a test: it
 * measures, in one run, and prints a Markdown report (also written to bench/results/):
 *
 *  - deploy latency from push to every minion serving the new version, on 1, 2 and 4 minions
 *    (from the end of `docker push`, and from the notification's arrival at the master);
 *  - the seed's approach (the reactor runs `state.highstate` on the environment, see
 *    lib/seed.ts) against ours, side by side on the same environments;
 *  - the floor: bare `docker pull` + `docker run` + first healthy response inside a minion;
 *  - failed requests under steady load (every push runs under autocannon at BENCH_LOAD_RPS per proxy, 200 by default, with p50/p99 latency beside a steady-state window), and the
 *    rolling batch's effect ("1", "50%", "100%" on the largest environment);
 *  - minion restart, two variants, both from the docker command returning to minion-1's proxy
 *    serving the version awaited: "nothing missed" (`docker restart` of minion-1's host
 *    container, no push: its engine brings the app container back, the minion-start reactor's
 *    convergence finds it current) and "after a missed deploy" (≥ 2 minions: host stopped, a
 *    new version pushed and deployed to the others, then `docker start`: the convergence must
 *    put minion-1 on the new version);
 *  - rollback: the operator's `rollback` command under the same load, from its start to every
 *    minion serving the previous version, alternating between the last two pushed versions;
 *  - the app image: size, cold build, rebuild after a one-line change.
 *
 * Each environment is brought up by the project's own script (scripts/local-stack.sh, the
 * real Pulumi engine) under the name prefix saltpipe-bench-<minions>, measured, destroyed;
 * nothing is left behind, also on failure or Ctrl-C.
 *
 * Knobs: BENCH_SIZES (default "1,2,4"), BENCH_PUSHES (measured pushes per series, and restarts
 * of each variant and rollbacks per environment, default 5), BENCH_BATCHES (batches tried on
 * sizes ≥ BENCH_BATCH_MIN_SIZE (4) and the largest, default "1,25%,50%,100%"), BENCH_LOAD_RPS (per proxy, default 200),
 * BENCH_APP_PORT_BASE (30080), BENCH_REGISTRY_PORT (30500), BENCH_SKIP_SEED=1,
 * BENCH_SKIP_BUILD=1.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { PACKAGE_ROOT } from "../infra/paths";
import { mustRun, sleep, waitFor } from "../test/e2e/support/run";
import {
  docker,
  EventWatch,
  LocalStack,
  type PushedImage,
  type StackOutputs,
} from "../test/e2e/support/stack";
import { RateLoad, steady } from "./lib/loadgen";
import { firstServed, HookWatch, watchServed } from "./lib/probes";
import { installSeedScript, setBatchScript } from "./lib/seed";
import { bytes, median, percentile, ratio, secs, spread, table } from "./lib/stats";
import { plotSvg, summarize } from "./lib/summary";

const SIZES = (process.env.BENCH_SIZES ?? "1,2,4").split(",").map(Number);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 5);
const BATCHES = (process.env.BENCH_BATCHES ?? "1,25%,50%,100%").split(",");
/** [perf] Every batch runs on environments of at least this many minions (and on the largest). */
const BATCH_MIN_SIZE = Number(process.env.BENCH_BATCH_MIN_SIZE ?? 4);
/** [perf] Requests per second per proxy, from autocannon (bench/lib/loadgen.ts). */
const LOAD_RPS = Number(process.env.BENCH_LOAD_RPS ?? 200);
/** [perf] Seconds of load without a deploy, per environment: the steady-state latency. */
const STEADY_SECONDS = 5;
const APP_PORT_BASE = Number(process.env.BENCH_APP_PORT_BASE ?? 30080);
const REGISTRY_PORT = Number(process.env.BENCH_REGISTRY_PORT ?? 30500);
const SKIP_SEED = process.env.BENCH_SKIP_SEED === "1";
const SKIP_BUILD = process.env.BENCH_SKIP_BUILD === "1";
const FLOOR_RUNS = PUSHES;
const DEPLOY_TIMEOUT_MS = 180_000;
/** The committed local stack's batch (Pulumi.local.yaml); the other batches are set on the master. */
const DEFAULT_BATCH = "1";
const RUN_ID = Date.now().toString(36);
const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";

/** "rollback": the operator's `rollback` command under the same load as the pushes (ours only). */
type Variant = "ours" | "seed" | "rollback";

/** One push or rollback under steady load. */
interface LoadSample {
  readonly variant: Variant;
  readonly size: number;
  readonly batch: string;
  /**
   * End of `docker push` (a rollback: start of the command) → every minion serves the new
   * version (ms; undefined: never).
   */
  readonly latency?: number;
  /** Notification's arrival at the master (salt-api) → every minion serves it (pushes). */
  readonly fromHook?: number;
  /** The rollback command's own run time, start to exit. */
  readonly command?: number;
  /** The orchestration's own duration from its outcome event (not the seed's). */
  readonly runner?: number;
  readonly outcome?: boolean;
  readonly sent: number;
  readonly failed: number;
  readonly failures: string[];
  /** [perf] Latency percentiles (ms) of the load while this deploy ran. */
  readonly p50?: number;
  readonly p99?: number;
}

/**
 * "plain": `docker restart` of minion-1's host, nothing pushed meanwhile (restart, nothing
 * missed). "missed": the host stopped while a new version was deployed to the others, then
 * `docker start` (restart after a missed deploy).
 */
type RestartKind = "plain" | "missed";

/** One restart of minion-1's host container (its own dockerd, salt-minion, nginx and app). */
interface RestartSample {
  readonly kind: RestartKind;
  readonly size: number;
  /** How long the docker command took (`docker restart`: clean systemd shutdown, then start; `docker start`). */
  readonly command: number;
  /** The command returned → minion-1's proxy serves the version awaited (ms; undefined: never). */
  readonly latency?: number;
  /** The command returned → the proxy's first answer of any version, and whether it was the one awaited. */
  readonly firstAnswer?: number;
  readonly firstAwaited?: boolean;
  /** The minion-start reactor's convergence: whether it replaced the container, and when it ended (ms after the command). */
  readonly switched?: boolean;
  readonly converged?: number;
  /** "missed": the missed deploy's own duration (runner), slowed by minion-1 not answering. */
  readonly missedRunner?: number;
}

interface FloorSample {
  readonly pull: number;
  readonly run: number;
  readonly healthy: number;
  readonly total: number;
}

interface SizeResult {
  readonly size: number;
  upMs?: number;
  destroyMs?: number;
  floor: FloorSample[];
  /** [perf] Latency under the same load with no deploy. */
  steady?: { p50: number; p99: number };
  /** [perf] Memory of minion-1's host container (its systemd, dockerd, salt-minion, nginx, app), MiB. */
  minionMemMiB?: number;
  error?: string;
}

interface BuildResult {
  readonly sizeBytes: number;
  readonly cold: number;
  readonly noChange: number;
  readonly oneLine: number;
}

const samples: LoadSample[] = [];
const restarts: RestartSample[] = [];
const sizes: SizeResult[] = [];
let compressedBytes: number | undefined;
let current: LocalStack | undefined;
const hostRefs: string[] = [];

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const masterOf = (stack: LocalStack) => stack.container("master");

// ---------------------------------------------------------------- image build

async function buildBench(): Promise<BuildResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-bench-app-"));
  const tag = `saltpipe-bench-build:${RUN_ID}`;
  try {
    fs.cpSync(path.join(PACKAGE_ROOT, "app"), tmp, {
      recursive: true,
      filter: (src) => !/\/(node_modules|dist|coverage)(\/|$)/.test(src.slice(PACKAGE_ROOT.length)),
    });
    const build = async (...extra: string[]) => {
      const start = Date.now();
      await docker("build", "-q", ...extra, "-t", tag, tmp);
      return Date.now() - start;
    };
    log("image: cold build (--no-cache)");
    const cold = await build("--no-cache");
    const sizeBytes = Number((await docker("image", "inspect", "-f", "{{.Size}}", tag)).trim());
    const noChange = await build();
    const file = path.join(tmp, "src", "config.ts");
    const source = fs.readFileSync(file, "utf8");
    const changed = source.replace('env.APP_VERSION || "0.0.0-dev"', 'env.APP_VERSION || "0.0.0-bench"');
    if (changed === source) throw new Error("the one-line change did not apply to app/src/config.ts");
    fs.writeFileSync(file, changed);
    log("image: rebuild after a one-line change");
    const oneLine = await build();
    return { sizeBytes, cold, noChange, oneLine };
  } finally {
    await docker("rmi", "-f", tag).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Compressed size (layers + config) of a pushed tag, from the registry's manifest. */
function registrySize(registryPort: number, tag: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `http://127.0.0.1:${registryPort}/v2/saltpipe/app/manifests/${tag}`,
      { headers: { Accept: MANIFEST_V2 }, timeout: 5000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          try {
            const m = JSON.parse(body) as { config: { size: number }; layers: { size: number }[] };
            resolve(m.config.size + m.layers.reduce((sum, l) => sum + l.size, 0));
          } catch (e) {
            reject(new Error(`manifest of ${tag}: ${String(e)}`));
          }
        });
      },
    );
    req.on("error", reject);
  });
}

// ---------------------------------------------------------------- environments

function newStack(size: number): LocalStack {
  // The harness sets prefix and ports; the bench adds the number of minions (the committed
  // Pulumi.local.yaml's deploy settings stay: batch "1", drain 2 s, health timeout 30 s).
  return new LocalStack(`saltpipe-bench-${size}`, {
    appPortBase: APP_PORT_BASE,
    registryPort: REGISTRY_PORT,
    config: { minions: size },
  });
}

async function teardown(stack: LocalStack, result?: SizeResult): Promise<void> {
  const start = Date.now();
  try {
    await stack.destroy();
    if (result) result.destroyMs = Date.now() - start;
  } catch (e) {
    log(`destroy failed, forcing: ${String(e).split("\n")[0]}`);
  }
  await stack.forceClean(); // also removes the state dir, and anything destroy missed
  // The engine keeps the images it built for the hosts and the registry: not ours to keep.
  for (const image of ["host", "registry"])
    await docker("rmi", `${stack.prefix}-${image}:latest`).catch(() => undefined);
  const left = await stack.leftovers();
  if (left.length) throw new Error(`left behind: ${left.join(", ")}`);
}

/** Restarts salt-master and salt-api (after a config change) and waits for every minion. */
async function restartMaster(stack: LocalStack, size: number): Promise<void> {
  await stack.onHost("master", "systemctl restart salt-master && systemctl restart salt-api");
  let streak = 0;
  // Two answers in a row from every minion: a publish right after a restart can be lost.
  await waitFor(`all ${size} minions to answer the restarted master`, 120_000, async () => {
    const out = await stack.onHost("master", "salt --out=txt --timeout=5 '*' test.ping 2>/dev/null || true");
    const ok = (out.match(/: True/g) ?? []).length === size;
    streak = ok ? streak + 1 : 0;
    return streak >= 2 ? true : undefined;
  });
  await waitFor("salt-api to answer", 60_000, async () =>
    (await stack.onHost(
      "master",
      "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/ || true",
    )) !== "000"
      ? true
      : undefined,
  );
}

async function servingEverywhere(urls: readonly string[], version: string, timeoutMs: number): Promise<void> {
  const times = await firstServed(urls, version, timeoutMs, 250);
  if (times.some((t) => t === undefined)) throw new Error(`not every minion serves ${version}`);
}

// ---------------------------------------------------------------- floor

/** Registry host:port/repository as the minions pull it (from the running app container). */
async function minionImage(stack: LocalStack): Promise<string> {
  const out = await stack.onHost("minion-1", "docker ps --format '{{.Image}}'");
  const image = out
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.includes("saltpipe/app"));
  if (!image) throw new Error("no app container on minion-1");
  return image.replace(/@sha256:.*$/, "").replace(/:[^:/]+$/, "");
}

const FLOOR_SCRIPT = `set -euo pipefail
now() { date +%s%N; }
t0=$(now); docker pull -q "$REF" >/dev/null; t1=$(now)
docker run -d --name bench-floor -p 127.0.0.1:18098:8080 "$REF" >/dev/null; t2=$(now)
until curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:18098/healthz 2>/dev/null; do sleep 0.02; done; t3=$(now)
docker rm -f bench-floor >/dev/null; docker rmi "$REF" >/dev/null 2>&1 || true
echo "$t0 $t1 $t2 $t3"`;

async function floor(stack: LocalStack, outputs: StackOutputs): Promise<FloorSample[]> {
  const image = await minionImage(stack);
  const runs: FloorSample[] = [];
  for (let i = 1; i <= FLOOR_RUNS; i++) {
    // A tag the reactor refuses (not local-*): nothing deploys it.
    const ref = `${outputs.registry}:floor-${RUN_ID}-${i}`;
    await docker("build", "-q", "-t", ref, "--build-arg", `APP_VERSION=floor-${i}`, "app");
    hostRefs.push(ref);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(await docker("push", ref))?.[1];
    if (!digest) throw new Error(`no digest pushing ${ref}`);
    const out = await docker(
      "exec",
      "-e",
      `REF=${image}@${digest}`,
      stack.container("minion-1"),
      "bash",
      "-c",
      FLOOR_SCRIPT,
    );
    const [t0, t1, t2, t3] = out.trim().split(/\s+/).map(BigInt);
    const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
    runs.push({ pull: ms(t0, t1), run: ms(t1, t2), healthy: ms(t2, t3), total: ms(t0, t3) });
  }
  return runs;
}

// ---------------------------------------------------------------- pushes

interface Watchers {
  events: EventWatch;
  hooks: HookWatch;
}

function watch(stack: LocalStack): Watchers {
  return { events: new EventWatch(masterOf(stack)), hooks: new HookWatch(masterOf(stack)) };
}

async function seedJobsDone(stack: LocalStack): Promise<void> {
  await waitFor("the highstate jobs to finish", 120_000, async () =>
    (await stack.onHost("master", "salt-run --out=json jobs.active 2>/dev/null || true")).includes(
      "state.highstate",
    )
      ? undefined
      : true,
  );
}

const OUTCOME = "saltpipe/deploy/local/outcome";

/** The first outcome event since event number `after` that `pick` accepts (undefined: none within 2 min). */
function outcomeSince(w: Watchers, after: number, pick: (data: Record<string, unknown>) => boolean) {
  return waitFor("an outcome event", 120_000, async () =>
    Promise.resolve(w.events.events.slice(after).find((e) => e.tag === OUTCOME && pick(e.data))?.data),
  ).catch(() => undefined);
}

/** The runner's own duration from an outcome event (ms). */
const runnerOf = (data?: Record<string, unknown>) =>
  typeof data?.duration === "number" ? data.duration * 1000 : undefined;

/** Whether the deploy of `digest` (started after event number `after`) succeeded, and the runner's own duration. */
async function outcomeOf(w: Watchers, digest: string, after: number) {
  const data = await outcomeSince(w, after, (d) => d.digest === digest);
  return { outcome: data ? data.result === true : undefined, runner: runnerOf(data) };
}

/** Builds and pushes `version` as CI would (the image is removed from this machine at the end). */
async function pushImage(stack: LocalStack, outputs: StackOutputs, version: string): Promise<PushedImage> {
  const image = await stack.pushVersion(outputs.registry, version);
  hostRefs.push(`${outputs.registry}:${image.tag}`);
  return image;
}

/** Epoch ms at which the last of `urls` first served `version` (undefined: one did not in time). */
async function allServed(urls: readonly string[], version: string): Promise<number | undefined> {
  const times = await firstServed(urls, version, DEPLOY_TIMEOUT_MS);
  return times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
}

const elapsed = (end: number | undefined, start: number | undefined) =>
  end === undefined || start === undefined ? undefined : end - start;

/**
 * Runs `act` under steady load on every proxy (kept 1 s after it ends) and records its
 * sample, also when `act` fails.
 */
async function underLoad(
  urls: readonly string[],
  key: Pick<LoadSample, "variant" | "batch">,
  label: string,
  act: () => Promise<Partial<LoadSample>>,
): Promise<LoadSample> {
  const load = new RateLoad(urls, LOAD_RPS).start();
  let measured: Partial<LoadSample> = {};
  try {
    measured = await act();
    await sleep(1000);
  } finally {
    const report = await load.stop();
    samples.push({
      ...measured,
      ...key,
      size: urls.length,
      sent: report.sent,
      failed: report.failed,
      failures: report.failures.slice(0, 3),
      p50: report.p50,
      p99: report.p99,
    });
  }
  const s = samples[samples.length - 1];
  const from = s.variant === "rollback" ? "command" : "push";
  log(
    `${s.variant} ${s.size}m batch ${s.batch} ${label}: ${from}→all ${secs(s.latency, 2)} s, hook→all ${secs(s.fromHook, 2)} s, ` +
      `failed ${s.failed}/${s.sent}${s.outcome === false ? ", outcome FAILED" : ""}`,
  );
  return s;
}

async function onePush(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  variant: Variant,
  batch: string,
  label: string,
): Promise<PushedImage> {
  const version = `${label}-${RUN_ID}`;
  let image: PushedImage | undefined;
  await underLoad(outputs.appUrls, { variant, batch }, label, async () => {
    const served = allServed(outputs.appUrls, version);
    const after = w.events.events.length;
    image = await pushImage(stack, outputs, version);
    const pushedAt = Date.now();
    const all = await served;
    const hookAt = await w.hooks.arrival(image.tag, 2000);
    // Ours: the next push must not queue behind this one's drain, so wait for its outcome event.
    const done = variant === "ours" ? await outcomeOf(w, image.digest, after) : {};
    if (variant === "seed") await seedJobsDone(stack);
    return { latency: elapsed(all, pushedAt), fromHook: elapsed(all, hookAt), ...done };
  });
  return image as PushedImage;
}

/** One warm-up push (not counted), then PUSHES measured ones; returns every image pushed, oldest first. */
async function series(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  variant: Variant,
  batch: string,
): Promise<PushedImage[]> {
  const size = outputs.appUrls.length;
  const slug = `${variant}-${size}m-b${batch.replace("%", "pct")}`;
  const pushed = [await onePush(stack, outputs, w, variant, batch, `${slug}-warm`)];
  samples.pop();
  for (let i = 1; i <= PUSHES; i++)
    pushed.push(await onePush(stack, outputs, w, variant, batch, `${slug}-${i}`));
  return pushed;
}

/**
 * PUSHES rollbacks by the operator's command under load, between the last two images pushed:
 * `saltpipe.rollback` goes to `previous[0]`, which after a rollback is the digest it just
 * left, so each one is a real rollback: → older, → newer, → older…
 */
async function rollbacks(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  pair: PushedImage[],
): Promise<void> {
  for (let i = 1; i <= PUSHES; i++) {
    const to = pair[i % 2 ? 0 : 1];
    await underLoad(
      outputs.appUrls,
      { variant: "rollback", batch: DEFAULT_BATCH },
      `→ ${to.version}`,
      async () => {
        const after = w.events.events.length;
        const start = Date.now();
        const served = allServed(outputs.appUrls, to.version);
        const cmd = await stack.ops("rollback");
        const command = Date.now() - start;
        if (cmd.code !== 0)
          throw new Error(`rollback exited ${cmd.code}: ${(cmd.stderr + cmd.stdout).slice(-500)}`);
        return { latency: elapsed(await served, start), command, ...(await outcomeOf(w, to.digest, after)) };
      },
    );
  }
}

const HOST = "minion-1";

/** How the report and the log name each restart variant. */
const RESTART_LABELS: Record<RestartKind, string> = {
  plain: "restart, nothing missed",
  missed: "restart after a missed deploy",
};

/** An outcome event's results per minion. */
const minionsOf = (data?: Record<string, unknown>) =>
  (data?.minions ?? {}) as Record<string, { result?: boolean; changed?: boolean; comment?: string }>;

/**
 * The minion-start reactor's convergence of minion-1 after its host came back at `start`
 * (epoch ms): whether it replaced the app container, and when it ended (ms after `start`).
 */
async function convergenceOf(w: Watchers, after: number, start: number) {
  // Started after the host did: the reconcile engine's pass can converge it while it is down.
  const data = await outcomeSince(
    w,
    after,
    (d) => d.kind === "converge" && minionsOf(d)[HOST] !== undefined && Number(d.started) * 1000 >= start,
  );
  const finished = typeof data?.finished === "number" ? data.finished * 1000 : undefined;
  return { switched: minionsOf(data)[HOST]?.changed, converged: elapsed(finished, start) };
}

/**
 * Brings minion-1's host back (`docker restart`; `docker start` after a missed deploy: it was
 * stopped) and records from the command returning until its proxy serves `version`.
 */
async function restartOnce(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  kind: RestartKind,
  version: string,
  missedRunner?: number,
): Promise<void> {
  const after = w.events.events.length;
  const begin = Date.now();
  await docker(kind === "plain" ? "restart" : "start", stack.container(HOST));
  const start = Date.now();
  const served = await watchServed(outputs.appUrls[0], version, DEPLOY_TIMEOUT_MS);
  const s: RestartSample = {
    kind,
    size: outputs.appUrls.length,
    command: start - begin,
    latency: elapsed(served.at, start),
    firstAnswer: elapsed(served.first?.at, start),
    firstAwaited: served.first && served.first.version === version,
    ...(await convergenceOf(w, after, start)),
    missedRunner,
  };
  restarts.push(s);
  log(
    `${RESTART_LABELS[kind]} ${s.size}m: serving ${secs(s.latency, 2)} s, first answer ${secs(s.firstAnswer, 2)} s ` +
      `(${served.first?.version ?? "none"}), converged ${secs(s.converged, 2)} s, switched ${String(s.switched)}`,
  );
  if (s.latency === undefined)
    throw new Error(`${HOST} did not serve ${version} after a ${RESTART_LABELS[kind]}`);
}

/**
 * PUSHES restarts, nothing missed: the app container comes back by its restart policy in the
 * minion's own engine, already on the current digest; the minion-start reactor's convergence
 * checks it. Measured from `docker restart` returning.
 */
async function minionRestarts(stack: LocalStack, outputs: StackOutputs, w: Watchers, version: string) {
  for (let i = 1; i <= PUSHES; i++) {
    await restartOnce(stack, outputs, w, "plain", version);
    await sleep(1000);
  }
}

/**
 * Stops minion-1's host and pushes `version`: the other minions deploy it, and the deploy's
 * outcome (awaited) must report minion-1 as not answering. Returns the runner's duration.
 */
async function missDeploy(stack: LocalStack, outputs: StackOutputs, w: Watchers, version: string) {
  await docker("stop", "-t", "1", stack.container(HOST));
  const after = w.events.events.length;
  const image = await pushImage(stack, outputs, version);
  const data = await outcomeSince(w, after, (d) => d.digest === image.digest);
  const { [HOST]: missed, ...others } = minionsOf(data);
  const deployed = Object.values(others);
  if (missed?.comment !== "did not answer" || !deployed.length || !deployed.every((m) => m.result))
    throw new Error(
      `${HOST} did not miss the deploy of ${version} alone: ${JSON.stringify(data)?.slice(0, 600)}`,
    );
  return runnerOf(data);
}

/**
 * PUSHES restarts after a missed deploy (≥ 2 minions): minion-1's host is stopped while a new
 * version is deployed to the others, then started; its app container comes back on the old
 * digest and the minion-start reactor's convergence must replace it. Measured from
 * `docker start` returning to minion-1's proxy serving the new version.
 */
async function missedDeploys(stack: LocalStack, outputs: StackOutputs, w: Watchers) {
  for (let i = 1; i <= PUSHES; i++) {
    const version = `missed-${outputs.appUrls.length}m-${i}-${RUN_ID}`;
    const runner = await missDeploy(stack, outputs, w, version);
    await restartOnce(stack, outputs, w, "missed", version, runner);
    await sleep(1000);
  }
}

/**
 * [perf] Memory of minion-1's host container, MiB: its cgroup's usage (cgroup v1 or v2 on this
 * machine; `docker stats` shows 0 for these systemd containers here), page cache included.
 */
async function minionMemory(stack: LocalStack): Promise<number | undefined> {
  const id = (await docker("inspect", "-f", "{{.Id}}", stack.container(HOST)).catch(() => "")).trim();
  for (const file of [
    `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
    `/sys/fs/cgroup/docker/${id}/memory.current`,
  ]) {
    if (id && fs.existsSync(file))
      return Math.round(Number(fs.readFileSync(file, "utf8").trim()) / 1024 / 1024);
  }
  return undefined;
}

async function benchSize(size: number, largest: boolean): Promise<void> {
  const result: SizeResult = { size, floor: [] };
  sizes.push(result);
  const stack = newStack(size);
  current = stack;
  let w: Watchers | undefined;
  const stopWatch = () => {
    w?.events.stop();
    w?.hooks.stop();
    w = undefined;
  };
  try {
    await stack.forceClean();
    log(`${size} minion(s): up`);
    const start = Date.now();
    const outputs = await stack.up();
    result.upMs = Date.now() - start;
    if (outputs.appUrls.length !== size) throw new Error(`${outputs.appUrls.length} minions up, not ${size}`);
    hostRefs.push(outputs.imageName);
    await servingEverywhere(outputs.appUrls, outputs.imageName.split(":local-")[1], 120_000);
    if (compressedBytes === undefined) {
      compressedBytes = await registrySize(REGISTRY_PORT, outputs.imageName.split(":").pop() as string);
    }

    log(`${size} minion(s): floor`);
    result.floor = await floor(stack, outputs);
    const calm = await steady(outputs.appUrls, LOAD_RPS, STEADY_SECONDS);
    result.steady = { p50: calm.p50, p99: calm.p99 };
    log(
      `${size} minion(s): steady ${LOAD_RPS} req/s per proxy: p50 ${calm.p50} ms, p99 ${calm.p99} ms, failed ${calm.failed}/${calm.sent}`,
    );

    w = watch(stack);
    await sleep(1000);
    let batchNow = DEFAULT_BATCH;
    for (const batch of largest || size >= BATCH_MIN_SIZE ? BATCHES : [DEFAULT_BATCH]) {
      if (batch !== batchNow) {
        log(`${size} minion(s): batch ${batch}`);
        stopWatch();
        await stack.onHost("master", setBatchScript(batch));
        await restartMaster(stack, size);
        w = watch(stack);
        await sleep(1000);
        batchNow = batch;
      }
      const pushed = await series(stack, outputs, w, "ours", batch);
      if (batch === DEFAULT_BATCH) {
        log(`${size} minion(s): ${RESTART_LABELS.plain}`);
        await minionRestarts(stack, outputs, w, pushed[pushed.length - 1].version);
        log(`${size} minion(s): rollbacks`);
        await rollbacks(stack, outputs, w, pushed.slice(-2));
        // After the rollbacks: its pushes would change what `saltpipe.rollback` goes back to.
        log(
          `${size} minion(s): ${RESTART_LABELS.missed}${skipsMissed(size) ? ": skipped (needs ≥ 2 minions)" : ""}`,
        );
        if (!skipsMissed(size)) await missedDeploys(stack, outputs, w);
      }
    }

    result.minionMemMiB = await minionMemory(stack);
    if (!SKIP_SEED) {
      log(`${size} minion(s): the seed's reactor → state.highstate`);
      stopWatch();
      await stack.onHost("master", installSeedScript("local"));
      await restartMaster(stack, size);
      w = watch(stack);
      await sleep(1000);
      await series(stack, outputs, w, "seed", "all");
    }
  } catch (e) {
    result.error = String(e).split("\n").slice(0, 6).join(" ");
    log(`${size} minion(s) FAILED: ${result.error}`);
  } finally {
    stopWatch();
    log(`${size} minion(s): destroy`);
    await teardown(stack, result);
    current = undefined;
  }
}

// ---------------------------------------------------------------- report

/** "n/m": how many of the samples reached the version awaited. */
const converged = (list: readonly { latency?: number }[]) =>
  `${list.filter((s) => s.latency !== undefined).length}/${list.length}`;

const restartsOf = (kind: RestartKind, size: number) =>
  restarts.filter((r) => r.kind === kind && r.size === size);

/** A missed deploy needs another minion to take it. */
const skipsMissed = (size: number) => size < 2;

function restartIntro(kind: RestartKind): string[] {
  if (kind === "plain")
    return [
      `\n## Minion ${RESTART_LABELS.plain} → serving the current version again (s)\n`,
      `\`docker restart\` of minion-1's host container (systemd, its own dockerd, salt-minion, nginx, the app container), no push, no load; ` +
        `${PUSHES} restarts per environment, measured from \`docker restart\` returning to minion-1's proxy answering GET /version with the current version (polled every 100 ms). ` +
        `The app container comes back by its \`--restart unless-stopped\` policy when the minion's engine starts; the minion-start reactor's convergence (\`saltpipe.converge\`) then checks it, and replaces it only when it does not run the current digest. ` +
        `p90 is nearest-rank (below 10 samples it is the slowest).\n`,
    ];
  const runners = SIZES.filter((size) => !skipsMissed(size)).map(
    (size) =>
      `${secs(median(restartsOf("missed", size).map((r) => r.missedRunner)), 2)} s on ${size} minions`,
  );
  return [
    `\n## Minion ${RESTART_LABELS.missed} → serving the new version (s)\n`,
    `Environments of ≥ 2 minions: minion-1's host container stopped (\`docker stop -t 1\`), a new version pushed (no load): the other minions deploy it, and the deploy's outcome, awaited, reports minion-1 as not answering ` +
      `(the missed deploy's runner, median: ${runners.join(", ") || "–"}; most of it is waiting for minion-1's \`test.ping\` to time out); then \`docker start\`. ` +
      `${PUSHES} per environment, measured from \`docker start\` returning to minion-1's proxy answering GET /version with the new version (polled every 100 ms). ` +
      `The app container comes back on the digest it ran; the minion-start reactor's convergence (\`saltpipe.converge\`) has to replace it (blue/green, health gate, drain). ` +
      `(The reconcile engine's periodic pass skips, for 5 minutes, a minion whose last deploy did not succeed, as here.) p90 is nearest-rank.\n`,
  ];
}

/** The report's section on one restart variant: what was measured, then a row per environment. */
function restartSection(kind: RestartKind): string[] {
  const awaited = kind === "plain" ? "current" : "new";
  const command = kind === "plain" ? "docker restart" : "docker start";
  const row = (size: number) => {
    if (kind === "missed" && skipsMissed(size))
      return [String(size), "skipped: 1 minion, none to take the deploy", ...Array<string>(9).fill("–")];
    const list = restartsOf(kind, size);
    const count = (pick: (r: RestartSample) => boolean | undefined) =>
      `${list.filter(pick).length}/${list.length}`;
    return [
      String(size),
      converged(list),
      ...spread(list.map((r) => r.latency)),
      secs(median(list.map((r) => r.firstAnswer)), 2),
      count((r) => r.firstAwaited),
      count((r) => r.switched),
      secs(median(list.map((r) => r.converged)), 2),
      secs(median(list.map((r) => r.command)), 2),
    ];
  };
  const header = [
    "minions",
    `served the ${awaited} version`,
    "median",
    "p90",
    "min",
    "max",
    "first answer (median)",
    `first answer was the ${awaited} version`,
    "convergence replaced the container",
    "convergence ended (median)",
    `\`${command}\` itself (median)`,
  ];
  return [...restartIntro(kind), table(header, SIZES.map(row), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
}

function report(build: BuildResult | undefined, build_error: string | undefined, context: string[]): string {
  const of = (variant: Variant, size: number, batch?: string) =>
    samples.filter((s) => s.variant === variant && s.size === size && (!batch || s.batch === batch));
  const out: string[] = [];
  const largest = Math.max(...SIZES);
  const med = (variant: Variant, size: number, batch?: string) =>
    median(of(variant, size, batch).map((s) => s.latency));
  const failedOf = (list: readonly LoadSample[]) => {
    const failed = list.reduce((n, s) => n + s.failed, 0);
    const sent = list.reduce((n, s) => n + s.sent, 0);
    const badOutcome = list.filter((s) => s.outcome === false).length;
    return `${failed} / ${sent}${badOutcome ? ` (${badOutcome} failed outcome)` : ""}`;
  };

  out.push(`## Deploy latency: push → every minion serves the new version (s)\n`);
  out.push(
    `Each push under steady load (${LOAD_RPS} req/s per proxy). p95 is nearest-rank (of ${PUSHES} pushes it is the slowest). ` +
      `"ours": registry notification → reactor → orchestration → \`saltpipe.rollout\` (rolling batches, health gate, blue/green); ` +
      `"seed": the reactor runs \`state.highstate\` on every minion (no batches, no health gate, container replaced in place).\n`,
  );
  const rows: string[][] = [];
  const latencyRow = (variant: Variant, size: number, batch: string, list: LoadSample[]) => {
    const fp = list.map((s) => s.latency);
    const fh = list.map((s) => s.fromHook);
    rows.push([
      variant,
      String(size),
      batch,
      converged(list),
      secs(median(fp), 2),
      secs(percentile(fp, 0.95), 2),
      secs(median(fh), 2),
      secs(percentile(fh, 0.95), 2),
      variant === "ours" ? secs(median(list.map((s) => s.runner)), 2) : "–",
      failedOf(list),
    ]);
  };
  for (const size of SIZES) {
    const batches = size === largest ? BATCHES : [DEFAULT_BATCH];
    for (const batch of batches) latencyRow("ours", size, batch, of("ours", size, batch));
    if (!SKIP_SEED) latencyRow("seed", size, "all", of("seed", size));
  }
  out.push(
    table(
      [
        "approach",
        "minions",
        "batch",
        "converged",
        "median from push",
        "p95 from push",
        "median from hook",
        "p95 from hook",
        "runner median",
        "failed / sent requests",
      ],
      rows,
      [1, 4, 5, 6, 7, 8],
    ),
  );

  for (const kind of ["plain", "missed"] as const) out.push(...restartSection(kind));

  out.push(`\n## Rollback → every minion serves the previous version (s)\n`);
  out.push(
    `\`saltpipe rollback --stack local\` (= \`npm run rollback\`, infra/cli/main.ts: reads the stack's outputs and key through the Pulumi CLI, then \`salt-run saltpipe.rollback\` over SSH; batch ${DEFAULT_BATCH}) ` +
      `under the same load as the pushes, measured from the command's start until every proxy serves the previous version. ` +
      `${PUSHES} rollbacks per environment, alternating between the last two pushed versions (the previous digest after a rollback is the one it left). ` +
      `"runner": the rollout's own duration from its outcome event.\n`,
  );
  out.push(
    table(
      [
        "minions",
        "converged",
        "median",
        "p90",
        "min",
        "max",
        "command (median)",
        "runner median",
        "failed / sent requests",
      ],
      SIZES.map((size) => {
        const list = of("rollback", size);
        return [
          String(size),
          converged(list),
          ...spread(list.map((s) => s.latency)),
          secs(median(list.map((s) => s.command)), 2),
          secs(median(list.map((s) => s.runner)), 2),
          failedOf(list),
        ];
      }),
      [0, 1, 2, 3, 4, 5, 6, 7, 8],
    ),
  );

  out.push(`\n## Side by side (medians, s)\n`);
  out.push(
    table(
      [
        "minions",
        `push → every minion (ours, batch ${DEFAULT_BATCH})`,
        `${RESTART_LABELS.plain} → serving the current version`,
        `${RESTART_LABELS.missed} → serving the new version`,
        "rollback → every minion",
      ],
      SIZES.map((size) => [
        String(size),
        secs(med("ours", size, DEFAULT_BATCH), 2),
        secs(median(restartsOf("plain", size).map((r) => r.latency)), 2),
        skipsMissed(size)
          ? "skipped (1 minion)"
          : secs(median(restartsOf("missed", size).map((r) => r.latency)), 2),
        secs(med("rollback", size), 2),
      ]),
      [0, 1, 2, 3, 4],
    ),
  );

  out.push(
    `\n## Floor: bare \`docker pull\` + \`docker run\` + first healthy response, inside minion-1's engine (s, median of ${FLOOR_RUNS})\n`,
  );
  out.push(
    "The same image shape as every measured push (a new version: new config, base layers already on the minion), pulled by digest from the environment's registry; health polled every 20 ms.\n",
  );
  out.push(
    table(
      ["minions in env", "pull", "run", "to healthy", "total"],
      sizes.map((r) => [
        String(r.size),
        secs(median(r.floor.map((f) => f.pull)), 2),
        secs(median(r.floor.map((f) => f.run)), 2),
        secs(median(r.floor.map((f) => f.healthy)), 2),
        secs(median(r.floor.map((f) => f.total)), 2),
      ]),
      [1, 2, 3, 4],
    ),
  );

  out.push(`\n## Ratios (medians from the end of \`docker push\`, this run)\n`);
  const ratioRows: string[][] = [];
  const floorMed = (size: number) =>
    median(sizes.find((r) => r.size === size)?.floor.map((f) => f.total) ?? []);
  for (const size of SIZES) {
    if (!SKIP_SEED)
      ratioRows.push([
        `seed ÷ ours (batch ${DEFAULT_BATCH}), ${size} minion(s)`,
        ratio(med("seed", size), med("ours", size, DEFAULT_BATCH)),
      ]);
    ratioRows.push([
      `ours (batch ${DEFAULT_BATCH}) ÷ floor, ${size} minion(s)`,
      ratio(med("ours", size, DEFAULT_BATCH), floorMed(size)),
    ]);
    if (!SKIP_SEED)
      ratioRows.push([`seed ÷ floor, ${size} minion(s)`, ratio(med("seed", size), floorMed(size))]);
  }
  for (const batch of BATCHES.filter((b) => b !== DEFAULT_BATCH)) {
    if (!SKIP_SEED)
      ratioRows.push([
        `seed ÷ ours (batch ${batch}), ${largest} minions`,
        ratio(med("seed", largest), med("ours", largest, batch)),
      ]);
    ratioRows.push([
      `batch ${batch} ÷ batch ${DEFAULT_BATCH}, ${largest} minions`,
      ratio(med("ours", largest, batch), med("ours", largest, DEFAULT_BATCH)),
    ]);
    ratioRows.push([
      `ours (batch ${batch}) ÷ floor, ${largest} minions`,
      ratio(med("ours", largest, batch), floorMed(largest)),
    ]);
  }
  if (SIZES.length > 1) {
    const smallest = Math.min(...SIZES);
    ratioRows.push([
      `ours ${largest} ÷ ${smallest} minion(s), batch ${DEFAULT_BATCH}`,
      ratio(med("ours", largest, DEFAULT_BATCH), med("ours", smallest, DEFAULT_BATCH)),
    ]);
    if (!SKIP_SEED)
      ratioRows.push([
        `seed ${largest} ÷ ${smallest} minion(s)`,
        ratio(med("seed", largest), med("seed", smallest)),
      ]);
  }
  out.push(table(["ratio", "value"], ratioRows, [1]));

  out.push(`\n## App image\n`);
  if (build) {
    out.push(
      table(
        [
          "image size (uncompressed)",
          "pushed size (compressed layers)",
          "cold build `--no-cache`",
          "rebuild, no change",
          "rebuild after a one-line change",
        ],
        [
          [
            bytes(build.sizeBytes),
            bytes(compressedBytes),
            `${secs(build.cold)} s`,
            `${secs(build.noChange)} s`,
            `${secs(build.oneLine)} s`,
          ],
        ],
        [0, 1, 2, 3, 4],
      ),
    );
    out.push(`\nRebuild after a one-line change ÷ cold build: ${ratio(build.oneLine, build.cold)}.`);
  } else {
    out.push(`not measured: ${build_error ?? "skipped (BENCH_SKIP_BUILD=1)"}`);
  }

  out.push(`\n## Environments\n`);
  out.push(
    table(
      ["minions", "`up` from nothing (s)", "destroy (s)", "error"],
      sizes.map((r) => [String(r.size), secs(r.upMs), secs(r.destroyMs), r.error ?? ""]),
      [1, 2],
    ),
  );
  const kinds = new Map<string, number>();
  for (const s of samples)
    for (const f of s.failures) {
      const key = `${s.variant} ${s.size}m: ${f.replace(/^http:\/\/\S+: /, "")}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
  if (kinds.size)
    out.push(
      `\nKinds of failed requests (first 3 per push):\n\n${[...kinds].map(([k, n]) => `- ${k} (×${n})`).join("\n")}`,
    );
  out.push(`\n## Conditions\n\n${context.map((c) => `- ${c}`).join("\n")}`);
  return out.join("\n");
}

async function conditions(): Promise<string[]> {
  const commit = (await mustRun("git", ["rev-parse", "--short", "HEAD"]).catch(() => "unknown")).trim();
  const dirty = (
    await mustRun("git", ["status", "--porcelain", "--", ".", ":!bench", ":!node_modules"]).catch(() => "")
  ).trim()
    ? " (with local changes)"
    : "";
  const engine = (await docker("version", "-f", "{{.Server.Version}}").catch(() => "?")).trim();
  const others = [
    ...new Set(
      (await docker("ps", "--format", "{{.Names}}"))
        .split("\n")
        .filter((n) => n && !n.startsWith("saltpipe-bench-"))
        .map((n) => n.replace(/-(master|registry|minion-\d+)$/, "")),
    ),
  ];
  return [
    `${new Date().toISOString()}, commit ${commit}${dirty}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Docker engine ${engine}, Node ${process.version}`,
    `other environments running on this machine at the start: ${others.length ? others.join(", ") : "none"} (they share the CPUs: compare ratios within this run, not absolute figures across runs)`,
    `${PUSHES} measured pushes per series after one warm-up push; load ${LOAD_RPS} req/s per proxy (GET /version, a new connection per request) plus the 10/s probe per proxy`,
    `"from push": end of \`docker push\` on this machine; "from hook": the \`_stamp\` salt-api put on the registry's notification (it can arrive before \`docker push\` returns)`,
    `batches other than "${DEFAULT_BATCH}" are set by editing \`saltpipe:deploy:batch\` in the bench master's rendered config and restarting salt-master (see the README for why not \`pulumi up\`)`,
  ];
}

// ---------------------------------------------------------------- main

async function cleanupAndExit(signal: string): Promise<void> {
  log(`${signal}: cleaning up`);
  if (current) await teardown(current).catch((e) => log(String(e)));
  process.exit(130);
}

async function main(): Promise<void> {
  process.on("SIGINT", () => void cleanupAndExit("SIGINT"));
  process.on("SIGTERM", () => void cleanupAndExit("SIGTERM"));
  const context = await conditions();
  const started = Date.now();
  let build: BuildResult | undefined;
  let buildError: string | undefined;
  if (!SKIP_BUILD) {
    try {
      build = await buildBench();
    } catch (e) {
      buildError = String(e).split("\n")[0];
    }
  }
  const largest = Math.max(...SIZES);
  for (const size of SIZES) await benchSize(size, size === largest);
  for (const ref of hostRefs) await docker("rmi", ref).catch(() => undefined);
  context.push(`whole bench: ${secs(Date.now() - started, 0)} s`);

  const text = `# Deploy benchmarks (\`npm run bench\`)\n\n${report(build, buildError, context)}\n`;
  console.log(text);
  const dir = path.join(PACKAGE_ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const day = new Date().toISOString().slice(0, 10);
  let file = path.join(dir, `deploy-${day}.md`);
  for (let n = 2; fs.existsSync(file); n++) file = path.join(dir, `deploy-${day}-${n}.md`);
  // [perf] summary.json and the plot, from the same samples.
  const constructFile = path.join(dir, "construct.json");
  const construct = fs.existsSync(constructFile)
    ? (JSON.parse(fs.readFileSync(constructFile, "utf8")) as { stacks: Parameters<typeof summarize>[3] })
        .stacks
    : undefined;
  const summary = summarize(
    samples,
    sizes.map((z) => ({
      size: z.size,
      floor: z.floor.map((f) => f.total),
      steady: z.steady,
      minionMemMiB: z.minionMemMiB,
      missedRunner: restarts
        .filter((r) => r.kind === "missed" && r.size === z.size)
        .flatMap((r) => (r.missedRunner === undefined ? [] : [r.missedRunner])),
    })),
    LOAD_RPS,
    construct,
  );
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  const plot = file.replace(/\.md$/, ".svg");
  fs.writeFileSync(plot, plotSvg(summary));
  fs.writeFileSync(
    file,
    `${text}\n## Plot\n\n![push → serving against minions and batch](${path.basename(plot)})\n\n## summary.json\n\n\`\`\`json\n${JSON.stringify(summary, null, 2)}\n\`\`\`\n`,
  );
  // Commit-ready: `npm run lint` checks Markdown with Prettier too.
  await mustRun(path.join(PACKAGE_ROOT, "node_modules", ".bin", "prettier"), ["--write", file]).catch((e) =>
    log(`prettier: ${String(e).split("\n")[0]}`),
  );
  log(`written to ${path.relative(PACKAGE_ROOT, file)}`);
  if (sizes.some((r) => r.error) || buildError) process.exitCode = 1;
}

main().catch(async (e) => {
  console.error(e);
  if (current) await teardown(current).catch(() => undefined);
  process.exit(1);
});
