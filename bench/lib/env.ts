/** The bench's local environments: bring one up by name, restart its master, tear it down. */
import * as fs from "fs";
import { sleep, waitFor } from "../../test/e2e/support/run";
import { docker, LocalStack } from "../../test/e2e/support/stack";
import { APP_PORT_BASE, log, REGISTRY_PORT } from "./config";
import { firstServed } from "./probes";
import type { SizeResult } from "./results";
import { secs } from "./stats";

export const masterOf = (stack: LocalStack) => stack.container("master");

export function newStack(size: number): LocalStack {
  // The harness sets prefix and ports; the bench adds the number of minions (the committed
  // Pulumi.local.yaml's deploy settings stay: batch "1", drain 2 s, health timeout 30 s).
  return new LocalStack(`saltpipe-bench-${size}`, {
    appPortBase: APP_PORT_BASE,
    registryPort: REGISTRY_PORT,
    config: { minions: size },
  });
}

export async function teardown(stack: LocalStack, result?: SizeResult): Promise<void> {
  const start = Date.now();
  try {
    await stack.destroy();
    if (result) result.destroyMs = Date.now() - start;
  } catch (e) {
    log(`destroy failed, forcing: ${String(e).split("\n")[0]}`);
  }
  await stack.forceClean(); // also removes the state dir, and anything destroy missed
  // The engine keeps the images it built for the hosts and the registry: not ours to keep.
  for (const image of ["host", "registry"])
    await docker("rmi", `${stack.prefix}-${image}:latest`).catch(() => undefined);
  const left = await stack.leftovers();
  if (left.length) throw new Error(`left behind: ${left.join(", ")}`);
}

/** Restarts salt-master and salt-api (after a config change) and waits for every minion. */
export async function restartMaster(stack: LocalStack, size: number): Promise<void> {
  await stack.onHost("master", "systemctl restart salt-master && systemctl restart salt-api");
  let streak = 0;
  // Two answers in a row from every minion: a publish right after a restart can be lost.
  await waitFor(`all ${size} minions to answer the restarted master`, 120_000, async () => {
    const out = await stack.onHost("master", "salt --out=txt --timeout=5 '*' test.ping 2>/dev/null || true");
    const ok = (out.match(/: True/g) ?? []).length === size;
    streak = ok ? streak + 1 : 0;
    return streak >= 2 ? true : undefined;
  });
  await waitFor("salt-api to answer", 60_000, async () =>
    (await stack.onHost(
      "master",
      "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/ || true",
    )) !== "000"
      ? true
      : undefined,
  );
}

export async function servingEverywhere(
  urls: readonly string[],
  version: string,
  timeoutMs: number,
): Promise<void> {
  const served = await firstServed(urls, version, timeoutMs, 250);
  if (served.some((s) => s.at === undefined)) throw new Error(`not every minion serves ${version}`);
}

/** The machine's busy share of its CPUs over `ms` (from /proc/stat: everything but idle and iowait). */
async function busyShare(ms: number): Promise<number> {
  const read = () => {
    const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3] + (cpu[4] ?? 0);
    return { idle, total: cpu.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return b.total > a.total ? 1 - (b.idle - a.idle) / (b.total - a.total) : 0;
}

/**
 * Waits (at most `boundMs`) until the machine is quiet: less than `busy` of its CPUs in use
 * over a 2 s window. An environment that was just brought up still settles (its first deploy's
 * drain, the reconcile pass, page cache): measuring then times the settling, not the deploys.
 */
export async function machineQuiet(busy = 0.25, boundMs = 60_000): Promise<number> {
  const start = Date.now();
  let share = await busyShare(2000);
  while (share >= busy && Date.now() - start < boundMs) share = await busyShare(2000);
  log(`machine quiet after ${secs(Date.now() - start, 0)} s (${Math.round(share * 100)} % busy)`);
  return share;
}
