/** Timing probes for the deploy bench: hook arrivals on the master, first-served times per proxy. */
import { servedVersion } from "../../test/e2e/support/http";
import { sleep } from "../../test/e2e/support/run";
import { EventWatch } from "../../test/e2e/support/stack";

/**
 * Arrival of each pushed manifest's notification at the master: the `_stamp` salt-api puts on
 * `salt/netapi/hook/saltpipe/registry` (containers share the machine's clock). Only tags and
 * stamps are kept: the hook's headers carry the bearer token and are dropped at once.
 */
export class HookWatch {
  private readonly arrivals = new Map<string, number>();
  private readonly watch: EventWatch;

  constructor(masterContainer: string) {
    this.watch = new EventWatch(masterContainer, {
      tagmatch: "salt/netapi/hook/saltpipe/*",
      keep: false,
      onEvent: (event) => this.take(event.data),
    });
  }

  private take(raw: Record<string, unknown>): void {
    const data = raw as {
      post?: { events?: { action?: string; target?: { tag?: string; mediaType?: string } }[] };
    };
    const stamp = stampOf(raw);
    for (const ev of data.post?.events ?? []) {
      const tag = ev.target?.tag;
      if (ev.action !== "push" || !tag || !String(ev.target?.mediaType).includes("manifest")) continue;
      // At-least-once delivery: the first arrival counts.
      if (!this.arrivals.has(tag) && Number.isFinite(stamp)) this.arrivals.set(tag, stamp);
    }
  }

  /** Epoch ms at which the master received the notification of `tag`, waiting up to `timeoutMs`. */
  async arrival(tag: string, timeoutMs = 10_000): Promise<number | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (!this.arrivals.has(tag) && Date.now() < deadline) await sleep(100);
    return this.arrivals.get(tag);
  }

  stop(): void {
    this.watch.stop();
  }
}

/** Epoch ms of an event's `_stamp` (the master's clock, UTC, written without a zone). */
export function stampOf(data: Record<string, unknown>): number {
  const stamp = String(data._stamp ?? "");
  return Date.parse(/[Z+]/.test(stamp.slice(19)) ? stamp : `${stamp}Z`);
}

/** The jobs a deploy publishes to minions: the targets' ping, the prepare round, the batches. */
const DEPLOY_JOBS = new Set(["test.ping", "state.sls", "saltpipe_app.deploy"]);

/**
 * Jobs the master publishes (`salt/job/<jid>/new`: fun, targets, `_stamp`); the reconcile
 * pass's `saltpipe_app.running` does not count as a deploy's job.
 */
export class JobWatch {
  private readonly watch: EventWatch;

  constructor(masterContainer: string) {
    this.watch = new EventWatch(masterContainer, { tagmatch: "salt/job/*/new" });
  }

  /** Epoch ms of the first deploy job published at or after `since` (undefined: none). */
  firstDeployJob(since: number): number | undefined {
    return this.watch.events
      .filter((e) => DEPLOY_JOBS.has(String(e.data.fun)))
      .map((e) => stampOf(e.data))
      .find((at) => at >= since);
  }

  stop(): void {
    this.watch.stop();
  }
}

/** What one proxy answered while polled: when it first served the version awaited, and its first answer. */
export interface Served {
  /** Epoch ms of the first answer with the awaited version (undefined: not in time). */
  readonly at?: number;
  /** The first answer with any version (a 200 with JSON). */
  readonly first?: { readonly at: number; readonly version: string };
  /** Probes sent, and those that failed (no answer, or not a 200 with a version): requests
   * straight to the proxy, each on a new connection, while the deploy ran. */
  readonly probes: number;
  readonly failedProbes: number;
}

/** Polls GET /version on one proxy every `intervalMs` until it serves `version`, for up to `timeoutMs`. */
export async function watchServed(
  url: string,
  version: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<Served> {
  const deadline = Date.now() + timeoutMs;
  let first: Served["first"];
  let probes = 0;
  let failedProbes = 0;
  while (Date.now() < deadline) {
    const served = await servedVersion(url).catch(() => undefined);
    const at = Date.now();
    probes++;
    if (served === undefined) failedProbes++;
    else first ??= { at, version: served };
    if (served === version) return { at, first, probes, failedProbes };
    await sleep(intervalMs);
  }
  return { first, probes, failedProbes };
}

/**
 * Polls GET /version on every proxy every `intervalMs` until each has served `version`;
 * resolves with what each answered (`at`: when it first served it, undefined: not within `timeoutMs`).
 */
export async function firstServed(
  urls: readonly string[],
  version: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<Served[]> {
  return Promise.all(urls.map((url) => watchServed(url, version, timeoutMs, intervalMs)));
}
