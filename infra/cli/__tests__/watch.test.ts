/**
 * `saltpipe watch` (and `rollback --watch`) following a scripted event stream: JSON lines off a
 * terminal, readable lines and a status line on one, and how each kind of deploy ends.
 */
import { EXIT } from "../errors";
import { describeEvent } from "../watch";
import { cli, D, FakeMaster, STATUS } from "./harness";

const ESC = String.fromCharCode(27);

/** What a terminal shows: per line, the text after the last "erase line" (\r\x1b[2K), colours removed. */
function screen(output: string): string[] {
  return output
    .split("\n")
    .map((line) => line.split("\r\x1b[2K").at(-1) ?? "")
    .map((line) => line.replace(new RegExp(`${ESC}\\[\\d+m`, "g"), ""))
    .filter((line) => line !== "");
}

/** The events of a two-minion deploy of D(5) over D(4), batch 1. */
function deployEvents(ok: boolean): [string, unknown][] {
  const tag = (t: string) => `saltpipe/deploy/dev/${t}`;
  const minion = (id: string, step: string, data: object) =>
    [tag(`minion/${step}`), { id, data: { digest: D(5), ...data }, cmd: "_minion_event" }] as [
      string,
      unknown,
    ];
  const steps = (id: string): [string, unknown][] => [
    minion(id, "pull", { image: "reg/app@" + D(5), present: false }),
    minion(id, "start", { container: "app-green", slot: "green", port: 18082 }),
    minion(id, "healthy", { detail: "http://127.0.0.1:18082/healthz answered 200" }),
    minion(id, "switched", { upstream: "127.0.0.1:18082" }),
    minion(id, "draining", { stopped: ["app-blue"], drain_seconds: 10, detached: true }),
  ];
  return [
    ["salt/job/123/new", { fun: "test.ping" }],
    ["saltpipe/deploy/other/start", { digest: D(6) }], // another environment's deploy: not shown
    [
      tag("start"),
      { digest: D(5), tag: "dev-5", kind: "push", batch: "1", previous: D(4), environment: "dev" },
    ],
    [tag("batch"), { digest: D(5), index: 1, of: 2, minions: ["web-1"] }],
    ...steps("web-1"),
    [tag("batch"), { digest: D(5), index: 2, of: 2, minions: ["web-2"] }],
    ...(ok
      ? steps("web-2")
      : [
          minion("web-2", "pull", { present: true }),
          minion("web-2", "start", { container: "app-green", slot: "green", port: 18082 }),
          minion("web-2", "failed", {
            reason: "health check failed: no 2xx from http://127.0.0.1:18082/healthz within 30s",
          }),
          [tag("revert"), { digest: D(5), to: D(4), minions: ["web-1"] }] as [string, unknown],
        ]),
    [
      tag("outcome"),
      ok
        ? {
            digest: D(5),
            result: true,
            reason: "",
            duration: 14.2,
            minions: { "web-1": { result: true }, "web-2": { result: true } },
          }
        : {
            digest: D(5),
            result: false,
            reason: "batch 2 failed",
            duration: 35,
            minions: {
              "web-1": { result: true },
              "web-2": { result: false, comment: "health check failed" },
            },
          },
    ],
  ];
}

