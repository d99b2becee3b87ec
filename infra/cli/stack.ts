/**
 * What an operator command needs to know about a stack: its outputs (`masterSsh`,
 * `masterSshKey`, `environmentName`), read through the Pulumi CLI from the current project
 * (or from a JSON file of outputs), and the SSH key that reaches its master.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { MasterAccess, MasterSsh } from "./master";
import { CliError } from "./errors";

export interface StackOptions {
  readonly stack: string;
  /** A JSON file holding the stack outputs (`pulumi stack output --json --show-secrets`). */
  readonly outputs?: string;
  /** A private key file that overrides the stack's key. */
  readonly identity?: string;
  /** The directory of the Pulumi project (default: the current directory). */
  readonly cwd?: string;
  /** The environment variables (default: the process's). */
  readonly env?: NodeJS.ProcessEnv;
}

/** The stack outputs the command reads; a consumer's program exports them (see the README). */
export interface OperatorOutputs {
  readonly masterSsh?: MasterSsh;
  readonly masterSshKey?: string;
  readonly environmentName?: string;
}

const LOCAL_WRAPPER = path.join("scripts", "local-stack.sh");

/** The Pulumi CLI to run: `SALTPIPE_PULUMI`, this repository's local-stack wrapper, or `pulumi`. */
export function pulumiCommand(stack: string, cwd: string, env: NodeJS.ProcessEnv): string[] {
  if (env.SALTPIPE_PULUMI) return env.SALTPIPE_PULUMI.split(/\s+/).filter(Boolean);
  // The `local` stack, and the stack named by SALTPIPE_STACK (a stack file run through the same
  // wrapper, e.g. the end-to-end suites'), go through scripts/local-stack.sh in this repository.
  const wrapped = stack === (env.SALTPIPE_STACK || "local");
  if (wrapped && fs.existsSync(path.join(cwd, LOCAL_WRAPPER))) return ["bash", LOCAL_WRAPPER, "pulumi"];
  return ["pulumi"];
}

interface Ran {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly missing: boolean;
  readonly code: number | null;
}

