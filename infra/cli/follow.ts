/**
 * Following a deploy live on the master's event bus, for `watch` and `rollback|approve --watch`:
 * the stream, the marker that proves it is ready, the timeout, and the verdict.
 */
import { randomBytes } from "crypto";
import { UnreachableError, type Master } from "./master";
import { EXIT } from "./errors";
import { short, type Json } from "./format";
import type { Session } from "./session";
import {
  deployEvent,
  Follower,
  jsonRenderer,
  parseEventLine,
  ttyRenderer,
  WATCH_TAGMATCH,
  type Renderer,
  type Verdict,
} from "./watch";

/** How a followed deploy is shown: JSON lines, unless on a terminal without --json. */
export function renderer(session: Session): Renderer & { stopTimer?: () => void } {
  const write = (s: string) => session.deps.stdout.write(s);
  if (session.json) return jsonRenderer(write);
  if (session.deps.stdout.isTTY) return ttyRenderer(write);
  return jsonRenderer(write);
}

/**
 * Follows a deploy on the master's bus. The stream is ready once a marker event fired
 * through the same master comes back; only then does `during` run (e.g. the rollback), so
 * no event of it can be missed.
 */
export async function follow(
  session: Session,
  opts: { digest?: string; timeoutS?: number; render: Renderer },
  during?: () => Promise<Verdict | undefined>,
): Promise<Verdict> {
  const master = await session.connect();
  const env = session.environment;
  const user = session.stackAccess().ssh.user;
  const marker = `saltpipe/watch/${randomBytes(6).toString("hex")}`;
  const follower = new Follower(session.opts.stack, opts.digest);
  let ready = false;
  let settle: (v: Verdict | Error) => void = () => undefined;
  const finished = new Promise<Verdict | Error>((resolve) => (settle = resolve));
  const sudo = user === "root" ? "" : "sudo -n ";
  const stream = master.lines(
    `${sudo}salt-run state.event 'tagmatch=${WATCH_TAGMATCH}' count=-1 pretty=False`,
    (line) => {
      const parsed = parseEventLine(line);
      if (!parsed) return;
      if (parsed.tag === marker) {
        ready = true;
        return;
      }
      const event = deployEvent(parsed.tag, parsed.data, env);
      if (!event || !ready) return;
      if (follower.feed(event)) opts.render.event(event);
      if (follower.verdict) settle(follower.verdict);
    },
  );
  void stream.done.then(() =>
    settle(new UnreachableError("the master's event stream ended before the deploy did")),
  );
  const timers: NodeJS.Timeout[] = [];
  try {
    const startBy = Date.now() + (session.deps.streamStartMs ?? 60_000);
    while (!ready) {
      if (Date.now() > startBy)
        throw new UnreachableError(`the master's event stream (salt-run state.event) did not start`);
      await master.runner("event.send", [marker]);
      for (let i = 0; i < 20 && !ready; i++) await new Promise((r) => setTimeout(r, 100));
    }
    opts.render.ready(env);
    // `watch --digest D` after D's deploy already ended (e.g. right after `pulumi up`): its outcome.
    if (opts.digest && !during) {
      const known = await finishedDeploy(master, env, opts.digest);
      if (known) settle(known);
    }
    if (opts.timeoutS) {
      const timeoutS = opts.timeoutS;
      timers.push(
        setTimeout(
          () =>
            settle({
              code: EXIT.FAILED,
              message: follower.following
                ? `the deploy of ${follower.following} did not finish within ${timeoutS} s`
                : `no deploy of ${env} within ${timeoutS} s`,
            }),
          timeoutS * 1000,
        ),
      );
    }
    if (during)
      void during().then(
        (v) => v && settle(v),
        (e: Error) => settle(e),
      );
    const result = await finished;
    if (result instanceof Error) throw result;
    opts.render.end(result);
    return result;
  } finally {
    for (const t of timers) clearTimeout(t);
    (opts.render as { stopTimer?: () => void }).stopTimer?.();
    stream.stop();
  }
}

/** The verdict of `digest`'s deploy when it is over (current, or its last deploy failed), else undefined. */
async function finishedDeploy(master: Master, env: string, digest: string): Promise<Verdict | undefined> {
  const reply = await master.runner("saltpipe.status", [env, "audit=0", "live=False"]);
  const s = reply.data as Json;
  const claim = s.claim as Json | null | undefined;
  if (claim?.live) return undefined;
  if (s.current === digest) return { code: EXIT.OK, message: `${short(digest)} is deployed (current)` };
  const last = ((s.deploys as Json[] | undefined) ?? []).find((d) => d.digest === digest);
  if (last && last.result === false && s.pending === null)
    return {
      code: EXIT.FAILED,
      message: `the deploy of ${short(digest)} failed: ${String(last.reason ?? "")}`,
    };
  return undefined;
}
