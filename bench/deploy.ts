/**
 * Deploy benchmarks on real local environments (`npm run bench:deploy`). Not a test: it
 * measures, in one run, and prints a Markdown report (also written to bench/results/):
 *
 *  - deploy latency from push to every minion serving the new version, on 1, 2 and 4 minions
 *    (from the end of `docker push`, and from the notification's arrival at the master);
 *  - the seed's approach (the reactor runs `state.highstate` on the environment, see
 *    lib/seed.ts) against ours, side by side on the same environments;
 *  - the floor: bare `docker pull` + `docker run` + first healthy response inside a minion;
 *  - failed requests under steady load (every push runs under ≥ 20 req/s per proxy), and the
 *    rolling batch's effect ("1", "50%", "100%" on the largest environment);
 *  - the app image: size, cold build, rebuild after a one-line change.
 *
 * Each environment is brought up by the project's own script (scripts/local-stack.sh, the
 * real Pulumi engine) under the name prefix saltpipe-bench-<minions>, measured, destroyed;
 * nothing is left behind, also on failure or Ctrl-C.
 *
 * Knobs: BENCH_SIZES (default "1,2,4"), BENCH_PUSHES (measured pushes per series, default 5),
 * BENCH_BATCHES (batches tried on the largest size, default "1,50%,100%"), BENCH_LOAD_RPS
 * (per proxy, default 20), BENCH_APP_PORT_BASE (30080), BENCH_REGISTRY_PORT (30500),
 * BENCH_SKIP_SEED=1, BENCH_SKIP_BUILD=1.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { PACKAGE_ROOT } from "../infra/paths";
import { Load } from "../test/e2e/support/http";
import { mustRun, sleep, waitFor } from "../test/e2e/support/run";
import { docker, EventWatch, LocalStack, type StackOutputs } from "../test/e2e/support/stack";
import { firstServed, HookWatch } from "./lib/probes";
import { installSeedScript, setBatchScript } from "./lib/seed";
import { bytes, median, percentile, ratio, secs, table } from "./lib/stats";

const SIZES = (process.env.BENCH_SIZES ?? "1,2,4").split(",").map(Number);
const PUSHES = Number(process.env.BENCH_PUSHES ?? 5);
const BATCHES = (process.env.BENCH_BATCHES ?? "1,50%,100%").split(",");
const LOAD_RPS = Number(process.env.BENCH_LOAD_RPS ?? 20);
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

type Variant = "ours" | "seed";

interface PushSample {
  readonly variant: Variant;
  readonly size: number;
  readonly batch: string;
  /** End of `docker push` → every minion serves the new version (ms; undefined: never). */
  readonly fromPush?: number;
  /** Notification's arrival at the master (salt-api) → every minion serves it. */
  readonly fromHook?: number;
  /** The orchestration's own duration from its outcome event (ours only). */
  readonly runner?: number;
  readonly outcome?: boolean;
  readonly sent: number;
  readonly failed: number;
  readonly failures: string[];
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
  error?: string;
}

interface BuildResult {
  readonly sizeBytes: number;
  readonly cold: number;
  readonly noChange: number;
  readonly oneLine: number;
}

const samples: PushSample[] = [];
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
  const prefix = `saltpipe-bench-${size}`;
  const stack = new LocalStack(prefix, { appPortBase: APP_PORT_BASE, registryPort: REGISTRY_PORT });
  // The harness sets prefix and ports; the bench adds the number of minions (the committed
  // Pulumi.local.yaml's deploy settings stay: batch "1", drain 2 s, health timeout 30 s).
  stack.env.SALTPIPE_CONFIG_OVERRIDES = JSON.stringify({
    ...JSON.parse(stack.env.SALTPIPE_CONFIG_OVERRIDES),
    minions: size,
  });
  return stack;
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

