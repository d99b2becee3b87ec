/** Rollback: the operator's `rollback` command under load → every minion serves the previous version. */
import * as fs from "fs";
import * as path from "path";
import { PACKAGE_ROOT } from "../../infra/paths";
import { run } from "../../test/e2e/support/run";
import type { LocalStack, PushedImage, StackOutputs } from "../../test/e2e/support/stack";
import { DEFAULT_BATCH, PUSHES, LIFECYCLE_SIZES } from "../lib/config";
import { allServed, elapsed, underLoad } from "../lib/deploys";
import { deployStartOf, outcomeOf, type Watchers } from "../lib/events";
import { converged, failedOf, failedProbesOf, samplesOf } from "../lib/results";
import { median, secs, spread, table } from "../lib/stats";

/** The `saltpipe` bin as the package ships it (compiled: `npm run bench` builds it first). */
const OPERATOR_BIN = path.join(PACKAGE_ROOT, "dist", "infra", "cli", "main.js");

/** `saltpipe <args> --stack local` against `stack`, as an operator runs the installed command. */
function operatorCommand(stack: LocalStack, ...args: string[]) {
  if (!fs.existsSync(OPERATOR_BIN)) throw new Error(`${OPERATOR_BIN} is missing: run npm run build first`);
  return run(process.execPath, [OPERATOR_BIN, ...args, "--stack", "local"], {
    env: stack.env,
    timeoutMs: 120_000,
  });
}

/**
 * PUSHES rollbacks by the operator's command under load, between the last two images pushed:
 * `saltpipe.rollback` goes to `previous[0]`, which after a rollback is the digest it just
 * left, so each one is a real rollback: → older, → newer, → older…
 */
export async function rollbacks(
  stack: LocalStack,
  outputs: StackOutputs,
  w: Watchers,
  pair: PushedImage[],
): Promise<void> {
  for (let i = 1; i <= PUSHES; i++) {
    const to = pair[i % 2 ? 0 : 1];
    await underLoad(outputs, { variant: "rollback", batch: DEFAULT_BATCH }, `→ ${to.version}`, async () => {
      const after = w.events.events.length;
      const start = Date.now();
      const served = allServed(outputs.appUrls, to.version);
      const cmd = await operatorCommand(stack, "rollback");
      const command = Date.now() - start;
      if (cmd.code !== 0)
        throw new Error(`rollback exited ${cmd.code}: ${(cmd.stderr + cmd.stdout).slice(-500)}`);
      const all = await served;
      const outcome = await outcomeOf(w, to.digest, after);
      return {
        latency: elapsed(all.at, start),
        fromStart: elapsed(all.at, deployStartOf(w, to.digest, after)),
        probes: all.probes,
        failedProbes: all.failedProbes,
        command,
        ...outcome,
      };
    });
  }
}

/** The report's "Rollback" section. */
export function rollbackSection(): string[] {
  const out: string[] = [];
  out.push(`\n## Rollback → every minion serves the previous version (s)\n`);
  out.push(
    `\`saltpipe rollback --stack local\` (the package's bin, dist/infra/cli/main.js, as an operator runs it: reads the stack's outputs and key through the Pulumi CLI, then asks the master over SSH; batch ${DEFAULT_BATCH}) ` +
      `under the same load as the pushes, measured from the command's start until every proxy serves the previous version. ` +
      `${PUSHES} rollbacks per environment, alternating between the last two pushed versions (the previous digest after a rollback is the one it left). ` +
      `"runner start → all": the runner's \`start\` event → every proxy serves it; "runner (outcome)": the rollout's own duration from its outcome event (it also waits for nginx to retire its old workers and records the outcome). ` +
      `Requests: the load through the load balancer, and the served-version probes straight to each proxy.\n`,
  );
  out.push(
    table(
      [
        "minions",
        "converged",
        "median",
        "p90",
        "min",
        "max",
        "command (median)",
        "runner start → all (median)",
        "runner (outcome, median)",
        "failed / sent requests",
        "failed / sent probes",
      ],
      LIFECYCLE_SIZES.map((size) => {
        const list = samplesOf("rollback", size);
        return [
          String(size),
          converged(list),
          ...spread(list.map((s) => s.latency)),
          secs(median(list.map((s) => s.command)), 2),
          secs(median(list.map((s) => s.fromStart)), 2),
          secs(median(list.map((s) => s.runner)), 2),
          failedOf(list),
          failedProbesOf(list),
        ];
      }),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ),
  );
  return out;
}
