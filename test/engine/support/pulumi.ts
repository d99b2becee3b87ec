/**
 * Throwaway Pulumi projects driven through the real CLI: a temp dir with a TypeScript program
 * that uses the repo's node_modules, a file backend and a passphrase of its own, and the
 * offline plugin stand-ins first on PATH. The CLI comes from scripts/pulumi-toolchain.sh
 * (built once into the cache; instant afterwards).
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const repo = path.resolve(__dirname, "../../..");

let binDir: string | undefined;
/** The directory holding `pulumi` and `pulumi-language-nodejs` (builds them on first use). */
export function toolchainBin(): string {
  binDir ??= execFileSync("bash", [path.join(repo, "scripts/pulumi-toolchain.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .pop()!;
  return binDir;
}

export interface Result {
  args: string[];
  code: number;
  stdout: string;
  stderr: string;
  /** Wall-clock milliseconds. */
  ms: number;
}

export interface Project {
  dir: string;
  /** Run `pulumi ARGS` in the project (non-interactive, INPUT on stdin); never throws. */
  pulumi(args: string[], env?: Record<string, string>, input?: string): Promise<Result>;
  /** Everything the backend stored (state files, history), as one text, to grep for secrets. */
  backendText(): string;
  remove(): void;
}

/** A project named NAME whose program is FILES["index.ts"] (plus any other files), with stack `test` selected. */
export async function newProject(
  name: string,
  files: Record<string, string>,
  env: Record<string, string> = {},
): Promise<Project> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `saltpipe-${name}-`));
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"));
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${name}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n`,
  );
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name, private: true }));
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "ES2022",
        module: "commonjs",
        esModuleInterop: true,
        skipLibCheck: true,
      },
    }),
  );
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), text);
  }
  fs.mkdirSync(path.join(dir, ".state"));
  const baseEnv = {
    ...process.env,
    PATH: `${path.join(repo, "tools/standins/bin")}:${toolchainBin()}:${process.env.PATH}`,
    PULUMI_HOME: path.join(dir, ".pulumi-home"),
    PULUMI_BACKEND_URL: `file://${path.join(dir, ".state")}`,
    PULUMI_CONFIG_PASSPHRASE: "engine-test-passphrase",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ...env,
  };
  const pulumi = (args: string[], extra: Record<string, string> = {}, input?: string) =>
    new Promise<Result>((resolve) => {
      const start = Date.now();
      const child = execFile(
        "pulumi",
        [...args, "--non-interactive"],
        { cwd: dir, env: { ...baseEnv, ...extra }, maxBuffer: 64 << 20 },
        (err, stdout, stderr) =>
          resolve({
            args,
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr,
            ms: Date.now() - start,
          }),
      );
      child.stdin?.end(input ?? "");
    });
  const init = await pulumi(["stack", "init", "test"]);
  if (init.code !== 0) throw new Error(`pulumi stack init failed: ${init.stderr}`);
  return {
    dir,
    pulumi,
    backendText: () => readTree(path.join(dir, ".state")),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function readTree(dir: string): string {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "utf8"))
    .join("\n");
}

/** The steps of `pulumi preview --json`, as "op name" strings, leaving out unchanged ones. */
export function changedSteps(previewJson: string): string[] {
  const { steps } = JSON.parse(previewJson) as { steps: { op: string; urn: string }[] };
  return steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);
}

/** One line of timings, e.g. "up 12.1s · preview 3.0s", for the test log. */
export function timings(results: Result[]): string {
  return results.map((r) => `${r.args.slice(0, 2).join(" ")} ${(r.ms / 1000).toFixed(1)}s`).join(" · ");
}

/**
 * `pulumi …` against the project `current()` returns: each result goes to `log`, a failure
 * throws (except `--expect-no-changes`, whose exit code is the assertion).
 */
export function recordingPulumi(current: () => Project, log: Result[]) {
  return async (...args: string[]): Promise<Result> => {
    const r = await current().pulumi(args);
    log.push(r);
    if (r.code !== 0 && !args.includes("--expect-no-changes"))
      throw new Error(`pulumi ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
}
