/** Steady state: the same load as the deploys' for a few seconds with no deploy. */
import { loadRpsFor, log, STEADY_SECONDS } from "../lib/config";
import { type LoadTarget, steady } from "../lib/loadgen";

/** p50/p99 (ms) under the environment's load (loadRpsFor per proxy, through its LB) for STEADY_SECONDS, no deploy. */
export async function steadyState(size: number, env: LoadTarget): Promise<{ p50: number; p99: number }> {
  const rps = loadRpsFor(size);
  const calm = await steady(env, STEADY_SECONDS);
  log(
    `${size} minion(s): steady ${rps} req/s per proxy: p50 ${calm.p50} ms, p99 ${calm.p99} ms, failed ${calm.failed}/${calm.sent}`,
  );
  return { p50: calm.p50, p99: calm.p99 };
}
