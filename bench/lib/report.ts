/**
 * The deploy bench's report sections that read more than one measurement (side by side,
 * ratios, environments, failed requests, conditions), and writing the results: the Markdown
 * report, summary.json and the plot.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as prettier from "prettier";
import { PACKAGE_ROOT } from "../../infra/paths";
import { mustRun } from "../../test/e2e/support/run";
import { docker } from "../../test/e2e/support/stack";
import {
  DEFAULT_BATCH,
  LIFECYCLE_MAX_SIZE,
  LOAD_RPS,
  loadRpsFor,
  log,
  PUSHES,
  servedPollMs,
  SIZES,
  SKIP_SEED,
  batchesFor,
} from "./config";
import { medianLatency, RESTART_LABELS, restarts, restartsOf, samples, sizes, skipsMissed } from "./results";
import { median, ratio, secs, table } from "./stats";
import { plotSvg, summarize } from "./summary";

/** The report's "Side by side" section. */
export function sideBySideSection(): string[] {
  const out: string[] = [];
  out.push(`\n## Side by side (medians, s)\n`);
  out.push(
    table(
      [
        "minions",
        `push → every minion (ours, batch ${DEFAULT_BATCH})`,
        `${RESTART_LABELS.plain} → serving the current version`,
        `${RESTART_LABELS.missed} → serving the new version`,
        "rollback → every minion",
      ],
      SIZES.map((size) => [
        String(size),
        secs(medianLatency("ours", size, DEFAULT_BATCH), 2),
        secs(median(restartsOf("plain", size).map((r) => r.latency)), 2),
        skipsMissed(size)
          ? "skipped (1 minion)"
          : secs(median(restartsOf("missed", size).map((r) => r.latency)), 2),
        secs(medianLatency("rollback", size), 2),
      ]),
      [0, 1, 2, 3, 4],
    ),
  );
  return out;
}

/** The report's "Ratios" section. */
export function ratiosSection(): string[] {
  const out: string[] = [];
  const largest = Math.max(...SIZES);
  out.push(`\n## Ratios (medians from the end of \`docker push\`, this run)\n`);
  const ratioRows: string[][] = [];
  const floorMed = (size: number) =>
    median(sizes.find((r) => r.size === size)?.floor.map((f) => f.total) ?? []);
  for (const size of SIZES) {
    if (!SKIP_SEED)
      ratioRows.push([
        `seed ÷ ours (batch ${DEFAULT_BATCH}), ${size} minion(s)`,
        ratio(medianLatency("seed", size), medianLatency("ours", size, DEFAULT_BATCH)),
      ]);
    ratioRows.push([
      `ours (batch ${DEFAULT_BATCH}) ÷ floor, ${size} minion(s)`,
      ratio(medianLatency("ours", size, DEFAULT_BATCH), floorMed(size)),
    ]);
    if (!SKIP_SEED)
      ratioRows.push([`seed ÷ floor, ${size} minion(s)`, ratio(medianLatency("seed", size), floorMed(size))]);
  }
  for (const size of SIZES)
    for (const batch of batchesFor(size).filter((b) => b !== DEFAULT_BATCH)) {
      if (!SKIP_SEED)
        ratioRows.push([
          `seed ÷ ours (batch ${batch}), ${size} minions`,
          ratio(medianLatency("seed", size), medianLatency("ours", size, batch)),
        ]);
      ratioRows.push([
        `batch ${batch} ÷ batch ${DEFAULT_BATCH}, ${size} minions`,
        ratio(medianLatency("ours", size, batch), medianLatency("ours", size, DEFAULT_BATCH)),
      ]);
      ratioRows.push([
        `ours (batch ${batch}) ÷ floor, ${size} minions`,
        ratio(medianLatency("ours", size, batch), floorMed(size)),
      ]);
    }
  if (SIZES.length > 1) {
    const smallest = Math.min(...SIZES);
    ratioRows.push([
      `ours ${largest} ÷ ${smallest} minion(s), batch ${DEFAULT_BATCH}`,
      ratio(medianLatency("ours", largest, DEFAULT_BATCH), medianLatency("ours", smallest, DEFAULT_BATCH)),
    ]);
    if (!SKIP_SEED)
      ratioRows.push([
        `seed ${largest} ÷ ${smallest} minion(s)`,
        ratio(medianLatency("seed", largest), medianLatency("seed", smallest)),
      ]);
  }
  out.push(table(["ratio", "value"], ratioRows, [1]));
  return out;
}

