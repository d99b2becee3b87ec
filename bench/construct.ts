/**
 * How long constructing the whole program takes under Pulumi mocks, for 1, 10 and 100
 * minions (aws and local clouds). Not a test: prints a table. `npm run bench:construct`
 *
 * The process is set up as the program sets itself up (stacks/index.ts calls
 * tuneProgramRuntime, see infra/runtime.ts). Wall time and the process's CPU time are both
 * reported: on a shared machine the CPU time is the steadier figure.
 */
import * as fs from "fs";
import { Environment, readStackConfig, tuneProgramRuntime } from "../infra";
import { ROOT } from "../test/unit/fixtures";
import { promiseOf, recorded, resetAll, settle, useStackFile } from "../test/unit/mocks";

tuneProgramRuntime();

async function construct(
  stack: string,
  minions: number,
): Promise<{ ms: number; cpuMs: number; resources: number }> {
  resetAll();
  useStackFile(stack, { minions, deploy: { batch: "1" } });
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const env = new Environment(stack, { spec: readStackConfig(), projectDir: ROOT });
  await promiseOf(env.imageDigest);
  await settle();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, resources: recorded.length };
}

const RUNS = Number(process.env.BENCH_CONSTRUCT_RUNS ?? 5);
const STACKS = ["dev", "test", "prod", "local"];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const rows: string[] = [
    `| stack | minions | resources | wall ms (median of ${RUNS}) | CPU ms (median) | wall ms per minion |`,
    "|---|---:|---:|---:|---:|---:|",
  ];
  const result: Record<string, { minions: number; resources: number; wall_ms: number; cpu_ms: number }[]> =
    {};
  await construct("dev", 1); // warm-up: module loading is not construction
  for (const stack of STACKS) {
    for (const minions of stack === "dev" || stack === "local" ? [1, 10, 100] : [100]) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await construct(stack, minions));
      const ms = median(runs.map((r) => r.ms));
      const cpuMs = median(runs.map((r) => r.cpuMs));
      (result[stack] ??= []).push({
        minions,
        resources: runs[0].resources,
        wall_ms: Math.round(ms),
        cpu_ms: Math.round(cpuMs),
      });
      rows.push(
        `| ${stack} | ${minions} | ${runs[0].resources} | ${ms.toFixed(0)} | ${cpuMs.toFixed(0)} | ${(ms / minions).toFixed(1)} |`,
      );
    }
  }
  console.log(rows.join("\n"));
  // Read by the deploy bench's summary (construct_ms_100).
  const out = process.env.BENCH_CONSTRUCT_OUT;
  if (out)
    fs.writeFileSync(out, JSON.stringify({ runs: RUNS, stacks: result, table: rows.join("\n") }, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
