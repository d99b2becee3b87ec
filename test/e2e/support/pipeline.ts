/**
 * The running local pipeline as the end-to-end tests see it: the stack's outputs, the master's
 * event stream, and what the tests ask of them (what the proxies serve, a deploy's outcome, the
 * master's status and audit trail, a notification posted to the hook).
 */
import { servedVersion } from "./http";
import { waitFor } from "./run";
import { EventWatch, type LocalStack, type PushedImage, type StackOutputs } from "./stack";

/** How long a push may take to reach every minion (stated in the README). */
export const DEPLOY_BOUND_MS = 90_000;
export const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Where the master keeps the environments' records and audit trails (<cachedir>/saltpipe). */
export const MASTER_STATE_DIR = "/var/cache/salt/master/saltpipe";

export interface DeploySummary {
  readonly digest: string;
  readonly result: boolean;
  readonly started: number;
  readonly finished: number;
}

export interface MasterStatus {
  readonly current?: string;
  readonly claim: unknown;
  readonly deploys: DeploySummary[];
  /** Requests the hook proxy refused, as counts (folded from nginx's refusal log). */
  readonly refused_at_proxy?: { readonly total: number };
}

/**
 * One local pipeline under test. Its methods are arrow functions, so a test file may take them
 * out of it (`const { served } = pipeline`) and call them bare.
 */
export class Pipeline {
  outputs!: StackOutputs;
  events!: EventWatch;

  constructor(readonly stack: LocalStack) {}

  /** `up` from nothing; then the master's events are watched. Returns how long `up` took. */
  up = async (): Promise<number> => {
    const { outputs, ms } = await this.stack.upFresh();
    this.outputs = outputs;
    this.watchEvents();
    return ms;
  };

  /** Watches the master's events afresh (after it restarted). */
  watchEvents = (): void => {
    this.events = new EventWatch(this.stack.container("master"));
  };

  /** Versions every proxy serves right now (undefined for a proxy that does not answer). */
  served = async (): Promise<(string | undefined)[]> =>
    Promise.all(this.outputs.appUrls.map((url) => servedVersion(url).catch(() => undefined)));

  /** Waits until every proxy serves `version`; returns how long that took. */
  waitServing = async (version: string, timeoutMs = DEPLOY_BOUND_MS): Promise<number> => {
    const start = Date.now();
    await waitFor(`every minion to serve ${version}`, timeoutMs, async () =>
      (await this.served()).every((v) => v === version) ? true : undefined,
    );
    return Date.now() - start;
  };

  /** Waits until the (re)started master answers with both minions, then watches its events anew. */
  masterAnswers = async (): Promise<void> => {
    await waitFor("the master to answer with both minions", 180_000, async () => {
      const out = await this.stack.onHost("master", "salt --out=txt --timeout=5 '*' test.ping || true");
      return out.includes("minion-1: True") && out.includes("minion-2: True") ? true : undefined;
    });
    this.events.stop();
    this.watchEvents();
  };

  /** The outcome event of the deploy of `digest`. */
  outcomeOf = (digest: string, timeoutMs = DEPLOY_BOUND_MS): Promise<Record<string, unknown>> =>
    waitFor(`the outcome event of ${digest}`, timeoutMs, async () => {
      const outcome = this.events
        .matching("saltpipe/deploy/local/outcome")
        .find((e) => e.data.digest === digest);
      return outcome?.data;
    });

  /** `npm run status -- --json` against the real master. */
  masterStatus = async (): Promise<MasterStatus> => {
    const status = await this.stack.ops("status", "--json");
    if (status.code !== 0) throw new Error(`status exited ${status.code}: ${status.stderr}`);
    return JSON.parse(status.stdout) as MasterStatus;
  };

  /** The master's whole audit trail of this environment (newest last). */
  masterAudit = async (): Promise<Record<string, unknown>[]> => {
    const text = await this.stack.onHost("master", `cat ${MASTER_STATE_DIR}/local.audit.jsonl`);
    return text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  /** POSTs a registry-style notification to the master's hook (TLS) from inside the network. */
  notify = async (body: unknown, token: string): Promise<string> =>
    this.stack.postToHook("minion-1", JSON.stringify(body), { token, ca: this.outputs.hookCaCertificate });
}

/** Pairs of recorded deploys whose [started, finished] intervals overlap. */
export function overlapping(deploys: DeploySummary[]): string[] {
  const sorted = [...deploys].sort((a, b) => a.started - b.started);
  return sorted
    .slice(1)
    .flatMap((d, i) => (d.started < sorted[i].finished ? [`${sorted[i].digest} and ${d.digest}`] : []));
}

/** The registry's notification of a push of `image`, as the registry sends it. */
export function pushEvent(image: PushedImage, id: string, timestamp = new Date()) {
  return {
    events: [
      {
        id,
        timestamp: timestamp.toISOString(),
        action: "push",
        target: { mediaType: MANIFEST, repository: "saltpipe/app", tag: image.tag, digest: image.digest },
      },
    ],
  };
}
