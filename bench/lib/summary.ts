/**
 * The deploy bench's machine-readable summary (bench/results/summary.json) and its plot
 * (an SVG written here from the same numbers, no external tool). Pure functions of the samples.
 */
import { median } from "./stats";

export interface PushSample {
  readonly variant: "ours" | "seed" | "rollback";
  readonly size: number;
  readonly batch: string;
  readonly latency?: number;
  readonly fromStart?: number;
  readonly runner?: number;
  readonly command?: number;
  readonly failed: number;
  readonly sent: number;
  readonly probes?: number;
  readonly failedProbes?: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly hookToStart?: number;
  readonly hookToJob?: number;
}

export interface SizeFigures {
  readonly size: number;
  /** Floor totals (ms). */
  readonly floor: readonly number[];
  /** The floor on every minion at once (ms): the first start → the last minion healthy. */
  readonly floorAll?: readonly number[];
  /** The app's own start of each floor run (ms): `docker run` + first healthy response, no pull. */
  readonly appStart?: readonly number[];
  /** Steady-state latency percentiles (ms) under the same load, no deploy. */
  readonly steady?: { p50: number; p99: number };
  /** Runner durations (ms) of deploys with minion-1 down. */
  readonly missedRunner: readonly number[];
  /** Host memory (MiB) of one minion's container after the deploys. */
  readonly minionMemMiB?: number;
}

export interface Summary {
  readonly generated: string;
  readonly floor_s?: number;
  readonly push_1_s?: number;
  /** Each extra batch less the app's own start + first healthy (the target's measure). */
  readonly batch_cost_s?: number;
  /** Each extra batch, whole: (4 minions at batch 1 − 1 minion) ÷ 3. */
  readonly batch_time_s?: number;
  readonly app_start_s?: number;
  readonly push_4_batch1_s?: number;
  readonly push_4_batch100_s?: number;
  readonly seed_1_s?: number;
  /** Rollback, 1 minion: the operator command's start → every minion serves the previous version. */
  readonly rollback_s?: number;
  /** Rollback, 1 minion: the runner's start event → every minion serves it. */
  readonly rollback_runner_s?: number;
  /** Rollback, 1 minion: the rollout's own duration from its outcome event (records and all). */
  readonly rollback_outcome_s?: number;
  readonly down_minion_extra_s?: number;
  /** Registry event received (the hook's `_stamp`) → the runner's start event / the first minion job published (ms, medians over our pushes). */
  readonly event_to_start_ms?: number;
  readonly event_to_job_ms?: number;
  /** Our deploys and rollbacks: requests through the load balancer + probes straight to each proxy. */
  readonly failed_requests: number;
  readonly sent_requests: number;
  readonly failed_probes: number;
  readonly sent_probes: number;
  readonly load_rps_per_proxy: number;
  readonly p50_switch_ms?: number;
  readonly p99_switch_ms?: number;
  readonly p50_steady_ms?: number;
  readonly p99_steady_ms?: number;
  /** Per size, per batch: median push → every minion serving (s); the seed as batch "seed". */
  readonly scale: Record<string, Record<string, number | undefined>>;
  readonly floor_by_size: Record<string, number | undefined>;
  /** The floor on every minion at once, per size (s): what a batch of 100% cannot beat here. */
  readonly floor_all_by_size: Record<string, number | undefined>;
  readonly minion_mem_mib: Record<string, number | undefined>;
  readonly construct_ms_100?: Record<string, { wall_ms: number; cpu_ms: number }>;
  readonly ratios: Record<string, number | undefined>;
}

const s = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms) / 1000);
const div = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? undefined : Math.round((a / b) * 100) / 100;

