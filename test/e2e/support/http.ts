/** Plain HTTP probes and a steady load generator against the minions' proxies (127.0.0.1 only). */
import * as http from "http";

export interface Reply {
  readonly status: number;
  readonly body: string;
}

export function get(url: string, timeoutMs = 3000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // A new connection per request: every request goes through the proxy's current upstream.
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** The version a proxy serves, or undefined when it does not answer 200 with JSON. */
export async function servedVersion(baseUrl: string): Promise<string | undefined> {
  const reply = await get(new URL("version", baseUrl).toString());
  if (reply.status !== 200) return undefined;
  try {
    return (JSON.parse(reply.body) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export interface LoadReport {
  readonly sent: number;
  readonly failed: number;
  /** The first few failures, for the test's message. */
  readonly failures: string[];
  /** Requests answered, per served version. */
  readonly versions: Record<string, number>;
}

/**
 * Sends `ratePerSecond` GET /version requests per URL, on a fixed schedule, until stopped.
 * A failure is anything but a 200 with a JSON version (connection errors included).
 */
export class Load {
  private timers: NodeJS.Timeout[] = [];
  private inFlight = new Set<Promise<void>>();
  private report = { sent: 0, failed: 0, failures: [] as string[], versions: {} as Record<string, number> };

  constructor(
    private readonly urls: readonly string[],
    private readonly ratePerSecond: number,
  ) {}

  start(): this {
    for (const url of this.urls) {
      this.timers.push(setInterval(() => this.fire(url), 1000 / this.ratePerSecond));
    }
    return this;
  }

  private fire(url: string): void {
    this.report.sent++;
    const request = servedVersion(url)
      .then((version) => {
        if (version === undefined) throw new Error("no version in the reply");
        this.report.versions[version] = (this.report.versions[version] ?? 0) + 1;
      })
      .catch((e: unknown) => {
        this.report.failed++;
        if (this.report.failures.length < 10) this.report.failures.push(`${url}: ${String(e)}`);
      })
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  async stop(): Promise<LoadReport> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all(this.inFlight);
    return { ...this.report, failures: [...this.report.failures], versions: { ...this.report.versions } };
  }
}
