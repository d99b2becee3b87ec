/** The bench's local environments: bring one up by name, restart its master, tear it down. */
import { waitFor } from "../../test/e2e/support/run";
import { docker, LocalStack } from "../../test/e2e/support/stack";
import { APP_PORT_BASE, log, REGISTRY_PORT } from "./config";
import { firstServed } from "./probes";
import type { SizeResult } from "./results";

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