export function summarize(
  samples: readonly PushSample[],
  sizes: readonly SizeFigures[],
  loadRps: number,
  construct?: Record<string, { minions: number; wall_ms: number; cpu_ms: number }[]>,
): Summary {
  const pick = (variant: PushSample["variant"], size: number, batch?: string) =>
    samples.filter(
      (x) => x.variant === variant && x.size === size && (batch === undefined || x.batch === batch),
    );
  const med = (list: readonly PushSample[], key: "latency" | "runner" | "fromStart" = "latency") =>
    median(list.map((x) => x[key]));
  const scale: Summary["scale"] = {};
  for (const size of [...new Set(samples.map((x) => x.size))].sort((a, b) => a - b)) {
    const row: Record<string, number | undefined> = {};
    for (const batch of [...new Set(pick("ours", size).map((x) => x.batch))])
      row[batch] = s(med(pick("ours", size, batch)));
    if (pick("seed", size).length) row.seed = s(med(pick("seed", size)));
    scale[String(size)] = row;
  }
  const floorOf = (size: number) => median(sizes.find((z) => z.size === size)?.floor ?? []);
  const floor1 = floorOf(1) ?? median(sizes.flatMap((z) => z.floor));
  const push1 = med(pick("ours", 1, "1"));
  const push4b1 = med(pick("ours", 4, "1"));
  const push4b100 = med(pick("ours", 4, "100%"));
  // Each extra batch: (4 minions at batch 1 − 1 minion) / 3 extra batches; its cost is
  // that less the app's own start + first healthy (the floor's run and healthy, no pull:
  // the image is pulled before the first batch), on the 4-minion hosts where measured.
  const batchTime = push4b1 !== undefined && push1 !== undefined ? (push4b1 - push1) / 3 : undefined;
  const appStartOf = (size: number) => median(sizes.find((z) => z.size === size)?.appStart ?? []);
  const appStart = appStartOf(4) ?? appStartOf(1);
  const batchCost = batchTime !== undefined && appStart !== undefined ? batchTime - appStart : undefined;
  const deploys = samples.filter((x) => x.variant !== "seed");
  const switchP99 = median(deploys.map((x) => x.p99));
  const switchP50 = median(deploys.map((x) => x.p50));
  const steady = sizes.filter((z) => z.steady);
  const downSize = sizes.find((z) => z.missedRunner.length);
  const downExtra =
    downSize && median(downSize.missedRunner) !== undefined
      ? (median(downSize.missedRunner) as number) - (med(pick("ours", downSize.size, "1"), "runner") ?? 0)
      : undefined;
  const seed1 = med(pick("seed", 1));
  const construct100: Summary["construct_ms_100"] = construct
    ? Object.fromEntries(
        Object.entries(construct).flatMap(([stack, rows]) =>
          rows.filter((r) => r.minions === 100).map((r) => [stack, { wall_ms: r.wall_ms, cpu_ms: r.cpu_ms }]),
        ),
      )
    : undefined;
  return {
    generated: new Date().toISOString(),
    floor_s: s(floor1),
    push_1_s: s(push1),
    batch_cost_s: s(batchCost),
    batch_time_s: s(batchTime),
    app_start_s: s(appStart),
    push_4_batch1_s: s(push4b1),
    push_4_batch100_s: s(push4b100),
    seed_1_s: s(seed1),
    rollback_s: s(med(pick("rollback", 1))),
    rollback_runner_s: s(med(pick("rollback", 1), "fromStart")),
    rollback_outcome_s: s(med(pick("rollback", 1), "runner")),
    down_minion_extra_s: s(downExtra),
    event_to_start_ms: median(pick("ours", 1).map((x) => x.hookToStart)),
    event_to_job_ms: median(pick("ours", 1).map((x) => x.hookToJob)),
    failed_requests: deploys.reduce((n, x) => n + x.failed + (x.failedProbes ?? 0), 0),
    sent_requests: deploys.reduce((n, x) => n + x.sent + (x.probes ?? 0), 0),
    failed_probes: deploys.reduce((n, x) => n + (x.failedProbes ?? 0), 0),
    sent_probes: deploys.reduce((n, x) => n + (x.probes ?? 0), 0),
    load_rps_per_proxy: loadRps,
    p50_switch_ms: switchP50,
    p99_switch_ms: switchP99,
    p50_steady_ms: median(steady.map((z) => z.steady?.p50)),
    p99_steady_ms: median(steady.map((z) => z.steady?.p99)),
    scale,
    floor_by_size: Object.fromEntries(sizes.map((z) => [String(z.size), s(median(z.floor))])),
    floor_all_by_size: Object.fromEntries(
      sizes.filter((z) => z.floorAll?.length).map((z) => [String(z.size), s(median(z.floorAll ?? []))]),
    ),
    minion_mem_mib: Object.fromEntries(sizes.map((z) => [String(z.size), z.minionMemMiB])),
    construct_ms_100: construct100,
    ratios: {
      push_1_over_floor: div(push1, floor1),
      push_4_batch1_over_push_1: div(push4b1, push1),
      push_4_batch100_over_push_1: div(push4b100, push1),
      push_4_batch100_over_floor_all_4: div(
        push4b100,
        median(sizes.find((z) => z.size === 4)?.floorAll ?? []),
      ),
      seed_1_over_ours_1: div(seed1, push1),
      rollback_command_over_push_1: div(med(pick("rollback", 1)), push1),
      rollback_runner_over_push_1: div(med(pick("rollback", 1), "fromStart"), push1),
    },
  };
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];

