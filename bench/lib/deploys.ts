/** What the push and rollback measurements share: pushing a version, waiting for it, load. */
import { sleep } from "../../test/e2e/support/run";
import type { LocalStack, PushedImage, StackOutputs } from "../../test/e2e/support/stack";
import { DEPLOY_TIMEOUT_MS, loadRpsFor, log, servedPollMs } from "./config";
import { RateLoad } from "./loadgen";
import { firstServed } from "./probes";
import { hostRefs, type LoadSample, samples } from "./results";
import { secs } from "./stats";

/** Builds and pushes `version` as CI would (the image is removed from this machine at the end). */
export async function pushImage(
  stack: LocalStack,
  outputs: StackOutputs,
  version: string,
): Promise<PushedImage> {
  const image = await stack.pushVersion(outputs.registry, version);
  hostRefs.push(`${outputs.registry}:${image.tag}`);
  return image;
}

/** Epoch ms at which the last of `urls` first served `version` (undefined: one did not in time). */
export async function allServed(urls: readonly string[], version: string): Promise<number | undefined> {
  const times = await firstServed(urls, version, DEPLOY_TIMEOUT_MS, servedPollMs(urls.length));
  return times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
}

export const elapsed = (end: number | undefined, start: number | undefined) =>
  end === undefined || start === undefined ? undefined : end - start;

/**
 * Runs `act` under steady load on every proxy (kept 1 s after it ends) and records its
 * sample, also when `act` fails.
 */
export async function underLoad(
  urls: readonly string[],
  key: Pick<LoadSample, "variant" | "batch">,
  label: string,
  act: () => Promise<Partial<LoadSample>>,
): Promise<LoadSample> {
  const load = new RateLoad(urls, loadRpsFor(urls.length)).start();
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
