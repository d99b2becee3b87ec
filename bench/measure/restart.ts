/**
 * Minion restart, nothing missed: `docker restart` of minion-1's host, no push; from the
 * command returning until its proxy serves the current version again.
 */
import { sleep } from "../../test/e2e/support/run";
import type { LocalStack, StackOutputs } from "../../test/e2e/support/stack";
import { PUSHES } from "../lib/config";
import type { Watchers } from "../lib/events";
import { restartOnce, restartSection } from "../lib/restart";
import { RESTART_LABELS } from "../lib/results";

/**
 * PUSHES restarts, nothing missed: the app container comes back by its restart policy in the
 * minion's own engine, already on the current digest; the minion-start reactor's convergence
 * checks it. Measured from `docker restart` returning.
 */
export async function minionRestarts(stack: LocalStack, outputs: StackOutputs, w: Watchers, version: string) {
  for (let i = 1; i <= PUSHES; i++) {
    await restartOnce(stack, outputs, w, "plain", version);
    await sleep(1000);
  }
}

/** The report's section on restarts with nothing missed. */
export function plainRestartSection(): string[] {
  return restartSection("plain", [
    `\n## Minion ${RESTART_LABELS.plain} → serving the current version again (s)\n`,
    `\`docker restart\` of minion-1's host container (systemd, its own dockerd, salt-minion, nginx, the app container), no push, no load; ` +
      `${PUSHES} restarts per environment, measured from \`docker restart\` returning to minion-1's proxy answering GET /version with the current version (polled every 20 ms, as the pushes). ` +
      `The app container comes back by its \`--restart unless-stopped\` policy when the minion's engine starts; the minion-start reactor's convergence (\`saltpipe.converge\`) then checks it, and replaces it only when it does not run the current digest. ` +
      `p90 is nearest-rank (below 10 samples it is the slowest).\n`,
  ]);
}