function pulumi(opts: StackOptions, args: string[]): Ran {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const [file, ...prefix] = pulumiCommand(opts.stack, cwd, env);
  const res = spawnSync(file, [...prefix, ...args, "--stack", opts.stack], {
    cwd,
    env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
  const missing = (res.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
  return {
    ok: !res.error && res.status === 0,
    stdout: res.stdout ?? "",
    stderr: res.stderr ?? "",
    missing,
    code: res.status,
  };
}

function said(ran: Ran): string {
  const text = (ran.stderr.trim() || ran.stdout.trim()).split("\n").slice(-12).join("\n");
  return text || `no output (exit ${ran.code ?? "by signal"})`;
}

function backendHint(env: NodeJS.ProcessEnv): string {
  const backend = env.PULUMI_BACKEND_URL
    ? `PULUMI_BACKEND_URL is ${env.PULUMI_BACKEND_URL}`
    : "PULUMI_BACKEND_URL is not set, so pulumi uses the backend of `pulumi login`";
  return (
    `${backend}. Select the backend with PULUMI_BACKEND_URL=<url> (e.g. file:///path/to/state, s3://bucket) ` +
    `or \`pulumi login <url>\`, and run from the Pulumi project's directory (or pass --cwd DIR)`
  );
}

/** Stacks of the selected backend, for the "no such stack" message (best effort). */
function stackNames(opts: StackOptions): string[] | undefined {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const [file, ...prefix] = pulumiCommand(opts.stack, cwd, env);
  const res = spawnSync(file, [...prefix, "stack", "ls", "--json"], { cwd, env, encoding: "utf8" });
  try {
    return (JSON.parse(res.stdout) as { name: string }[]).map((s) => s.name);
  } catch {
    return undefined;
  }
}

function pulumiFailed(opts: StackOptions, what: string, ran: Ran): CliError {
  const env = opts.env ?? process.env;
  if (ran.missing) {
    return new CliError(
      `the Pulumi CLI is not on PATH (needed to read the outputs of stack "${opts.stack}"): install it ` +
        `(https://www.pulumi.com/docs/iac/download-install/), set SALTPIPE_PULUMI to its path, ` +
        `or pass --outputs FILE with the stack's \`pulumi stack output --json --show-secrets\``,
    );
  }
  const text = said(ran);
  if (/no stack named|stack .* not found|could not find stack|no stack .* found/i.test(text)) {
    const names = stackNames(opts);
    const list = names === undefined ? "(could not list them)" : names.length ? names.join(", ") : "none";
    return new CliError(
      `no stack "${opts.stack}" in the selected backend; stacks there: ${list}. ${backendHint(env)}.\n` +
        `pulumi said: ${text}`,
    );
  }
  return new CliError(`${what} failed for stack "${opts.stack}": ${text}\n(${backendHint(env)})`);
}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** The stack's outputs, with secrets (the master's SSH key is one). */
export function readOutputs(opts: StackOptions): OperatorOutputs {
  const file = opts.outputs ?? (opts.env ?? process.env).SALTPIPE_STACK_OUTPUTS;
  let text: string;
  if (file) {
    text = readText(file, "the stack outputs file");
  } else {
    const ran = pulumi(opts, ["stack", "output", "--json", "--show-secrets"]);
    if (!ran.ok) throw pulumiFailed(opts, "pulumi stack output", ran);
    text = ran.stdout;
  }
  try {
    const parsed = JSON.parse(text || "{}") as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    return parsed as OperatorOutputs;
  } catch (e) {
    throw new CliError(`the outputs of stack "${opts.stack}" are not a JSON object: ${(e as Error).message}`);
  }
}

function validSsh(value: unknown): value is MasterSsh {
  const v = value as MasterSsh;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.host === "string" &&
    v.host !== "" &&
    Number.isInteger(v.port) &&
    typeof v.user === "string" &&
    v.user !== ""
  );
}

const EXPORTS_HINT =
  "the stack's program must export them: `export const masterSsh = env.masterSsh; " +
  "export const masterSshKey = env.masterSshKey;` (on an Environment or a SaltCluster), then `pulumi up`";

/** The master's address, SSH user and port, and the key, from the stack (or --identity). */
export function stackAccess(opts: StackOptions): MasterAccess {
  const outputs = readOutputs(opts);
  if (!validSsh(outputs.masterSsh)) {
    throw new CliError(
      `stack "${opts.stack}" has no usable masterSsh output (want {host, port, user}, got ` +
        `${JSON.stringify(outputs.masterSsh ?? null)}): is it up? If it is, ${EXPORTS_HINT}`,
    );
  }
  const identity = opts.identity ?? (opts.env ?? process.env).SALTPIPE_SSH_KEY_FILE;
  let privateKey: string;
  let keySource: string;
  if (identity) {
    privateKey = readText(identity, "the SSH key file");
    keySource = `file ${identity}`;
  } else if (typeof outputs.masterSshKey === "string" && outputs.masterSshKey.includes("PRIVATE KEY")) {
    privateKey = outputs.masterSshKey;
    keySource = `stack output masterSshKey of "${opts.stack}"`;
  } else if (opts.outputs || (opts.env ?? process.env).SALTPIPE_STACK_OUTPUTS) {
    throw new CliError(
      `stack "${opts.stack}" gives no masterSshKey output (with --show-secrets) and no --identity FILE was given: ${EXPORTS_HINT}`,
    );
  } else {
    const ran = pulumi(opts, ["config", "get", "saltpipe:sshPrivateKey"]);
    if (!ran.ok || !ran.stdout.includes("PRIVATE KEY")) {
      throw new CliError(
        `no SSH key for the master of stack "${opts.stack}": no masterSshKey output, no saltpipe:sshPrivateKey ` +
          `config (${said(ran)}), no --identity FILE. Either pass --identity FILE (or SALTPIPE_SSH_KEY_FILE), or ${EXPORTS_HINT}`,
      );
    }
    privateKey = ran.stdout;
    keySource = `config saltpipe:sshPrivateKey of "${opts.stack}"`;
  }
  const environment = typeof outputs.environmentName === "string" ? outputs.environmentName : opts.stack;
  const operatorDir = (opts.env ?? process.env).SALTPIPE_OPERATOR_DIR || undefined;
  return { stack: opts.stack, environment, ssh: outputs.masterSsh, privateKey, keySource, operatorDir };
}
