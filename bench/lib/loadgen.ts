/**
 * The bench's load: a real HTTP load generator (autocannon, programmatic API) at a fixed rate,
 * until stopped, through the environment's load balancer (its one entry URL): LOAD_RPS per
 * minion's proxy in all. A failed request is a connection error, a timeout or anything but a
 * 2xx. Latency percentiles come from autocannon's own histogram.
 */
import autocannon from "autocannon";
import { loadRpsFor } from "./config";

export interface LoadResult {
  readonly sent: number;
  readonly failed: number;
  readonly failures: string[];
  /** Milliseconds, over every proxy (the worst proxy's figure). */
  readonly p50: number;
  readonly p99: number;
}

export class RateLoad {
  private runs: { url: string; instance: autocannon.Instance; done: Promise<autocannon.Result> }[] = [];

  constructor(
    private readonly urls: readonly string[],
    private readonly ratePerSecond: number,
    private readonly path = "/version",
    /** Per URL: enough that one slow answer does not hold the rate back. */
    private readonly connections = 10,
  ) {}

  start(): this {
    this.runs = this.urls.map((base) => {
      const url = new URL(this.path, base).toString();
      let instance!: autocannon.Instance;
      const done = new Promise<autocannon.Result>((resolve, reject) => {
        instance = autocannon(
          {
            url,
            connections: this.connections,
            overallRate: this.ratePerSecond,
            duration: 3600,
            timeout: 10,
          },
          (err, result) => (err ? reject(err) : resolve(result)),
        );
      });
      return { url, instance, done };
    });
    return this;
  }

  async stop(): Promise<LoadResult> {
    for (const run of this.runs) run.instance.stop();
    const results = await Promise.all(this.runs.map((r) => r.done));
    const failures: string[] = [];
    let sent = 0;
    let failed = 0;
    results.forEach((r, i) => {
      sent += r.requests.total;
      const bad = r.errors + r.timeouts + r.non2xx;
      failed += bad;
      if (bad)
        failures.push(`${this.runs[i].url}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx`);
    });
    this.runs = [];
    return {
      sent,
      failed,
      failures,
      p50: Math.max(...results.map((r) => r.latency.p50)),
      p99: Math.max(...results.map((r) => r.latency.p99)),
    };
  }
}

/** What the load needs of an environment: its entry URL and how many proxies are behind it. */
export interface LoadTarget {
  readonly appUrl: string;
  readonly appUrls: readonly string[];
}

/**
 * The environment's load: through its load balancer, loadRpsFor(minions) per minion's proxy
 * in all (HAProxy spreads it round robin), 10 connections per proxy.
 */
export function environmentLoad(env: LoadTarget): RateLoad {
  const proxies = env.appUrls.length;
  return new RateLoad([env.appUrl], loadRpsFor(proxies) * proxies, "/version", 10 * proxies);
}

/** A steady-state window: `seconds` of the environment's load with no deploy. */
export async function steady(env: LoadTarget, seconds: number): Promise<LoadResult> {
  const load = environmentLoad(env).start();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return load.stop();
}