async function onePush(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  variant: Variant,
  batch: string,
  label: string,
): Promise<PushSample> {
  const size = outputs.appUrls.length;
  const version = `${label}-${RUN_ID}`;
  const load = new Load(outputs.appUrls, LOAD_RPS).start();
  const served = firstServed(outputs.appUrls, version, DEPLOY_TIMEOUT_MS);
  let fromPush: number | undefined, fromHook: number | undefined, runner: number | undefined;
  let outcome: boolean | undefined;
  try {
    const image = await stack.pushVersion(outputs.registry, version);
    const pushedAt = Date.now();
    hostRefs.push(`${outputs.registry}:${image.tag}`);
    const times = await served;
    const all = times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
    const hookAt = await w.hooks.arrival(image.tag, 2000);
    fromPush = all === undefined ? undefined : all - pushedAt;
    fromHook = all === undefined || hookAt === undefined ? undefined : all - hookAt;
    if (variant === "ours") {
      // The next push must not queue behind this one's drain: wait for its outcome event.
      const data = await waitFor(`the outcome of ${image.digest}`, 120_000, async () =>
        Promise.resolve(
          w.events.matching("saltpipe/deploy/local/outcome").find((e) => e.data.digest === image.digest)
            ?.data,
        ),
      ).catch(() => undefined);
      outcome = data ? data.result === true : undefined;
      runner = typeof data?.duration === "number" ? data.duration * 1000 : undefined;
    } else {
      await seedJobsDone(stack);
    }
    await sleep(1000);
  } finally {
    await served.catch(() => undefined);
    const report = await load.stop();
    samples.push({
      variant,
      size,
      batch,
      fromPush,
      fromHook,
      runner,
      outcome,
      sent: report.sent,
      failed: report.failed,
      failures: report.failures.slice(0, 3),
    });
  }
  const s = samples[samples.length - 1];
  log(
    `${variant} ${size}m batch ${batch} ${label}: push→all ${secs(s.fromPush, 2)} s, hook→all ${secs(s.fromHook, 2)} s, ` +
      `failed ${s.failed}/${s.sent}${s.outcome === false ? ", outcome FAILED" : ""}`,
  );
  return s;
}

/** One warm-up push (not counted), then PUSHES measured ones. */
async function series(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  variant: Variant,
  batch: string,
): Promise<void> {
  const size = outputs.appUrls.length;
  const slug = `${variant}-${size}m-b${batch.replace("%", "pct")}`;
  await onePush(stack, outputs, w, variant, batch, `${slug}-warm`);
  samples.pop();
  for (let i = 1; i <= PUSHES; i++) await onePush(stack, outputs, w, variant, batch, `${slug}-${i}`);
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
    hostRefs.push(outputs.imageName);
    await servingEverywhere(outputs.appUrls, outputs.imageName.split(":local-")[1], 120_000);
    if (compressedBytes === undefined) {
      compressedBytes = await registrySize(REGISTRY_PORT, outputs.imageName.split(":").pop() as string);
    }

    log(`${size} minion(s): floor`);
    result.floor = await floor(stack, outputs);

    w = watch(stack);
    await sleep(1000);
    let batchNow = DEFAULT_BATCH;
    for (const batch of largest ? BATCHES : [DEFAULT_BATCH]) {
      if (batch !== batchNow) {
        log(`${size} minion(s): batch ${batch}`);
        stopWatch();
        await stack.onHost("master", setBatchScript(batch));
        await restartMaster(stack, size);
        w = watch(stack);
        await sleep(1000);
        batchNow = batch;
      }
      await series(stack, outputs, w, "ours", batch);
    }

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

function report(build: BuildResult | undefined, build_error: string | undefined, context: string[]): string {
  const of = (variant: Variant, size: number, batch?: string) =>
    samples.filter((s) => s.variant === variant && s.size === size && (!batch || s.batch === batch));
  const out: string[] = [];
  const largest = Math.max(...SIZES);

  out.push(`## Deploy latency: push → every minion serves the new version (s)\n`);
  out.push(
    `Each push under steady load (${LOAD_RPS} req/s per proxy). p95 is nearest-rank (of ${PUSHES} pushes it is the slowest). ` +
      `"ours": registry notification → reactor → orchestration → \`saltpipe.rollout\` (rolling batches, health gate, blue/green); ` +
      `"seed": the reactor runs \`state.highstate\` on every minion (no batches, no health gate, container replaced in place).\n`,
  );
  const rows: string[][] = [];
  const latencyRow = (variant: Variant, size: number, batch: string, list: PushSample[]) => {
    const fp = list.map((s) => s.fromPush);
    const fh = list.map((s) => s.fromHook);
    const failed = list.reduce((n, s) => n + s.failed, 0);
    const sent = list.reduce((n, s) => n + s.sent, 0);
    const notServed = list.filter((s) => s.fromPush === undefined).length;
    const badOutcome = list.filter((s) => s.outcome === false).length;
    rows.push([
      variant,
      String(size),
      batch,
      `${list.length - notServed}/${list.length}`,
      secs(median(fp), 2),
      secs(percentile(fp, 0.95), 2),
      secs(median(fh), 2),
      secs(percentile(fh, 0.95), 2),
      variant === "ours" ? secs(median(list.map((s) => s.runner)), 2) : "–",
      `${failed} / ${sent}${badOutcome ? ` (${badOutcome} failed outcome)` : ""}`,
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
  const med = (variant: Variant, size: number, batch?: string) =>
    median(of(variant, size, batch).map((s) => s.fromPush));
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
  fs.writeFileSync(file, text);
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