/** The report's "Environments" section, the kinds of failed requests, and the conditions. */
export function environmentsSection(context: string[]): string[] {
  const out: string[] = [];
  out.push(`\n## Environments\n`);
  out.push(
    table(
      ["minions", "`up` from nothing (s)", "destroy (s)", "error"],
      sizes.map((r) => [String(r.size), secs(r.upMs), secs(r.destroyMs), r.error ?? ""]),
      [1, 2],
    ),
  );
  const kinds = new Map<string, number>();
  for (const s of samples)
    for (const f of s.failures) {
      const key = `${s.variant} ${s.size}m: ${f.replace(/^http:\/\/\S+: /, "")}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
  if (kinds.size)
    out.push(
      `\nKinds of failed requests (first 3 per push):\n\n${[...kinds].map(([k, n]) => `- ${k} (×${n})`).join("\n")}`,
    );
  out.push(`\n## Conditions\n\n${context.map((c) => `- ${c}`).join("\n")}`);
  return out;
}

export async function conditions(): Promise<string[]> {
  const commit = (await mustRun("git", ["rev-parse", "--short", "HEAD"]).catch(() => "unknown")).trim();
  const dirty = (
    await mustRun("git", ["status", "--porcelain", "--", ".", ":!bench", ":!node_modules"]).catch(() => "")
  ).trim()
    ? " (with local changes)"
    : "";
  const engine = (await docker("version", "-f", "{{.Server.Version}}").catch(() => "?")).trim();
  const others = [
    ...new Set(
      (await docker("ps", "--format", "{{.Names}}"))
        .split("\n")
        .filter((n) => n && !n.startsWith("saltpipe-bench-"))
        .map((n) => n.replace(/-(master|registry|minion-\d+)$/, "")),
    ),
  ];
  return [
    `${new Date().toISOString()}, commit ${commit}${dirty}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Docker engine ${engine}, Node ${process.version}`,
    `other environments running on this machine at the start: ${others.length ? others.join(", ") : "none"} (they share the CPUs: compare ratios within this run, not absolute figures across runs)`,
    `${PUSHES} measured pushes per series after one warm-up push; load ${LOAD_RPS} req/s per proxy in all, through the environment's load balancer (autocannon: GET /version on 10 keep-alive connections per proxy, to the one entry URL; HAProxy spreads it round robin), plus, while a deploy is awaited, one GET /version straight to each proxy every ${servedPollMs(1)} ms on a new connection (the probe that times "serving", its failures counted)${
      SIZES.some((n) => n > LIFECYCLE_MAX_SIZE)
        ? `; on the scale sizes ${SIZES.filter((n) => n > LIFECYCLE_MAX_SIZE)
            .map((n) => `${n}: ${loadRpsFor(n)}`)
            .join(", ")} req/s per proxy (BENCH_SCALE_LOAD_TOTAL spread over the proxies)`
        : ""
    }`,
    `each environment is measured once the machine is quiet after \`up\` and after each master restart (under 25 % of the CPUs busy over 2 s, waited for at most 60 s): a fresh environment still settles (its first deploy's drain, the reconcile pass)`,
    `"from push": end of \`docker push\` on this machine; "from hook": the \`_stamp\` salt-api put on the registry's notification (it can arrive before \`docker push\` returns)`,
    `batches other than "${DEFAULT_BATCH}" are set by editing \`saltpipe:deploy:batch\` in the bench master's rendered config and restarting salt-master (see docs/benchmarks.md)`,
  ];
}

/**
 * Prints the report and writes it to bench/results/: latest.md (with the plot latest.svg and
 * summary.json), replacing the previous run's (git keeps the earlier ones).
 */
export async function writeResults(text: string): Promise<void> {
  console.log(text);
  const dir = path.join(PACKAGE_ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "latest.md");
  const plot = path.join(dir, "latest.svg");
  // summary.json and the plot, from the same samples.
  const constructFile = path.join(dir, "construct.json");
  const construct = fs.existsSync(constructFile)
    ? (JSON.parse(fs.readFileSync(constructFile, "utf8")) as { stacks: Parameters<typeof summarize>[3] })
        .stacks
    : undefined;
  const summary = summarize(
    samples,
    sizes.map((z) => ({
      size: z.size,
      floor: z.floor.map((f) => f.total),
      floorAll: z.floorAll,
      appStart: z.floor.map((f) => f.run + f.healthy),
      steady: z.steady,
      minionMemMiB: z.minionMemMiB,
      missedRunner: restarts
        .filter((r) => r.kind === "missed" && r.size === z.size)
        .flatMap((r) => (r.missedRunner === undefined ? [] : [r.missedRunner])),
    })),
    LOAD_RPS,
    construct,
  );
  fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  fs.writeFileSync(plot, plotSvg(summary));
  const markdown = `${text}\n## Plot\n\n![push → serving against minions and batch](${path.basename(plot)})\n\n## summary.json\n\n\`\`\`json\n${JSON.stringify(summary, null, 2)}\n\`\`\`\n`;
  fs.writeFileSync(file, await commitReady(markdown));
  log(`written to ${path.relative(PACKAGE_ROOT, file)}`);
}

/**
 * The report as the repository keeps Markdown: Prettier's layout with prose wrapped at the
 * project's print width, so no line runs past the 400 characters test/unit/docs.test.ts allows.
 */
async function commitReady(markdown: string): Promise<string> {
  try {
    const options =
      (await prettier.resolveConfig(path.join(PACKAGE_ROOT, "bench", "results", "latest.md"))) ?? {};
    return await prettier.format(markdown, { ...options, parser: "markdown", proseWrap: "always" });
  } catch (e) {
    log(`prettier: ${String(e).split("\n")[0]}`);
    return markdown;
  }
}
