/**
 * A real load generator (autocannon) at a fixed total rate against one URL, bounded in
 * time, that keeps WHEN each failure happened: how many requests failed and for how long.
 */
import autocannon from "autocannon";

export interface RateReport {
  /** Requests answered or failed. */
  readonly requests: number;
  /** Requests per second achieved over the run. */
  readonly ratePerSecond: number;
  readonly seconds: number;
  /** Non-200 answers, connection errors and timeouts. */
  readonly failed: number;
  /** Latency percentiles and maximum, ms. */
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** When the failures happened, in ms since the load started (first 1000). */
  readonly failureTimes: number[];
  /** The first few failures (status or error), for a test's message. */
  readonly failures: string[];
  /** ms since start of the first and the last failure (undefined: none failed). */
  readonly failureWindow?: { readonly fromMs: number; readonly toMs: number };
}

export class RateLoad {
  readonly startedAt = Date.now();
  private readonly instance!: autocannon.Instance;
  private readonly done: Promise<autocannon.Result>;
  private ok = 0;
  private readonly failureTimes: number[] = [];
  private readonly failures: string[] = [];
  private failedCount = 0;

  /** `path` is requested on `baseUrl` at `ratePerSecond` in total, for at most `maxSeconds`. */
  constructor(
    baseUrl: string,
    opts: { ratePerSecond: number; maxSeconds: number; path?: string; connections?: number },
  ) {
    let instance: autocannon.Instance | undefined;
    this.done = new Promise((resolve, reject) => {
      instance = autocannon(
        {
          url: new URL(opts.path ?? "version", baseUrl).toString(),
          overallRate: opts.ratePerSecond,
          // Enough connections that requests held by retries (a dying server) do not lower the rate.
          connections: opts.connections ?? 64,
          duration: opts.maxSeconds,
          timeout: 5,
        },
        (err, result) => (err ? reject(err) : resolve(result)),
      );
    });
    this.instance = instance!;
    this.instance.on("response", (_client, status) => {
      if (status === 200) this.ok++;
      else this.fail(`status ${status}`);
    });
    this.instance.on("reqError", (err) => this.fail(String(err)));
  }

  private fail(what: string): void {
    this.failedCount++;
    if (this.failureTimes.length < 1000) this.failureTimes.push(Date.now() - this.startedAt);
    if (this.failures.length < 10) this.failures.push(what);
  }

  /** Stops the load (or waits for its time bound) and reports. */
  async stop(): Promise<RateReport> {
    this.instance.stop();
    const result = await this.done;
    const seconds = (Date.now() - this.startedAt) / 1000;
    const requests = this.ok + this.failedCount;
    // autocannon's own totals must agree with what was counted here (non-2xx, errors, timeouts).
    const failed = Math.max(this.failedCount, result.non2xx + result.errors + result.timeouts);
    return {
      requests,
      ratePerSecond: Math.round(requests / seconds),
      seconds: Math.round(seconds * 10) / 10,
      failed,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
      failureTimes: [...this.failureTimes],
      failures: [...this.failures],
      failureWindow:
        this.failureTimes.length > 0
          ? { fromMs: this.failureTimes[0], toMs: this.failureTimes[this.failureTimes.length - 1] }
          : undefined,
    };
  }
}