describe("watch", () => {
  test("not a terminal: one JSON line per event, batches and minions in order, exit 0", async () => {
    const m = new FakeMaster({}, deployEvents(true));
    const r = await cli(["watch", "--stack", "dev"], m);
    expect(r.code).toBe(0);
    expect(m.calls.find((c) => c.fn === "lines")?.args[0]).toBe(
      "sudo -n salt-run state.event 'tagmatch=saltpipe/*' count=-1 pretty=False",
    );
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.map((e) => [e.event, e.step ?? e.index ?? "", e.minion ?? ""].join(" ").trim())).toEqual([
      "watching",
      "start",
      "batch 1",
      ...["pull", "start", "healthy", "switched", "draining"].map((s) => `minion ${s} web-1`),
      "batch 2",
      ...["pull", "start", "healthy", "switched", "draining"].map((s) => `minion ${s} web-2`),
      "outcome",
      "end",
    ]);
    expect(events.at(-1)).toEqual({ event: "end", code: 0, message: "deployed 555555555555 in 14.2 s" });
  });

  test("an unhealthy push: exit 1 with the reason", async () => {
    const r = await cli(["watch", "--stack", "dev", "--json"], new FakeMaster({}, deployEvents(false)));
    expect(r.code).toBe(EXIT.FAILED);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(events.find((e) => e.step === "failed")).toMatchObject({
      minion: "web-2",
      reason: expect.stringContaining("health check failed"),
    });
    expect(events.find((e) => e.event === "revert")).toMatchObject({ to: D(4), minions: ["web-1"] });
    expect(events.at(-1)).toEqual({
      event: "end",
      code: 1,
      message: "deploy of 555555555555 failed in 35.0 s: batch 2 failed",
    });
  });

  test("on a terminal: readable lines and a status line, cleared at the end", async () => {
    const r = await cli(["watch", "--stack", "dev"], new FakeMaster({}, deployEvents(true)), {
      stdout: { write: () => true, isTTY: true },
    });
    expect(r.code).toBe(0);
    const lines = screen(r.stdout);
    expect(lines.slice(0, 4)).toEqual([
      "watching environment dev; Ctrl-C stops watching (the deploy goes on)",
      `deploy 555555555555 (tag dev-5): push, batch 1, replacing 444444444444`,
      "batch 1/2: web-1",
      `  web-1        pull      pulled reg/app@${D(5)}`,
    ]);
    expect(lines).toContain("  web-1        healthy   healthy: http://127.0.0.1:18082/healthz answered 200");
    expect(lines).toContain("  web-2        draining  draining app-blue (detached)");
    expect(lines).toContain("outcome: succeeded");
    expect(lines).toContain("✔ deployed 555555555555 in 14.2 s");
  });

  test("a minion that drained in its state (no detached finisher) still reads as drained", () => {
    const e = { kind: "minion", step: "drained", minion: "web-1", data: { stopped: ["app-blue"] } };
    expect(describeEvent(e)).toBe("  web-1        drained   drained and removed app-blue");
    expect(describeEvent({ ...e, step: "draining", data: { stopped: [] } })).toBe(
      "  web-1        draining  nothing to drain",
    );
  });

  test("a push waiting for approval ends the watch with the command to approve it", async () => {
    const events: [string, unknown][] = [
      [
        "saltpipe/deploy/dev/pending-approval",
        { digest: D(8), tag: "1.2.0", expires: "2026-12-02T02:00:00Z" },
      ],
    ];
    const r = await cli(["watch", "--stack", "dev", "--json"], new FakeMaster({}, events));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`saltpipe approve --stack dev ${D(8)}`);
  });

  test("--digest of a deploy that is already over: its outcome at once", async () => {
    const done = new FakeMaster({ "saltpipe.status": () => ({ ...STATUS, current: D(5) }) });
    const ok = await cli(["watch", "--stack", "dev", "--digest", D(5), "--json"], done);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("555555555555 is deployed (current)");
    const failed = await cli(
      ["watch", "--stack", "dev", "--digest", D(9), "--json"],
      new FakeMaster({ "saltpipe.status": () => STATUS }),
    );
    expect(failed.code).toBe(EXIT.FAILED);
    expect(failed.stdout).toContain("the deploy of 999999999999 failed: batch 1 failed");
  });

  test("--timeout: no deploy within it exits 1", async () => {
    const r = await cli(["watch", "--stack", "dev", "--json", "--timeout", "1"], new FakeMaster({}, []));
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toContain("no deploy of dev within 1 s");
  });

  test("rollback --watch: the stream is ready before the rollback starts, and its deploy is followed", async () => {
    const m = new FakeMaster(
      { "saltpipe.rollback": () => ({ result: true, action: "deployed", digest: D(5), minions: {} }) },
      deployEvents(true),
    );
    const r = await cli(["rollback", "--stack", "dev", "--to", D(5), "--watch", "--json"], m);
    expect(r.code).toBe(0);
    const order = m.calls.map((c) => c.fn);
    expect(order.indexOf("event.send")).toBeLessThan(order.indexOf("saltpipe.rollback"));
    expect(r.stdout).toContain('"event":"outcome"');
  });
});