/** Push → every minion serving (s) against minions, one line per batch, the seed and the floor beside. */
export function plotSvg(summary: Summary): string {
  const W = 720;
  const H = 420;
  const m = { l: 60, r: 170, t: 40, b: 50 };
  const sizes = Object.keys(summary.scale)
    .map(Number)
    .sort((a, b) => a - b);
  const series: { name: string; points: [number, number][] }[] = [];
  const batches = [...new Set(Object.values(summary.scale).flatMap((row) => Object.keys(row)))].filter(
    (b) => b !== "seed",
  );
  for (const batch of batches)
    series.push({
      name: `ours, batch ${batch}`,
      points: sizes.flatMap((n) =>
        summary.scale[n][batch] !== undefined ? [[n, summary.scale[n][batch] as number]] : [],
      ) as [number, number][],
    });
  series.push({
    name: "seed (highstate)",
    points: sizes.flatMap((n) =>
      summary.scale[n].seed !== undefined ? [[n, summary.scale[n].seed as number]] : [],
    ) as [number, number][],
  });
  series.push({
    name: "floor (pull+run+healthy)",
    points: sizes.flatMap((n) =>
      summary.floor_by_size[n] !== undefined ? [[n, summary.floor_by_size[n] as number]] : [],
    ) as [number, number][],
  });
  const all = series.flatMap((x) => x.points);
  const maxY = Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const logX = (n: number) => Math.log2(n);
  const minX = logX(Math.min(...sizes, 1));
  const maxX = Math.max(minX + 1, logX(Math.max(...sizes, 2)));
  const x = (n: number) => m.l + ((logX(n) - minX) / (maxX - minX)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="20" font-size="14">push → every minion serving (s, median) against minions (log scale); load ${summary.load_rps_per_proxy} req/s per proxy</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
  ];
  for (const n of sizes) out.push(`<text x="${x(n)}" y="${H - m.b + 18}" text-anchor="middle">${n}</text>`);
  out.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 10}" text-anchor="middle">minions</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (maxY / 5) * i;
    out.push(`<text x="${m.l - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
    out.push(`<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#ddd"/>`);
  }
  series.forEach((ser, i) => {
    const color = COLORS[i % COLORS.length];
    const dash = ser.name.startsWith("floor")
      ? ' stroke-dasharray="4 3"'
      : ser.name.startsWith("seed")
        ? ' stroke-dasharray="8 3"'
        : "";
    if (ser.points.length > 1)
      out.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${ser.points.map(([n, v]) => `${x(n).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`,
      );
    for (const [n, v] of ser.points)
      out.push(`<circle cx="${x(n).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${color}"/>`);
    out.push(
      `<line x1="${W - m.r + 10}" y1="${m.t + 10 + i * 18}" x2="${W - m.r + 30}" y2="${m.t + 10 + i * 18}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${W - m.r + 35}" y="${m.t + 14 + i * 18}">${ser.name}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
