/**
 * `saltpipe watch`: a deploy followed live from the master's event bus. Pure parts (an event
 * line → a DeployEvent, the follower that decides when the deploy is over, the text of each
 * event) and the renderers (progress display on a terminal, one JSON line per event otherwise).
 *
 * Events (`salt-run state.event` prints `tag<TAB>json`):
 *   saltpipe/deploy/<env>/start|batch|revert|outcome|queued|skipped|ignored|pending-approval|…
 *       from the master's deploy loop (salt-states/lib/saltpipe_core/rollout.py, the runner)
 *   saltpipe/deploy/<env>/minion/<step>
 *       from a minion's app state: pull, start, healthy, switched, draining (the old containers
 *       handed to the minion's detached drain; `drained` from a state that drained them itself),
 *       current, failed
 *   saltpipe/hook/<env>/refused   a notification the reactor refused
 */
import { EXIT, type ExitCode } from "./errors";
import { short, type Json } from "./format";

export interface DeployEvent {
  /** start, batch, minion, outcome, … (the tag's segment after the environment). */
  readonly kind: string;
  /** For `minion` events: the step (pull, start, healthy, switched, draining or drained, current, failed). */
  readonly step?: string;
  readonly minion?: string;
  readonly data: Json;
}

/** The tag pattern `watch` subscribes to. */
export const WATCH_TAGMATCH = "saltpipe/*";

/** `tag<TAB>json` → tag and data; anything else (a partial line, a log line) → undefined. */
export function parseEventLine(line: string): { tag: string; data: Json } | undefined {
  const tab = line.indexOf("\t");
  if (tab < 0) return undefined;
  try {
    const data = JSON.parse(line.slice(tab + 1)) as unknown;
    if (typeof data !== "object" || data === null) return undefined;
    return { tag: line.slice(0, tab), data: data as Json };
  } catch {
    return undefined;
  }
}

/** A bus event of `environment` as a DeployEvent (other environments' and Salt's own: undefined). */
export function deployEvent(tag: string, data: Json, environment: string): DeployEvent | undefined {
  const deploy = `saltpipe/deploy/${environment}/`;
  if (tag === `saltpipe/hook/${environment}/refused`) return { kind: "refused", data };
  if (!tag.startsWith(deploy)) return undefined;
  const rest = tag.slice(deploy.length);
  if (rest.startsWith("minion/")) {
    // A minion's event reaches the master bus as {id, data: {...}}.
    const inner = (typeof data.data === "object" && data.data !== null ? data.data : data) as Json;
    return {
      kind: "minion",
      step: rest.slice("minion/".length),
      minion: String(data.id ?? "?"),
      data: inner,
    };
  }
  return { kind: rest, data };
}

export interface Verdict {
  readonly code: ExitCode;
  readonly message: string;
}

/**
 * Decides which deploy is followed (the next `start`, of `digest` when given) and when it is
 * over. Before a start: a push waiting for approval ends the watch (0), an ignored push (tag
 * policy) fails it (1); the rest is shown and the watch goes on.
 */
export class Follower {
  following: string | undefined;
  verdict: Verdict | undefined;

  constructor(
    private readonly stack: string,
    private readonly digest?: string,
  ) {}

  /** Whether `event` belongs to what is watched (so it is shown). */
  feed(event: DeployEvent): boolean {
    if (this.verdict) return false;
    const digest = event.data.digest;
    if (this.following === undefined) {
      if (this.digest && digest !== undefined && digest !== this.digest) return false;
      if (event.kind === "start") {
        this.following = String(digest);
      } else if (event.kind === "pending-approval") {
        this.verdict = {
          code: EXIT.OK,
          message: `${short(digest)} waits for approval: saltpipe approve --stack ${this.stack} ${String(digest)}`,
        };
      } else if (event.kind === "ignored") {
        this.verdict = { code: EXIT.FAILED, message: `push ignored: ${String(event.data.reason ?? "")}` };
      }
      return true;
    }
    if (digest !== this.following && event.kind !== "refused") return false;
    if (event.kind === "outcome") {
      const ok = event.data.result === true;
      const took = typeof event.data.duration === "number" ? ` in ${event.data.duration.toFixed(1)} s` : "";
      this.verdict = ok
        ? { code: EXIT.OK, message: `deployed ${short(digest)}${took}` }
        : {
            code: EXIT.FAILED,
            message: `deploy of ${short(digest)} failed${took}: ${String(event.data.reason || "see the minions above")}`,
          };
    }
    return true;
  }
}

const STEP_TEXT: Record<string, (d: Json) => string> = {
  pull: (d) => (d.present ? "image already present" : `pulled ${String(d.image ?? "")}`),
  start: (d) =>
    `started ${String(d.container ?? "")} (slot ${String(d.slot ?? "")}, port ${String(d.port ?? "")})`,
  healthy: (d) => `healthy: ${String(d.detail ?? "")}`,
  switched: (d) => `proxy switched to ${String(d.upstream ?? "")}`,
  // The old containers handed to the minion's detached finisher: it drains (SIGTERM, then
  // SIGKILL after drain_seconds), removes them and prunes images after the state returned.
  draining: (d) => {
    const stopped = Array.isArray(d.stopped) ? (d.stopped as string[]) : [];
    return stopped.length ? `draining ${stopped.join(", ")} (detached)` : "nothing to drain";
  },
  // A state that drained in place (no finisher could be started).
  drained: (d) => {
    const stopped = Array.isArray(d.stopped) ? (d.stopped as string[]) : [];
    return stopped.length ? `drained and removed ${stopped.join(", ")}` : "nothing to drain";
  },
  current: (d) => `already serves it (${String(d.container ?? "")})`,
  failed: (d) => `FAILED: ${String(d.reason ?? "")}`,
};

