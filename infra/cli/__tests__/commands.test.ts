/**
 * `saltpipe status`, `history`, `rollback`, `approve` and `reject` against a scripted master:
 * the human and JSON output, and the master's refusals.
 */
import { EXIT } from "../errors";
import { cli, D, FakeMaster, STATUS } from "./harness";

describe("status", () => {
  test("the environment, minions and last deploys in tables; no audit", async () => {
    const master = new FakeMaster({ "saltpipe.status": () => STATUS });
    const r = await cli(["status", "--stack", "dev"], master);
    expect(r.code).toBe(0);
    expect(master.calls[0]).toEqual({ fn: "saltpipe.status", args: ["dev", "audit=0"] });
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("environment dev (stack dev)");
    expect(lines[1]).toMatch(
      /^ {2}current {3}222222222222 {2}tag dev-2 {2}since \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(4 min ago\) {2}by approved, approved by bob@laptop$/,
    );
    expect(r.stdout).toContain(`approval  333333333333  tag dev-3 waits until`);
    expect(r.stdout).toContain(`saltpipe approve --stack dev ${D(3)}`);
    expect(r.stdout).toContain(
      "MIXED     the minions serve 2 versions: 222222222222 on web-1; 111111111111 on web-2",
    );
    expect(r.stdout).toMatch(/^MINION +DIGEST +CURRENT +SINCE +PROXY +OS +SALT +LAST DEPLOY$/m);
    expect(r.stdout).toMatch(/^web-1 +222222222222 +yes +.* healthy \(200\) +Ubuntu 24\.04 +3008\.4 +ok$/m);
    expect(r.stdout).toMatch(/^web-2 +111111111111 +no +.* failed: health check failed$/m);
    expect(r.stdout).toMatch(/^FINISHED +DIGEST +TAG +KIND +RESULT +TOOK +BY +REASON$/m);
    expect(r.stdout).toMatch(/^\S+ \S+ +999999999999 +dev-9 +push +failed +31\.0 s +- +batch 1 failed$/m);
    expect(r.stdout).not.toContain("received");
    expect(r.stdout).not.toContain("{");
    expect(master.closed).toBe(true);
  });

  test("--json: the status without the audit trail", async () => {
    const r = await cli(
      ["status", "--stack", "dev", "--json"],
      new FakeMaster({ "saltpipe.status": () => STATUS }),
    );
    const parsed = JSON.parse(r.stdout);
    expect(parsed.current).toBe(D(2));
    expect(parsed.minions).toHaveLength(2);
    expect(parsed.audit).toBeUndefined();
  });

  test("the master refuses: exit 1 with its message", async () => {
    const master = new FakeMaster({
      "saltpipe.status": () => ({
        result: false,
        error: "this master deploys environment 'prod', not 'dev'",
      }),
    });
    const r = await cli(["status", "--stack", "dev"], master);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stderr).toBe("saltpipe: status failed: this master deploys environment 'prod', not 'dev'\n");
  });
});

