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
 * sizes ≥ BENCH_BATCH_MIN_SIZE (4) and the largest, default "1,25%,50%,100%"),
 * BENCH_LIFECYCLE_MAX_SIZE (restarts, rollbacks and missed deploys on sizes up to it, default 4), BENCH_LOAD_RPS (per proxy, default 200),
 * BENCH_APP_PORT_BASE (30080), BENCH_REGISTRY_PORT (30500), BENCH_SKIP_SEED=1,
 * BENCH_SKIP_BUILD=1.
 *
 * Layout: this file only orchestrates (each environment's sequence, the report's order, clean-up).
 * Each measurement is one file under bench/measure/ (image, floor, steady, push, restart,
 * missed-deploy, rollback, memory), with its report section; what they share is in bench/lib/
 * (config: the knobs; results: samples and collections; env, events, deploys, restart, probes,
 * loadgen, seed, stats; report: the sections over several measurements, summary.json, the plot).
 */
import { sleep } from "../test/e2e/support/run";
import { docker } from "../test/e2e/support/stack";
import {
  DEFAULT_BATCH,
  LIFECYCLE_MAX_SIZE,
  log,
  REGISTRY_PORT,
  SIZES,
  SKIP_BUILD,
  SKIP_SEED,
  batchesFor,
} from "./lib/config";
import { machineQuiet, newStack, restartMaster, servingEverywhere, teardown } from "./lib/env";
import { watch, type Watchers } from "./lib/events";
import {
  conditions,
  environmentsSection,
  ratiosSection,
  sideBySideSection,
  writeResults,
} from "./lib/report";
import {
  type BuildResult,
  hostRefs,
  RESTART_LABELS,
  type SizeResult,
  sizes,
  skipsMissed,
  state,
} from "./lib/results";
import { installSeedScript, setBatchScript } from "./lib/seed";
import { secs } from "./lib/stats";
import { floor, floorSection } from "./measure/floor";
import { buildBench, imageSection, registrySize } from "./measure/image";
import { minionMemory } from "./measure/memory";
import { missedDeploys, missedRestartSection } from "./measure/missed-deploy";
import { pushSection, series } from "./measure/push";
import { minionRestarts, plainRestartSection } from "./measure/restart";
import { rollbackSection, rollbacks } from "./measure/rollback";
import { steadyState } from "./measure/steady";

// ---------------------------------------------------------------- one environment

async function benchSize(size: number): Promise<void> {
  const result: SizeResult = { size, floor: [] };
  sizes.push(result);
  const stack = newStack(size);
  state.current = stack;
  let w: Watchers | undefined;
  const stopWatch = () => {
    w?.events.stop();
    w?.hooks.stop();
    w?.jobs.stop();
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
    if (state.compressedBytes === undefined) {
      state.compressedBytes = await registrySize(
        REGISTRY_PORT,
        outputs.imageName.split(":").pop() as string,
        await stack.secret("registryPassword"),
      );
    }

    await machineQuiet();
    log(`${size} minion(s): floor`);
    const floors = await floor(stack, outputs);
    result.floor = floors.one;
    result.floorAll = floors.all;
    result.steady = await steadyState(size, outputs);

    w = watch(stack);
    await sleep(1000);
    let batchNow = DEFAULT_BATCH;
    for (const batch of batchesFor(size)) {
      if (batch !== batchNow) {
        log(`${size} minion(s): batch ${batch}`);
        stopWatch();
        await stack.onHost("master", setBatchScript(batch));
        await restartMaster(stack, size);
        await machineQuiet();
        w = watch(stack);
        await sleep(1000);
        batchNow = batch;
      }
      const pushed = await series(stack, outputs, w, "ours", batch);
      if (batch === DEFAULT_BATCH && size <= LIFECYCLE_MAX_SIZE) {
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
      await machineQuiet();
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
    state.current = undefined;
  }
}

// ---------------------------------------------------------------- report

/** The report, section by section, in this order. */
function report(build: BuildResult | undefined, build_error: string | undefined, context: string[]): string {
  return [
    ...pushSection(),
    ...plainRestartSection(),
    ...missedRestartSection(),
    ...rollbackSection(),
    ...sideBySideSection(),
    ...floorSection(),
    ...ratiosSection(),
    ...imageSection(build, build_error),
    ...environmentsSection(context),
  ].join("\n");
}

// ---------------------------------------------------------------- main

async function cleanupAndExit(signal: string): Promise<void> {
  log(`${signal}: cleaning up`);
  if (state.current) await teardown(state.current).catch((e) => log(String(e)));
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
  for (const size of SIZES) await benchSize(size);
  for (const ref of hostRefs) await docker("rmi", ref).catch(() => undefined);
  context.push(`whole bench: ${secs(Date.now() - started, 0)} s`);

  const text = `# Deploy benchmarks (\`npm run bench\`)\n\n${report(build, buildError, context)}\n`;
  await writeResults(text);
  if (sizes.some((r) => r.error) || buildError) process.exitCode = 1;
}

main().catch(async (e) => {
  console.error(e);
  if (state.current) await teardown(state.current).catch(() => undefined);
  process.exit(1);
});