/** One line of text for an event. */
export function describeEvent(e: DeployEvent): string {
  const d = e.data;
  switch (e.kind) {
    case "minion":
      return `  ${(e.minion ?? "?").padEnd(12)} ${(e.step ?? "").padEnd(9)} ${(STEP_TEXT[e.step ?? ""] ?? (() => ""))(d)}`.trimEnd();
    case "start":
      return (
        `deploy ${short(d.digest)}${d.tag ? ` (tag ${String(d.tag)})` : ""}: ${String(d.kind ?? "push")}` +
        `${d.approver ? ` by ${String(d.approver)}` : ""}, batch ${String(d.batch ?? "1")}, ` +
        `replacing ${short(d.previous)}`
      );
    case "batch": {
      const minions = Array.isArray(d.minions) ? (d.minions as string[]) : [];
      return `batch ${String(d.index)}/${String(d.of)}: ${minions.join(", ")}`;
    }
    case "revert": {
      const minions = Array.isArray(d.minions) ? (d.minions as string[]) : [];
      return `reverting ${minions.join(", ")} to ${short(d.to)}`;
    }
    case "outcome": {
      const minions = (d.minions ?? {}) as Record<string, Json>;
      const failed = Object.entries(minions).filter(([, m]) => !m.result);
      const head = d.result ? "outcome: succeeded" : `outcome: FAILED: ${String(d.reason ?? "")}`;
      return [head, ...failed.map(([id, m]) => `  ${id.padEnd(12)} ${String(m.comment ?? "")}`)].join("\n");
    }
    case "queued":
      return `queued ${short(d.digest)}: a deploy is in progress; it runs next`;
    case "skipped":
      return `skipped ${short(d.digest)}: ${String(d.reason ?? "")}`;
    case "ignored":
      return `ignored ${short(d.digest)}: ${String(d.reason ?? "")}`;
    case "pending-approval":
      return `${short(d.digest)} (tag ${String(d.tag ?? "")}) waits for approval until ${String(d.expires ?? "")}`;
    case "refused":
      return `a notification was refused: ${String(d.reason ?? "")}`;
    default:
      return `${e.kind} ${short(d.digest)}`;
  }
}

/** One JSON line: `{"event": kind, "step"?, "minion"?, ...data}`. */
export function jsonLine(e: DeployEvent): string {
  return JSON.stringify({ event: e.kind, ...(e.step ? { step: e.step, minion: e.minion } : {}), ...e.data });
}

export interface Renderer {
  ready(environment: string): void;
  event(e: DeployEvent): void;
  end(verdict: Verdict): void;
}

export function jsonRenderer(write: (s: string) => void): Renderer {
  return {
    ready: (environment) => write(JSON.stringify({ event: "watching", environment }) + "\n"),
    event: (e) => write(jsonLine(e) + "\n"),
    end: (v) => write(JSON.stringify({ event: "end", code: v.code, message: v.message }) + "\n"),
  };
}

const CLEAR = "\r\x1b[2K";
const SPIN = ["|", "/", "-", "\\"];

/**
 * On a terminal: each event on its own line, and below them one status line kept up to date
 * (spinner, elapsed time, the batch and each minion's last step), cleared at the end.
 */
export function ttyRenderer(
  write: (s: string) => void,
  now: () => number = Date.now,
  tickMs = 250,
): Renderer & { stopTimer(): void } {
  const started = now();
  const steps = new Map<string, string>();
  let batch = "";
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  const footer = () => {
    const secs = ((now() - started) / 1000).toFixed(0);
    const minions = [...steps].map(([m, s]) => `${m} ${s}`).join(" · ");
    return `${SPIN[tick++ % SPIN.length]} ${secs} s${batch ? ` · ${batch}` : ""}${minions ? ` · ${minions}` : " · waiting"}`;
  };
  const line = (s: string) => write(`${CLEAR}${s}\n${footer()}`);
  return {
    ready(environment) {
      line(`watching environment ${environment}; Ctrl-C stops watching (the deploy goes on)`);
      timer = setInterval(() => write(`${CLEAR}${footer()}`), tickMs);
      timer.unref();
    },
    event(e) {
      if (e.kind === "batch") batch = `batch ${String(e.data.index)}/${String(e.data.of)}`;
      if (e.kind === "minion" && e.minion) steps.set(e.minion, e.step ?? "");
      const color =
        e.kind === "outcome"
          ? e.data.result
            ? "\x1b[32m"
            : "\x1b[31m"
          : e.step === "failed"
            ? "\x1b[31m"
            : "";
      line(color ? `${color}${describeEvent(e)}\x1b[0m` : describeEvent(e));
    },
    end(v) {
      if (timer) clearInterval(timer);
      write(`${CLEAR}${v.code === EXIT.OK ? "\x1b[32m✔" : "\x1b[31m✘"} ${v.message}\x1b[0m\n`);
    },
    stopTimer() {
      if (timer) clearInterval(timer);
    },
  };
}
