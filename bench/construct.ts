/**
 * How long constructing the whole program takes under Pulumi mocks, for 1, 10 and 100
 * minions (aws and local clouds). Not a test: prints a table. `npm run bench:construct`
 */
import { Environment, readStackConfig } from "../infra";
import { ROOT, stackConfig, testPrivateKey, WEBHOOK_SECRET } from "../test/unit/fixtures";
import { promiseOf, recorded, resetAll, settle, setupMocks } from "../test/unit/mocks";

async function construct(stack: string, minions: number): Promise<{ ms: number; resources: number }> {
  resetAll();
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...stackConfig(stack), minions, deploy: { batch: "1" } })) {
    config[`saltpipe:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  config["saltpipe:webhookSecret"] = WEBHOOK_SECRET;
  config["saltpipe:sshPrivateKey"] = testPrivateKey();
  setupMocks(stack, config, ["saltpipe:webhookSecret", "saltpipe:sshPrivateKey"]);
  const start = process.hrtime.bigint();
  const env = new Environment(stack, { spec: readStackConfig(), projectDir: ROOT });
  await promiseOf(env.imageDigest);
  await settle();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, resources: recorded.length };
}

async function main(): Promise<void> {
  const rows: string[] = [
    "| stack | minions | resources | ms (median of 3) | ms per minion |",
    "|---|---:|---:|---:|---:|",
  ];
  await construct("dev", 1); // warm-up: module loading is not construction
  for (const stack of ["dev", "local"]) {
    for (const minions of [1, 10, 100]) {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await construct(stack, minions));
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b)[1];
      rows.push(
        `| ${stack} | ${minions} | ${runs[0].resources} | ${ms.toFixed(0)} | ${(ms / minions).toFixed(1)} |`,
      );
    }
  }
  console.log(rows.join("\n"));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
