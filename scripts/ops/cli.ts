/**
 * Operator commands for one stack, run against its master over SSH:
 *   npm run status   -- --stack NAME [--json]
 *   npm run rollback -- --stack NAME [--to DIGEST]
 *   npm run approve  -- --stack NAME [DIGEST]
 *   npm run reject   -- --stack NAME [DIGEST]
 */
import * as os from "os";
import { formatStatus } from "./format";
import { runner } from "./master";
import { OpsError, stackAccess } from "./stack";

interface Args {
  readonly command: string;
  readonly stack: string;
  readonly to?: string;
  readonly digest?: string;
  readonly json: boolean;
}

const COMMANDS = ["status", "rollback", "approve", "reject"];
const DIGEST = /^sha256:[0-9a-f]{64}$/;

function parseArgs(argv: readonly string[]): Args {
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command))
    throw new OpsError(`unknown command "${command}" (one of: ${COMMANDS.join(", ")})`);
  let stack: string | undefined;
  let to: string | undefined;
  let digest: string | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--stack") stack = rest[++i];
    else if (arg === "--to") to = rest[++i];
    else if (arg === "--json") json = true;
    else if (!arg.startsWith("--") && digest === undefined && (command === "approve" || command === "reject"))
      digest = arg;
    else throw new OpsError(`unexpected argument "${arg}"`);
  }
  if (!stack) throw new OpsError(`--stack NAME is required (e.g. npm run ${command} -- --stack local)`);
  for (const [name, value] of [
    ["--to", to],
    ["DIGEST", digest],
  ] as const) {
    if (value !== undefined && !DIGEST.test(value))
      throw new OpsError(`${name} must be a digest sha256:<64 hex>, got "${value}"`);
  }
  return { command, stack, to, digest, json };
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv);
  const access = stackAccess(args.stack);
  const env = `environment=${access.environment}`;
  // Recorded in the master's audit trail with every rollback, approval and rejection.
  const approver = `approver=${os.userInfo().username}@${os.hostname()}`;
  if (args.command === "status") {
    const status = await runner(access, "saltpipe.status", [env]);
    console.log(args.json ? JSON.stringify(status, null, 2) : formatStatus(status));
    return;
  }
  const target =
    args.command === "rollback"
      ? args.to
        ? [`to=${args.to}`]
        : []
      : args.digest
        ? [`digest=${args.digest}`]
        : [];
  console.log(
    JSON.stringify(await runner(access, `saltpipe.${args.command}`, [env, approver, ...target]), null, 2),
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(e instanceof OpsError ? 2 : 1);
});
