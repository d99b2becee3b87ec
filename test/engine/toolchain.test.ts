/**
 * scripts/pulumi-toolchain.sh: a `pulumi` on PATH is used as it is; otherwise the cached build
 * (keyed by version) is reused; --path adds the stand-ins only when a real plugin is missing.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toolchainBin } from "./support/pulumi";

jest.setTimeout(15 * 60_000); // the first run may build the CLI

const repo = path.resolve(__dirname, "../..");
const script = path.join(repo, "scripts/pulumi-toolchain.sh");
const systemPath = "/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin";
const run = (args: string[], env: Record<string, string>) =>
  execFileSync("bash", [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  })
    .trim()
    .split("\n")
    .pop();

let fake: string;
beforeAll(() => {
  fake = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-fake-pulumi-"));
  const plugins = JSON.stringify([
    { name: "command", kind: "resource" },
    { name: "docker", kind: "resource" },
    { name: "aws", kind: "resource" },
    { name: "tls", kind: "resource" },
  ]);
  fs.writeFileSync(
    path.join(fake, "pulumi"),
    `#!/bin/sh\n[ "$1" = plugin ] && echo '${plugins}' || echo v3.999.0\n`,
    { mode: 0o755 },
  );
});
afterAll(() => fs.rmSync(fake, { recursive: true, force: true }));

test("a pulumi already on PATH is used as it is (and its installed plugins keep the stand-ins off PATH)", () => {
  expect(run([], { PATH: `${fake}:${systemPath}` })).toBe(fake);
  expect(run(["--path"], { PATH: `${fake}:${systemPath}` })).toBe(fake);
});

test("otherwise the version-keyed build is reused, fast, and --path adds the stand-ins when plugins are missing", () => {
  const bin = toolchainBin(); // builds once if needed
  expect(bin).toMatch(/pulumi-v3\.274\.1\/bin$/);
  const start = Date.now();
  expect(run([], { PATH: systemPath })).toBe(bin);
  expect(Date.now() - start).toBeLessThan(2000);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-pulumi-home-"));
  expect(run(["--path"], { PATH: systemPath, PULUMI_HOME: home })).toBe(`${repo}/tools/standins/bin:${bin}`);
  fs.rmSync(home, { recursive: true, force: true });
  expect(execFileSync(path.join(bin, "pulumi"), ["version"], { encoding: "utf8" }).trim()).toBe("v3.274.1");
});
