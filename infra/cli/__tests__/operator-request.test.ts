/**
 * The operator command's request script (what `saltpipe rollback|status|…` runs on the master
 * over SSH to ask its `saltpipe_operator` engine), run for real by bash against a temporary
 * directory, with a stand-in for the engine: the request as the engine reads it, the answer
 * printed and removed, and the exit codes that send the command back to `salt-run`.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { operatorRequestScript } from "../master";

function sh(command: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile("/bin/sh", ["-c", command], (err, stdout) =>
      resolve({
        code: err ? Number((err as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) : 0,
        stdout,
      }),
    );
  });
}

function engineDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-operator-"));
  fs.mkdirSync(path.join(dir, "requests"), { mode: 0o700 });
  fs.mkdirSync(path.join(dir, "answers"), { mode: 0o700 });
  return dir;
}

/** Takes each request as the engine does (rename), and answers it with `answer(request)`. */
function standIn(dir: string, answer: (request: Record<string, unknown>) => unknown): () => void {
  const timer = setInterval(() => {
    for (const name of fs.readdirSync(path.join(dir, "requests"))) {
      if (!name.endsWith(".json")) continue;
      const id = name.slice(0, -".json".length);
      const taken = path.join(dir, "requests", `${id}.taken`);
      fs.renameSync(path.join(dir, "requests", name), taken);
      const request = JSON.parse(fs.readFileSync(taken, "utf8")) as Record<string, unknown>;
      fs.unlinkSync(taken);
      const tmp = path.join(dir, "answers", `.${id}.tmp`);
      fs.writeFileSync(tmp, JSON.stringify({ code: 0, data: answer(request) }), { mode: 0o600 });
      fs.renameSync(tmp, path.join(dir, "answers", `${id}.json`));
    }
  }, 20);
  return () => clearInterval(timer);
}

describe("the operator request script", () => {
  test("writes the request (created by the master's clock), prints the answer and removes it", async () => {
    const dir = engineDir();
    const seen: Record<string, unknown>[] = [];
    const stop = standIn(dir, (request) => (seen.push(request), { result: true, action: "rolled-back" }));
    try {
      const args = ["dev", "approver=alice@laptop", "to=sha256:" + "a".repeat(64)];
      const ran = await sh(operatorRequestScript("root", "req-0123456789", "saltpipe.rollback", args, dir));
      expect(ran.code).toBe(0);
      expect(JSON.parse(ran.stdout)).toEqual({ code: 0, data: { result: true, action: "rolled-back" } });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ fun: "saltpipe.rollback", args });
      expect(Math.abs(Number(seen[0].created) - Date.now() / 1000)).toBeLessThan(5);
      expect(fs.readdirSync(path.join(dir, "answers"))).toEqual([]);
      expect(fs.readdirSync(path.join(dir, "requests"))).toEqual([]);
    } finally {
      stop();
    }
  });

  test("a quote in an argument stays an argument (the script is one shell word)", async () => {
    const dir = engineDir();
    const stop = standIn(dir, (request) => request.args);
    try {
      const args = ["dev", "approver=o'brien", 'x=";touch /tmp/pwned-saltpipe;"', "$(id)"];
      const ran = await sh(operatorRequestScript("root", "req-quoting01", "saltpipe.status", args, dir));
      expect(JSON.parse(ran.stdout).data).toEqual(args);
      expect(fs.existsSync("/tmp/pwned-saltpipe")).toBe(false);
    } finally {
      stop();
    }
  });

  test("no engine directory: exit 90, nothing written (the command uses salt-run)", async () => {
    const dir = path.join(os.tmpdir(), "saltpipe-no-engine-here");
    const ran = await sh(operatorRequestScript("root", "req-noengine1", "saltpipe.status", ["dev"], dir));
    expect(ran.code).toBe(90);
    expect(fs.existsSync(dir)).toBe(false);
  });

  test("a request no engine takes within 3 s is withdrawn: exit 90, so it can never run later", async () => {
    const dir = engineDir();
    const started = Date.now();
    const ran = await sh(operatorRequestScript("root", "req-untaken01", "saltpipe.rollback", ["dev"], dir));
    expect(ran.code).toBe(90);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(fs.readdirSync(path.join(dir, "requests"))).toEqual([]);
  }, 15_000);

  test("another SSH user asks through sudo -n; a bad request id is refused", () => {
    expect(operatorRequestScript("deploy", "req-sudo00001", "saltpipe.status", ["dev"])).toMatch(
      /^sudo -n bash -c '/,
    );
    expect(operatorRequestScript("root", "req-sudo00001", "saltpipe.status", ["dev"])).toMatch(/^bash -c '/);
    expect(() => operatorRequestScript("root", "../x", "saltpipe.status", [])).toThrow(/invalid request id/);
  });
});
