/** What the two restart measurements share (bench/measure/restart.ts, missed-deploy.ts). */
import { docker, type LocalStack, type StackOutputs } from "../../test/e2e/support/stack";
import { DEPLOY_TIMEOUT_MS, HOST, log, LIFECYCLE_SIZES, servedPollMs } from "./config";
import { elapsed } from "./deploys";
import { minionsOf, outcomeSince, type Watchers } from "./events";
import { watchServed } from "./probes";
import {
  converged,
  RESTART_LABELS,
  type RestartKind,
  type RestartSample,
  restarts,
  restartsOf,
  skipsMissed,
} from "./results";
import { median, secs, spread, table } from "./stats";

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
export async function restartOnce(
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
  const served = await watchServed(
    outputs.appUrls[0],
    version,
    DEPLOY_TIMEOUT_MS,
    servedPollMs(outputs.appUrls.length),
  );
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

/** The report's section on one restart variant: `intro` (what was measured), then a row per environment. */
export function restartSection(kind: RestartKind, intro: string[]): string[] {
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
  return [...intro, table(header, LIFECYCLE_SIZES.map(row), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
}
