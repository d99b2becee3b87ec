/**
 * The package as another team gets it: `npm pack` (whose `prepack` builds it), what the tarball
 * holds, then the consumer example installed from that tarball in a temporary copy, where it must
 * type-check and pass its own unit tests.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");
const EXAMPLE = path.join(ROOT, "examples", "consumer");
const { name, version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

/** Runs a command; on failure the error message carries its output. */
function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false" },
  });
}

let work: string;
let tarball: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-package-"));
  run("npm", ["pack", "--pack-destination", work], ROOT);
  tarball = path.join(work, `${name}-${version}.tgz`);
}, 120_000);

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test("the tarball holds the compiled API, Salt states, images and docs, and nothing else", () => {
  const files = run("tar", ["-tzf", tarball], work)
    .split("\n")
    .filter(Boolean)
    .map((file) => file.replace(/^package\//, ""));

  expect(files).toEqual(
    expect.arrayContaining([
      "package.json",
      "README.md",
      "CHANGELOG.md",
      "LICENSE",
      "dist/infra/index.js",
      "dist/infra/index.d.ts",
      "dist/infra/cli/main.js",
      "salt-states/salt/top.sls",
      "images/host/Dockerfile",
      "images/registry/Dockerfile",
    ]),
  );
  const topLevel = new Set(files.map((file) => file.split("/")[0]));
  expect([...topLevel].sort()).toEqual(
    ["CHANGELOG.md", "LICENSE", "README.md", "dist", "images", "package.json", "salt-states"].sort(),
  );
  const unwanted =
    /(^|\/)(__tests__|__snapshots__|__pycache__|tests?|fixtures|bench)\/|\.(test|spec)\.|\.map$|\.tsbuildinfo$/;
  expect(files.filter((file) => unwanted.test(file))).toEqual([]);
  expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
  expect(files.filter((file) => file.startsWith("dist/") && !file.startsWith("dist/infra/"))).toEqual([]);
});

test("the consumer example installs the tarball, type-checks and passes its unit tests", () => {
  const consumer = path.join(work, "consumer");
  fs.cpSync(EXAMPLE, consumer, { recursive: true, filter: (src) => path.basename(src) !== "node_modules" });
  const manifest = JSON.parse(fs.readFileSync(path.join(consumer, "package.json"), "utf8"));
  manifest.dependencies[name] = `file:${tarball}`;
  fs.writeFileSync(path.join(consumer, "package.json"), JSON.stringify(manifest, null, 2));

  run(
    "npm",
    ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-package-lock"],
    consumer,
  );
  expect(fs.existsSync(path.join(consumer, "node_modules", name, "salt-states"))).toBe(true);
  // The `saltpipe` bin: linked, executable, with its shebang (the consumer's tests run it).
  const bin = path.join(consumer, "node_modules", ".bin", "saltpipe");
  expect(fs.realpathSync(bin)).toBe(
    fs.realpathSync(path.join(consumer, "node_modules", name, "dist/infra/cli/main.js")),
  );
  expect(fs.readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
  expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
  run(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"], consumer);
  run(process.execPath, ["node_modules/jest/bin/jest.js", "--ci"], consumer);
}, 180_000);
