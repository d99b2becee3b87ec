/**
 * Deploy latency: push → every minion serves the new version, ours (per batch) and the seed's
 * highstate, each push under steady load with its failed requests.
 */
import { waitFor } from "../../test/e2e/support/run";
import type { LocalStack, PushedImage, StackOutputs } from "../../test/e2e/support/stack";
import { LOAD_RPS, PUSHES, RUN_ID, servedPollMs, SIZES, SKIP_SEED, batchesFor } from "../lib/config";
import { allServed, elapsed, pushImage, underLoad } from "../lib/deploys";
import { deployStartOf, outcomeOf, type Watchers } from "../lib/events";
import {
  converged,
  failedOf,
  failedProbesOf,
  type LoadSample,
  samples,
  samplesOf,
  type Variant,
} from "../lib/results";
import { median, percentile, secs, table } from "../lib/stats";

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
): Promise<PushedImage> {
  const version = `${label}-${RUN_ID}`;
  let image: PushedImage | undefined;
  await underLoad(outputs, { variant, batch }, label, async () => {
    const served = allServed(outputs.appUrls, version);
    const after = w.events.events.length;
    image = await pushImage(stack, outputs, version);
    const pushedAt = Date.now();
    const all = await served;
    const hookAt = await w.hooks.arrival(image.tag, 2000);
    // Ours: the next push must not queue behind this one's drain, so wait for its outcome event.
    const done = variant === "ours" ? await outcomeOf(w, image.digest, after) : {};
    if (variant === "seed") await seedJobsDone(stack);
    const startAt = variant === "ours" ? deployStartOf(w, image.digest, after) : undefined;
    const jobAt = variant === "ours" && hookAt !== undefined ? w.jobs.firstDeployJob(hookAt) : undefined;
    return {
      latency: elapsed(all.at, pushedAt),
      fromHook: elapsed(all.at, hookAt),
      fromStart: elapsed(all.at, startAt),
      probes: all.probes,
      failedProbes: all.failedProbes,
      hookToStart: startAt !== undefined && hookAt !== undefined ? startAt - hookAt : undefined,
      hookToJob: jobAt !== undefined && hookAt !== undefined ? jobAt - hookAt : undefined,
      ...done,
    };
  });
  return image as PushedImage;
}

/** One warm-up push (not counted), then PUSHES measured ones; returns every image pushed, oldest first. */
export async function series(
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

/** The report's "Deploy latency" section. */
export function pushSection(): string[] {
  const out: string[] = [];
  out.push(`## Deploy latency: push → every minion serves the new version (s)\n`);
  out.push(
    `Each push under steady load through the environment's load balancer (${LOAD_RPS} req/s per proxy in all; the scale sizes less, see Conditions), while each proxy is also probed straight every ${servedPollMs(1)} ms on a new connection (the probe that times "serving"; a failed probe counts). p95 is nearest-rank (of ${PUSHES} pushes it is the slowest). ` +
      `"ours": registry notification → reactor → the \`saltpipe.receive\` runner (rolling batches, health gate, blue/green); ` +
      `"seed": the reactor runs \`state.highstate\` on every minion (no batches, no health gate, container replaced in place). ` +
      `"hook → runner start": the notification's \`_stamp\` → the runner's \`saltpipe/deploy/local/start\` event; "hook → first minion job": → the first job the deploy publishes (the targets' ping), both on the master's clock.\n`,
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
      variant === "ours" ? secs(median(list.map((s) => s.hookToStart)), 2) : "–",
      variant === "ours" ? secs(median(list.map((s) => s.hookToJob)), 2) : "–",
      failedOf(list),
      failedProbesOf(list),
    ]);
  };
  for (const size of SIZES) {
    for (const batch of batchesFor(size)) latencyRow("ours", size, batch, samplesOf("ours", size, batch));
    if (!SKIP_SEED) latencyRow("seed", size, "all", samplesOf("seed", size));
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
        "hook → runner start",
        "hook → first minion job",
        "failed / sent requests",
        "failed / sent probes",
      ],
      rows,
      [1, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    ),
  );
  return out;
}
