/** The master's event bus as the bench reads it: deploy outcomes and hook arrivals. */
import { waitFor } from "../../test/e2e/support/run";
import { EventWatch, type LocalStack } from "../../test/e2e/support/stack";
import { masterOf } from "./env";
import { HookWatch, JobWatch, stampOf } from "./probes";

export interface Watchers {
  events: EventWatch;
  hooks: HookWatch;
  jobs: JobWatch;
}

export function watch(stack: LocalStack): Watchers {
  const master = masterOf(stack);
  return { events: new EventWatch(master), hooks: new HookWatch(master), jobs: new JobWatch(master) };
}

/** Epoch ms of the runner's `start` event of the deploy of `digest` (since event number `after`). */
export function deployStartOf(w: Watchers, digest: string, after: number): number | undefined {
  const start = w.events.events
    .slice(after)
    .find((e) => e.tag === "saltpipe/deploy/local/start" && e.data.digest === digest);
  return start ? stampOf(start.data) : undefined;
}

export const OUTCOME = "saltpipe/deploy/local/outcome";

/** The first outcome event since event number `after` that `pick` accepts (undefined: none within 2 min). */
export function outcomeSince(w: Watchers, after: number, pick: (data: Record<string, unknown>) => boolean) {
  return waitFor("an outcome event", 120_000, async () =>
    Promise.resolve(w.events.events.slice(after).find((e) => e.tag === OUTCOME && pick(e.data))?.data),
  ).catch(() => undefined);
}

/** The runner's own duration from an outcome event (ms). */
export const runnerOf = (data?: Record<string, unknown>) =>
  typeof data?.duration === "number" ? data.duration * 1000 : undefined;

/** Whether the deploy of `digest` (started after event number `after`) succeeded, and the runner's own duration. */
export async function outcomeOf(w: Watchers, digest: string, after: number) {
  const data = await outcomeSince(w, after, (d) => d.digest === digest);
  return { outcome: data ? data.result === true : undefined, runner: runnerOf(data) };
}

/** An outcome event's results per minion. */
export const minionsOf = (data?: Record<string, unknown>) =>
  (data?.minions ?? {}) as Record<string, { result?: boolean; changed?: boolean; comment?: string }>;
