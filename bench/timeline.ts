/**
 * `npm run bench:timeline`: where a rolling deploy's time goes, step by step, from the master's
 * own event stamps. Brings up `saltpipe-bench-<n>` (BENCH_TIMELINE_MINIONS, default 4; batch 1
 * as committed), pushes BENCH_PUSHES new versions under the bench's load, reads every event
 * of each deploy (the hook, the runner, each Salt job's publish and returns, each minion's
 * progress steps), prints the medians of each step and writes them to
 * bench/results/timeline.md; then destroys the environment. Not beside `npm run bench` (the
 * same names and ports).
 */
import * as fs from "fs";
import { sleep } from "../test/e2e/support/run";
import { EventWatch, type MasterEvent } from "../test/e2e/support/stack";
import { log, positive, PUSHES, RUN_ID } from "./lib/config";
import { allServed, pushImage, underLoad } from "./lib/deploys";
import { masterOf, machineQuiet, newStack, teardown } from "./lib/env";
import { OUTCOME } from "./lib/events";
import { stampOf } from "./lib/probes";
import { median, table } from "./lib/stats";

const MINIONS = positive("BENCH_TIMELINE_MINIONS", 4);
const OUT = "bench/results/timeline.md";

/** The steps of one minion's deploy job, each from the previous mark (ms). */
const STEPS = [
  ["publish → job running on the minion (image checked)", "publish", "pull"],
  ["new container created and started (Engine API)", "pull", "start"],
  ["start → first healthy answer (the app's own start)", "start", "healthy"],
  ["healthy → proxy switched (nginx reload, new workers up)", "healthy", "switched"],
  ["switched → the job's return on the master", "switched", "ret"],
] as const;

type Marks = Record<string, number>;

const at = (events: readonly MasterEvent[], pick: (e: MasterEvent) => boolean) => {
  const e = events.find(pick);
  return e ? stampOf(e.data) : undefined;
};

const jobOf = (tag: string) => /^salt\/job\/(\d+)\//.exec(tag)?.[1];

/** One deploy's marks: before the first batch, and per minion. */
function marksOf(events: readonly MasterEvent[], pushedAt: number) {
  const fun = (e: MasterEvent) => String(e.data.fun ?? "");
  const publishOf = (jid: string) => at(events, (e) => e.tag === `salt/job/${jid}/publish`);
  const pings = events
    .filter((e) => fun(e) === "test.ping" && e.tag.includes("/ret/"))
    .map((e) => stampOf(e.data));
  const before = {
    hook: at(events, (e) => e.tag.startsWith("salt/netapi/hook/")),
    runner: at(events, (e) => /^salt\/run\/\d+\/new$/.test(e.tag) && fun(e) === "runner.saltpipe.receive"),
    ping: at(events, (e) => fun(e) === "test.ping" && e.tag.endsWith("/publish")),
    pinged: pings.length ? Math.max(...pings) : undefined,
    prepare: at(events, (e) => fun(e) === "saltpipe_app.prepare" && e.tag.endsWith("/publish")),
    firstBatch: at(events, (e) => fun(e) === "saltpipe_app.deploy" && e.tag.endsWith("/publish")),
    pushed: pushedAt,
  };
  const minions: Marks[] = [];
  for (const ret of events.filter((e) => fun(e) === "saltpipe_app.deploy" && e.tag.includes("/ret/"))) {
    const id = String(ret.data.id);
    const step = (name: string) => at(events, (e) => e.tag.endsWith(`/minion/${name}`) && e.data.id === id);
    const jid = jobOf(ret.tag) ?? "";
    const marks: Partial<Marks> = {
      publish: publishOf(jid),
      pull: step("pull"),
      start: step("start"),
      healthy: step("healthy"),
      switched: step("switched"),
      ret: stampOf(ret.data),
    };
    if (Object.values(marks).every((v) => v !== undefined)) minions.push(marks as Marks);
  }
  return { before, minions };
}

async function main(): Promise<void> {
  const stack = newStack(MINIONS);
  const rows = new Map<string, number[]>();
  const add = (name: string, ms: number | undefined) => {
    if (ms !== undefined && Number.isFinite(ms)) rows.set(name, [...(rows.get(name) ?? []), ms]);
  };
  const totals: number[] = [];
  try {
    log(`${MINIONS} minion(s): up`);
    const outputs = await stack.up();
    await machineQuiet();
    const watch = new EventWatch(masterOf(stack), { tagmatch: "*" });
    await sleep(1000);
    for (let i = 0; i <= PUSHES; i++) {
      const version = `timeline-${RUN_ID}-${i}`;
      const from = watch.events.length;
      let pushedAt = 0;
      let servedAt: number | undefined;
      await underLoad(outputs, { variant: "ours", batch: "1" }, version, async () => {
        const served = allServed(outputs.appUrls, version);
        await pushImage(stack, outputs, version);
        pushedAt = Date.now();
        servedAt = (await served).at;
        for (let t = 0; t < 600 && !watch.events.slice(from).some((e) => e.tag === OUTCOME); t++)
          await sleep(100);
        return { latency: servedAt === undefined ? undefined : servedAt - pushedAt };
      });
      if (i === 0) continue; // the warm-up push
      const { before, minions } = marksOf(watch.events.slice(from), pushedAt);
      if (servedAt !== undefined) totals.push(servedAt - pushedAt);
      const gap = (a?: number, b?: number) => (a === undefined || b === undefined ? undefined : b - a);
      add("hook → the runner started", gap(before.hook, before.runner));
      add("the runner → the targets' ping published", gap(before.runner, before.ping));
      add("ping round (publish → the last return)", gap(before.ping, before.pinged));
      add(
        "the last ping return → the first batch published (prepare round)",
        gap(before.pinged, before.firstBatch),
      );
      for (const [name, from, to] of STEPS) for (const m of minions) add(name, m[to] - m[from]);
      const byPublish = [...minions].sort((a, b) => a.publish - b.publish);
      for (let k = 1; k < byPublish.length; k++)
        add("a batch's return → the next batch published", byPublish[k].publish - byPublish[k - 1].ret);
      for (const m of minions) add("one batch, publish → return", m.ret - m.publish);
      await sleep(3000); // the drain of the old containers, off the next push's path
    }
    watch.stop();
  } finally {
    await teardown(stack);
  }
  const fmt = (ms: number | undefined) => (ms === undefined ? "–" : String(Math.round(ms)));
  const text = [
    `# Where a deploy's time goes (\`npm run bench:timeline\`, ${new Date().toISOString().slice(0, 10)})\n`,
    `${MINIONS} minions, batch 1, ${PUSHES} pushes after one warm-up, under the bench's load through the load balancer; ` +
      `from the \`_stamp\` of the master's events (ms). Push → every minion serving: median ${fmt(median(totals))} ms.\n`,
    table(
      ["step", "n", "median", "min", "max"],
      [...rows].map(([name, v]) => [
        name,
        String(v.length),
        fmt(median(v)),
        fmt(Math.min(...v)),
        fmt(Math.max(...v)),
      ]),
      [1, 2, 3, 4],
    ),
    "",
  ].join("\n");
  fs.writeFileSync(OUT, text);
  console.log(text);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
