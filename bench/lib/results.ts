/**
 * What the deploy bench measured, shared by the measurements (bench/measure/) that fill it and
 * the report that reads it: the sample types, the collections, and the accessors the report
 * sections share.
 */
import type { LocalStack } from "../../test/e2e/support/stack";
import { median } from "./stats";

/** "rollback": the operator's `rollback` command under the same load as the pushes (ours only). */
export type Variant = "ours" | "seed" | "rollback";

/** One push or rollback under steady load. */
export interface LoadSample {
  readonly variant: Variant;
  readonly size: number;
  readonly batch: string;
  /**
   * End of `docker push` (a rollback: start of the command) → every minion serves the new
   * version (ms; undefined: never).
   */
  readonly latency?: number;
  /** Notification's arrival at the master (salt-api) → every minion serves it (pushes). */
  readonly fromHook?: number;
  /** The runner's `start` event → every minion serves it (ours and rollbacks). */
  readonly fromStart?: number;
  /** Notification's arrival → the runner's `start` event; → the deploy's first minion job published (ms, ours). */
  readonly hookToStart?: number;
  readonly hookToJob?: number;
  /** The rollback command's own run time, start to exit. */
  readonly command?: number;
  /** The orchestration's own duration from its outcome event (not the seed's). */
  readonly runner?: number;
  readonly outcome?: boolean;
  /** The load through the load balancer while this ran: sent, failed, the first failures. */
  readonly sent: number;
  readonly failed: number;
  readonly failures: string[];
  /** The served-version probes straight to each proxy (a new connection each) while it ran. */
  readonly probes?: number;
  readonly failedProbes?: number;
  /** Latency percentiles (ms) of the load while this deploy ran. */
  readonly p50?: number;
  readonly p99?: number;
}

/**
 * "plain": `docker restart` of minion-1's host, nothing pushed meanwhile (restart, nothing
 * missed). "missed": the host stopped while a new version was deployed to the others, then
 * `docker start` (restart after a missed deploy).
 */
export type RestartKind = "plain" | "missed";

/** One restart of minion-1's host container (its own dockerd, salt-minion, nginx and app). */
export interface RestartSample {
  readonly kind: RestartKind;
  readonly size: number;
  /** How long the docker command took (`docker restart`: clean systemd shutdown, then start; `docker start`). */
  readonly command: number;
  /** The command returned → minion-1's proxy serves the version awaited (ms; undefined: never). */
  readonly latency?: number;
  /** The command returned → the proxy's first answer of any version, and whether it was the one awaited. */
  readonly firstAnswer?: number;
  readonly firstAwaited?: boolean;
  /** The minion-start reactor's convergence: whether it replaced the container, and when it ended (ms after the command). */
  readonly switched?: boolean;
  readonly converged?: number;
  /** "missed": the missed deploy's own duration (runner), slowed by minion-1 not answering. */
  readonly missedRunner?: number;
}

export interface FloorSample {
  readonly pull: number;
  readonly run: number;
  readonly healthy: number;
  readonly total: number;
}

export interface SizeResult {
  readonly size: number;
  upMs?: number;
  destroyMs?: number;
  floor: FloorSample[];
  /** The floor on every minion at once: the first start → the last minion healthy (ms). */
  floorAll?: number[];
  /** Latency under the same load with no deploy. */
  steady?: { p50: number; p99: number };
  /** Memory of minion-1's host container (its systemd, dockerd, salt-minion, nginx, app), MiB. */
  minionMemMiB?: number;
  error?: string;
}

export interface BuildResult {
  readonly sizeBytes: number;
  readonly cold: number;
  readonly noChange: number;
  readonly oneLine: number;
}

export const samples: LoadSample[] = [];
export const restarts: RestartSample[] = [];
export const sizes: SizeResult[] = [];
/** Images pushed or built on this machine during the run, removed at the end. */
export const hostRefs: string[] = [];
/** The compressed size of the pushed app image, and the environment being measured (for clean-up). */
export const state: { compressedBytes?: number; current?: LocalStack } = {};

/** "n/m": how many of the samples reached the version awaited. */
export const converged = (list: readonly { latency?: number }[]) =>
  `${list.filter((s) => s.latency !== undefined).length}/${list.length}`;

export const restartsOf = (kind: RestartKind, size: number) =>
  restarts.filter((r) => r.kind === kind && r.size === size);

/** A missed deploy needs another minion to take it. */
export const skipsMissed = (size: number) => size < 2;

/** How the report and the log name each restart variant. */
export const RESTART_LABELS: Record<RestartKind, string> = {
  plain: "restart, nothing missed",
  missed: "restart after a missed deploy",
};

/** The pushes or rollbacks of `variant` on `size` minions (of `batch`, when given). */
export const samplesOf = (variant: Variant, size: number, batch?: string) =>
  samples.filter((s) => s.variant === variant && s.size === size && (!batch || s.batch === batch));

/** Median latency of those samples. */
export const medianLatency = (variant: Variant, size: number, batch?: string) =>
  median(samplesOf(variant, size, batch).map((s) => s.latency));

/** "failed / sent" requests of `list`, and how many of its deploys reported a failed outcome. */
export const failedOf = (list: readonly LoadSample[]) => {
  const failed = list.reduce((n, s) => n + s.failed, 0);
  const sent = list.reduce((n, s) => n + s.sent, 0);
  const badOutcome = list.filter((s) => s.outcome === false).length;
  return `${failed} / ${sent}${badOutcome ? ` (${badOutcome} failed outcome)` : ""}`;
};

/** The served-version probes straight to each proxy: "failed / sent". */
export const failedProbesOf = (list: readonly LoadSample[]) =>
  `${list.reduce((n, s) => n + (s.failedProbes ?? 0), 0)} / ${list.reduce((n, s) => n + (s.probes ?? 0), 0)}`;
