/** The deploy bench's knobs (environment variables, see bench/deploy.ts) and fixed settings. */

/** A knob that must be a positive number: anything else stops the bench at once, naming it. */
export function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (value > 0) return value;
  return refuse(name, raw, "a positive number");
}

/** Knobs are read while the bench's modules load: one line naming it, not a stack trace, and nothing started. */
function refuse(name: string, raw: string | undefined, expected: string): never {
  console.error(`bench: ${name}=${raw}: expected ${expected}`);
  process.exit(2);
}

/** A comma-separated list knob whose every item `ok` accepts. */
function list(name: string, fallback: string, ok: (item: string) => boolean, expected: string): string[] {
  const raw = process.env[name] ?? fallback;
  const items = raw.split(",").map((item) => item.trim());
  return items.every(ok) ? items : refuse(name, raw, expected);
}

export const SIZES = list(
  "BENCH_SIZES",
  "1,2,4",
  (n) => /^[1-9][0-9]*$/.test(n),
  "minion counts, e.g. 1,4,8",
).map(Number);
export const PUSHES = positive("BENCH_PUSHES", 5);
export const BATCHES = list(
  "BENCH_BATCHES",
  "1,25%,50%,100%",
  (b) => /^[1-9][0-9]*$/.test(b) || /^([1-9][0-9]?|100)%$/.test(b),
  "Salt batch sizes, e.g. 1,25%,100%",
);
/** Every batch runs on environments of at least this many minions (and on the largest). */
export const BATCH_MIN_SIZE = positive("BENCH_BATCH_MIN_SIZE", 4);
/**
 * The lifecycle series (restarts, rollbacks, missed deploys) run on environments of at most
 * this many minions: the summary's figures come from 1 and 4; the scale sizes only time pushes.
 */
export const LIFECYCLE_MAX_SIZE = positive("BENCH_LIFECYCLE_MAX_SIZE", 4);
export const LIFECYCLE_SIZES = SIZES.filter((size) => size <= LIFECYCLE_MAX_SIZE);
/** Requests per second per proxy, from autocannon (bench/lib/loadgen.ts). */
export const LOAD_RPS = positive("BENCH_LOAD_RPS", 200);
/**
 * Requests per second, in total, on the scale sizes (above LIFECYCLE_MAX_SIZE), spread over
 * their proxies (at least 25 each): two cores cannot also serve 200/s per proxy on 16 minions
 * while Salt deploys them, and the scale series measures how time grows, not the load.
 */
export const SCALE_LOAD_TOTAL = positive("BENCH_SCALE_LOAD_TOTAL", 800);
/** Load per proxy on an environment of `size` minions. */
export const loadRpsFor = (size: number) =>
  size <= LIFECYCLE_MAX_SIZE ? LOAD_RPS : Math.max(25, Math.floor(SCALE_LOAD_TOTAL / size));
/**
 * How often a proxy is asked which version it serves while a deploy is awaited: every 20 ms,
 * as the floor's health probe polls (bench/measure/floor.ts), so both are read alike; on the
 * scale sizes 5 ms per minion (16 minions: 80 ms), not to add a second load.
 */
export const servedPollMs = (size: number) => Math.max(20, 5 * size);
/** Seconds of load without a deploy, per environment: the steady-state latency. */
export const STEADY_SECONDS = 5;
export const APP_PORT_BASE = positive("BENCH_APP_PORT_BASE", 30080);
export const REGISTRY_PORT = positive("BENCH_REGISTRY_PORT", 30500);
export const SKIP_SEED = process.env.BENCH_SKIP_SEED === "1";
export const SKIP_BUILD = process.env.BENCH_SKIP_BUILD === "1";
export const FLOOR_RUNS = PUSHES;
export const DEPLOY_TIMEOUT_MS = 180_000;
/** The committed local stack's batch (Pulumi.local.yaml); the other batches are set on the master. */
export const DEFAULT_BATCH = "1";
/** The batches timed on an environment of `size` minions: every batch from BATCH_MIN_SIZE up, and on the largest. */
export const batchesFor = (size: number): readonly string[] =>
  size >= BATCH_MIN_SIZE || size === Math.max(...SIZES) ? BATCHES : [DEFAULT_BATCH];
export const RUN_ID = Date.now().toString(36);

/** The minion every restart measurement restarts. */
export const HOST = "minion-1";

export const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
