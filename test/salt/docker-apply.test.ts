/**
 * The `docker` state applied FOR REAL with `salt-call --local` to this machine (Debian 12):
 * it converges, the engine answers, and a second apply reports no changes.
 *
 * On this machine Docker's engine may already have been started by hand (not by its init
 * script); the formula's `skip_start_if_engine_answers` (default on) leaves such an engine
 * alone instead of starting a second daemon. Set SALTPIPE_SKIP_HOST_APPLY=1 to refuse to
 * touch a machine that is not a disposable Debian host (the test then FAILS, it never skips).
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { STATES_DIR, mkTemp, run, saltBin } from "./helpers";

jest.setTimeout(900_000);

type StateRet = Record<
  string,
  { __id__: string; result: boolean | null; changes: Record<string, unknown>; comment: string }
>;

let dir = "";
beforeAll(() => {
  dir = mkTemp("saltpipe-docker-apply-");
  fs.mkdirSync(path.join(dir, "conf"));
  fs.mkdirSync(path.join(dir, "pillar"));
  fs.writeFileSync(
    path.join(dir, "conf", "minion"),
    stringify({
      id: "docker-apply",
      file_client: "local",
      root_dir: dir,
      file_roots: { base: [path.join(STATES_DIR, "salt")] },
      pillar_roots: { base: [path.join(dir, "pillar")] },
      log_level: "warning",
    }),
  );
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function apply(): Promise<StateRet> {
  const res = await run(
    saltBin("salt-call"),
    [
      "--local",
      "-c",
      path.join(dir, "conf"),
      "--out",
      "json",
      "--retcode-passthrough",
      "state.apply",
      "docker",
    ],
    { timeoutMs: 840_000 },
  );
  const out = JSON.parse(res.stdout || "{}").local;
  if (res.code !== 0 || !out || Array.isArray(out))
    throw new Error(`state.apply docker failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
  return out as StateRet;
}

test("docker converges on this Debian host, and a second apply changes nothing", async () => {
  if (process.env.SALTPIPE_SKIP_HOST_APPLY)
    throw new Error("SALTPIPE_SKIP_HOST_APPLY is set: this test applies the docker state to this machine");
  const osRelease = fs.readFileSync("/etc/os-release", "utf8");
  expect(osRelease).toMatch(/^ID=debian$/m);

  const first = await apply();
  const ids = Object.values(first)
    .map((s) => s.__id__)
    .sort();
  expect(ids).toEqual([
    "docker-package-install-pkg-installed",
    "docker-service-running-service-enabled",
    "docker-service-running-service-running",
  ]);
  for (const s of Object.values(first))
    expect({ id: s.__id__, result: s.result }).toEqual({ id: s.__id__, result: true });

  const info = await run("/usr/bin/docker", ["info", "--format", "{{.ServerVersion}}"]);
  expect(info.code).toBe(0);
  expect(info.stdout.trim()).toMatch(/^\d+\.\d+/);
  const dpkg = await run("dpkg-query", ["-W", "-f=${Status}", "docker.io"]);
  expect(dpkg.stdout).toBe("install ok installed");

  const second = await apply();
  const changed = Object.values(second).filter((s) => Object.keys(s.changes).length > 0 || s.result !== true);
  expect(changed).toEqual([]);
});
