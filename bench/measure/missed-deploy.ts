/**
 * Minion restart after a missed deploy (≥ 2 minions): minion-1's host stopped while a new
 * version deploys to the others, then started; until its proxy serves the new version.
 */
import { sleep } from "../../test/e2e/support/run";
import { docker, type LocalStack, type StackOutputs } from "../../test/e2e/support/stack";
import { HOST, PUSHES, RUN_ID, LIFECYCLE_SIZES } from "../lib/config";
import { pushImage } from "../lib/deploys";
import { minionsOf, outcomeSince, runnerOf, type Watchers } from "../lib/events";
import { restartOnce, restartSection } from "../lib/restart";
import { RESTART_LABELS, restartsOf, skipsMissed } from "../lib/results";
import { median, secs } from "../lib/stats";

/**
 * Stops minion-1's host and pushes `version`: the other minions deploy it, and the deploy's
 * outcome (awaited) must report minion-1 as not answering. Returns the runner's duration.
 */
export async function missDeploy(stack: LocalStack, outputs: StackOutputs, w: Watchers, version: string) {
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
export async function missedDeploys(stack: LocalStack, outputs: StackOutputs, w: Watchers) {
  for (let i = 1; i <= PUSHES; i++) {
    const version = `missed-${outputs.appUrls.length}m-${i}-${RUN_ID}`;
    const runner = await missDeploy(stack, outputs, w, version);
    await restartOnce(stack, outputs, w, "missed", version, runner);
    await sleep(1000);
  }
}

/** The report's section on restarts after a missed deploy. */
export function missedRestartSection(): string[] {
  const runners = LIFECYCLE_SIZES.filter((size) => !skipsMissed(size)).map(
    (size) =>
      `${secs(median(restartsOf("missed", size).map((r) => r.missedRunner)), 2)} s on ${size} minions`,
  );
  return restartSection("missed", [
    `\n## Minion ${RESTART_LABELS.missed} → serving the new version (s)\n`,
    `Environments of ≥ 2 minions: minion-1's host container stopped (\`docker stop -t 1\`), a new version pushed (no load): the other minions deploy it, and the deploy's outcome, awaited, reports minion-1 as not answering ` +
      `(the missed deploy's runner, median: ${runners.join(", ") || "–"}; most of it is waiting for minion-1's \`test.ping\` to time out); then \`docker start\`. ` +
      `${PUSHES} per environment, measured from \`docker start\` returning to minion-1's proxy answering GET /version with the new version (polled every 20 ms, as the pushes). ` +
      `The app container comes back on the digest it ran; the minion-start reactor's convergence (\`saltpipe.converge\`) has to replace it (blue/green, health gate, drain). ` +
      `(The reconcile engine's periodic pass skips, for 5 minutes, a minion whose last deploy did not succeed, as here.) p90 is nearest-rank.\n`,
  ]);
}
