/** What the push and rollback measurements share: pushing a version, waiting for it, load. */
import { sleep } from "../../test/e2e/support/run";
import type { LocalStack, PushedImage, StackOutputs } from "../../test/e2e/support/stack";
import { DEPLOY_TIMEOUT_MS, log, servedPollMs } from "./config";
import { environmentLoad, type LoadTarget } from "./loadgen";
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

/** Every proxy polled until it serves `version`: when the last one first did, and the probes. */
export interface AllServed {
  /** Epoch ms at which the last of the proxies first served it (undefined: one did not in time). */
  readonly at?: number;
  /** Probes straight to the proxies (a new connection each), and those that failed. */
  readonly probes: number;
  readonly failedProbes: number;
}

export async function allServed(urls: readonly string[], version: string): Promise<AllServed> {
  const served = await firstServed(urls, version, DEPLOY_TIMEOUT_MS, servedPollMs(urls.length));
  const times = served.map((s) => s.at);
  return {
    at: times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined,
    probes: served.reduce((n, s) => n + s.probes, 0),
    failedProbes: served.reduce((n, s) => n + s.failedProbes, 0),
  };
}

export const elapsed = (end: number | undefined, start: number | undefined) =>
  end === undefined || start === undefined ? undefined : end - start;

/**
 * Runs `act` under the environment's steady load (through its load balancer; kept 1 s after
 * it ends) and records its sample, also when `act` fails.
 */
export async function underLoad(
  env: LoadTarget,
  key: Pick<LoadSample, "variant" | "batch">,
  label: string,
  act: () => Promise<Partial<LoadSample>>,
): Promise<LoadSample> {
  const load = environmentLoad(env).start();
  let measured: Partial<LoadSample> = {};
  try {
    measured = await act();
    await sleep(1000);
  } finally {
    const report = await load.stop();
    samples.push({
      ...measured,
      ...key,
      size: env.appUrls.length,
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
      `failed ${s.failed}/${s.sent}, probes failed ${s.failedProbes ?? 0}/${s.probes ?? 0}${s.outcome === false ? ", outcome FAILED" : ""}`,
  );
  return s;
}