describe("history", () => {
  const master = () => new FakeMaster({ "saltpipe.status": () => STATUS });

  test("deploys, newest first, with a page line", async () => {
    const m = master();
    const r = await cli(["history", "--stack", "dev", "--limit", "2"], m);
    expect(m.calls[0].args).toEqual(["dev", "audit=0", "live=False"]);
    expect(r.stdout.match(/^\S+ \S+ +(\d)\1{11} /gm)).toHaveLength(2);
    expect(r.stdout).toContain("page 1 of 2 (3 deploys; next: --page 2)");
    const page2 = await cli(["history", "--stack", "dev", "--limit", "2", "--page", "2"], master());
    expect(page2.stdout).toMatch(/111111111111 +dev-1/);
    expect(page2.stdout).toContain("page 2 of 2");
  });

  test("filters: --result, --kind, --digest prefix; --json", async () => {
    const failed = await cli(["history", "--stack", "dev", "--result", "failed", "--json"], master());
    expect(JSON.parse(failed.stdout)).toMatchObject({ kind: "deploys", total: 1, items: [{ digest: D(9) }] });
    const approved = await cli(["history", "--stack", "dev", "--kind", "approved", "--json"], master());
    expect(JSON.parse(approved.stdout).items.map((d: { digest: string }) => d.digest)).toEqual([D(2)]);
    const byDigest = await cli(["history", "--stack", "dev", "--digest", "sha256:1111", "--json"], master());
    expect(JSON.parse(byDigest.stdout).total).toBe(1);
  });

  test("--audit: the audit trail, newest first, filtered by event", async () => {
    const m = master();
    const r = await cli(["history", "--stack", "dev", "--audit"], m);
    expect(m.calls[0].args).toEqual(["dev", "audit=1000", "live=False"]);
    const rows = r.stdout.split("\n").filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((l) => l.split(/ +/)[2])).toEqual(["approved", "deploy", "received"]);
    expect(r.stdout).toContain("approver=bob@laptop");
    const only = await cli(
      ["history", "--stack", "dev", "--audit", "--event", "received", "--json"],
      master(),
    );
    expect(JSON.parse(only.stdout)).toMatchObject({
      kind: "audit",
      total: 1,
      items: [{ event: "received" }],
    });
  });
});

describe("rollback, approve, reject", () => {
  const outcome = {
    result: true,
    action: "deployed",
    digest: D(1),
    tag: "dev-1",
    duration: 8.25,
    minions: { "web-1": { result: true }, "web-2": { result: true } },
  };

  test("rollback --to: the runner gets the environment, the approver and the digest; one readable line", async () => {
    const m = new FakeMaster({ "saltpipe.rollback": () => outcome });
    const r = await cli(["rollback", "--stack", "dev", "--to", D(1)], m);
    expect(r.code).toBe(0);
    expect(m.calls[0]).toEqual({
      fn: "saltpipe.rollback",
      args: ["dev", "approver=alice@ops_host", `to=${D(1)}`],
    });
    expect(r.stdout).toBe("rollback: 111111111111 (tag dev-1) now serves on web-1, web-2 in 8.3 s\n");
  });

  test("a refused rollback exits 1 with the master's reason", async () => {
    const m = new FakeMaster({
      "saltpipe.rollback": () => ({
        result: false,
        error: `digest ${D(7)} never ran in dev; known: ${D(1)}`,
        retcode: 1,
      }),
    });
    const r = await cli(["rollback", "--stack", "dev", "--to", D(7)], m);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toContain(`rollback failed: digest ${D(7)} never ran in dev`);
  });

  test("approve DIGEST and reject --reason reach the runner; --json prints its answer", async () => {
    const m = new FakeMaster({
      "saltpipe.approve": () => outcome,
      "saltpipe.reject": () => ({
        result: true,
        action: "rejected",
        digest: D(3),
        tag: "dev-3",
        reason: "not today",
      }),
    });
    expect((await cli(["approve", D(3), "--stack", "dev"], m)).code).toBe(0);
    expect(m.calls[0].args).toEqual(["dev", "approver=alice@ops_host", `digest=${D(3)}`]);
    const rejected = await cli(["reject", "--stack", "dev", "--reason", "not today", "--json"], m);
    expect(m.calls[1].args).toEqual(["dev", "approver=alice@ops_host", "reason=not today"]);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ action: "rejected", digest: D(3) });
  });

  test("a failed deploy (result false) exits 1 and names the minions", async () => {
    const m = new FakeMaster({
      "saltpipe.approve": () => ({
        result: false,
        reason: "batch 1 failed",
        digest: D(3),
        minions: { "web-1": { result: false, comment: "health check failed: no 2xx" } },
      }),
    });
    const r = await cli(["approve", "--stack", "dev"], m);
    expect(r.code).toBe(EXIT.FAILED);
    expect(r.stdout).toBe("approve failed: batch 1 failed\n  web-1: health check failed: no 2xx\n");
  });
});
