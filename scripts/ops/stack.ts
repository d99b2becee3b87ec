/**
 * What an operator command needs to know about a stack: its outputs and the SSH key that
 * reaches its master, read through the Pulumi CLI (the `local` stack through its wrapper).
 */
import { execFileSync } from "child_process";
import { PACKAGE_ROOT } from "../../infra/paths";

export interface MasterSsh {
  /** The master's host name in the stack (for messages). */
  readonly name?: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The master's pinned SSH host key: a master presenting another key is refused. */
  readonly hostKey?: string;
}

export interface StackAccess {
  readonly stack: string;
  readonly environment: string;
  readonly masterSsh: MasterSsh;
  readonly privateKey: string;
}

export class OpsError extends Error {}

/**
 * The `local` stack, and the stack named by SALTPIPE_STACK (a stack file run through the same
 * wrapper, e.g. the end-to-end suites'), go through scripts/local-stack.sh; others through pulumi.
 */
function pulumi(stack: string, args: string[]): string {
  const wrapped = stack === (process.env.SALTPIPE_STACK || "local");
  const [file, argv] = wrapped
    ? ["bash", ["scripts/local-stack.sh", "pulumi", ...args]]
    : ["pulumi", [...args, "--stack", stack]];
  try {
    return execFileSync(file, argv, {
      cwd: PACKAGE_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const stderr = String((e as { stderr?: string }).stderr ?? "").trim();
    throw new OpsError(
      `pulumi ${args.slice(0, 2).join(" ")} failed for stack "${stack}": ${stderr.split("\n").slice(-3).join(" ")}`,
    );
  }
}

export function stackAccess(stack: string): StackAccess {
  const outputs = JSON.parse(pulumi(stack, ["stack", "output", "--json"]) || "{}") as {
    masterSsh?: MasterSsh;
    environmentName?: string;
  };
  if (!outputs.masterSsh) {
    throw new OpsError(
      `stack "${stack}" has no masterSsh output: is it up? (npm run up:local, or pulumi up --stack ${stack})`,
    );
  }
  const privateKey = pulumi(stack, ["config", "get", "saltpipe:sshPrivateKey"]);
  return { stack, environment: outputs.environmentName ?? stack, masterSsh: outputs.masterSsh, privateKey };
}
