/**
 * The floor: bare `docker pull` + `docker run` + first healthy response inside a minion's engine;
 * and, on environments of several minions, the same on every minion at once (what a batch of
 * 100% cannot beat on this machine, where the minions share its cores).
 */
import { docker, type LocalStack, type StackOutputs } from "../../test/e2e/support/stack";
import { FLOOR_RUNS, RUN_ID } from "../lib/config";
import { environmentLoad } from "../lib/loadgen";
import { type FloorSample, hostRefs, sizes } from "../lib/results";
import { median, secs, table } from "../lib/stats";

/** Registry host:port/repository as the minions pull it (from the running app container). */
async function minionImage(stack: LocalStack): Promise<string> {
  const out = await stack.onHost("minion-1", "docker ps --format '{{.Image}}'");
  const image = out
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.includes("saltpipe/app"));
  if (!image) throw new Error("no app container on minion-1");
  return image.replace(/@sha256:.*$/, "").replace(/:[^:/]+$/, "");
}

const FLOOR_SCRIPT = `set -euo pipefail
now() { date +%s%N; }
t0=$(now); docker pull -q "$REF" >/dev/null; t1=$(now)
docker run -d --name bench-floor -p 127.0.0.1:18098:8080 "$REF" >/dev/null; t2=$(now)
until curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:18098/healthz 2>/dev/null; do sleep 0.02; done; t3=$(now)
docker rm -f bench-floor >/dev/null; docker rmi "$REF" >/dev/null 2>&1 || true
echo "$t0 $t1 $t2 $t3"`;

/**
 * FLOOR_RUNS bare pulls + runs, under the same load as the pushes (the load's proxies serve
 * from the same minions on the same cores): the ratios compare like with like.
 */
export async function floor(
  stack: LocalStack,
  outputs: StackOutputs,
): Promise<{ one: FloorSample[]; all: number[] }> {
  const image = await minionImage(stack);
  const load = environmentLoad(outputs).start();
  try {
    const one = await floorRuns(stack, outputs, image);
    const all = outputs.appUrls.length > 1 ? await floorAllRuns(stack, outputs, image) : [];
    return { one, all };
  } finally {
    await load.stop();
  }
}

/** A new image of the app pushed under a tag the reactor refuses (not local-*): nothing deploys it. */
async function floorImage(stack: LocalStack, outputs: StackOutputs, tag: string): Promise<string> {
  const ref = `${outputs.registry}:${tag}`;
  await docker("build", "-q", "-t", ref, "--build-arg", `APP_VERSION=${tag}`, "app");
  hostRefs.push(ref);
  const login = await stack.registryLogin(ref);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(await docker(...login, "push", ref))?.[1];
  if (!digest) throw new Error(`no digest pushing ${ref}`);
  return digest;
}

/** FLOOR_SCRIPT in `host`'s engine: its four stamps (ns, the machine's clock). */
async function floorOn(stack: LocalStack, host: string, ref: string): Promise<bigint[]> {
  const out = await docker("exec", "-e", `REF=${ref}`, stack.container(host), "bash", "-c", FLOOR_SCRIPT);
  return out.trim().split(/\s+/).map(BigInt);
}

/** FLOOR_RUNS times on every minion at once: the first start → the last minion healthy (ms). */
async function floorAllRuns(stack: LocalStack, outputs: StackOutputs, image: string): Promise<number[]> {
  const hosts = outputs.appUrls.map((_, i) => `minion-${i + 1}`);
  const runs: number[] = [];
  for (let i = 1; i <= FLOOR_RUNS; i++) {
    const digest = await floorImage(stack, outputs, `floor-all-${RUN_ID}-${i}`);
    const stamps = await Promise.all(hosts.map((host) => floorOn(stack, host, `${image}@${digest}`)));
    const first = stamps.reduce((a, s) => (s[0] < a ? s[0] : a), stamps[0][0]);
    const last = stamps.reduce((a, s) => (s[3] > a ? s[3] : a), stamps[0][3]);
    runs.push(Number(last - first) / 1e6);
  }
  return runs;
}

async function floorRuns(stack: LocalStack, outputs: StackOutputs, image: string): Promise<FloorSample[]> {
  const runs: FloorSample[] = [];
  for (let i = 1; i <= FLOOR_RUNS; i++) {
    const digest = await floorImage(stack, outputs, `floor-${RUN_ID}-${i}`);
    const [t0, t1, t2, t3] = await floorOn(stack, "minion-1", `${image}@${digest}`);
    const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
    runs.push({ pull: ms(t0, t1), run: ms(t1, t2), healthy: ms(t2, t3), total: ms(t0, t3) });
  }
  return runs;
}

/** The report's "Floor" section. */
export function floorSection(): string[] {
  const out: string[] = [];
  out.push(
    `\n## Floor: bare \`docker pull\` + \`docker run\` + first healthy response, inside minion-1's engine (s, median of ${FLOOR_RUNS})\n`,
  );
  out.push(
    "The same image shape as every measured push (a new version: new config, base layers already on the minion), pulled by digest from the environment's registry; health polled every 20 ms; under the same load as the pushes. " +
      "\"every minion at once\": the same on all the environment's minions together, from the first start until the last one answered healthy (what a batch of 100% cannot beat here: the minions share this machine's cores).\n",
  );
  out.push(
    table(
      ["minions in env", "pull", "run", "to healthy", "total", "every minion at once"],
      sizes.map((r) => [
        String(r.size),
        secs(median(r.floor.map((f) => f.pull)), 2),
        secs(median(r.floor.map((f) => f.run)), 2),
        secs(median(r.floor.map((f) => f.healthy)), 2),
        secs(median(r.floor.map((f) => f.total)), 2),
        r.floorAll?.length ? secs(median(r.floorAll), 2) : "–",
      ]),
      [1, 2, 3, 4, 5],
    ),
  );
  return out;
}
