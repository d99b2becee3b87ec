/**
 * The `saltpipe` command: see and steer one stack's deploys from any machine that can run
 * `pulumi stack output` for it and reach its master over SSH.
 *
 *   saltpipe status   --stack NAME            the environment, its minions, the last deploys
 *   saltpipe history  --stack NAME [--audit]  deploys or the audit trail, filtered, paged
 *   saltpipe watch    --stack NAME            follow the next deploy live
 *   saltpipe rollback --stack NAME [--to D]   redeploy the previous (or a named) digest
 *   saltpipe approve  --stack NAME [DIGEST]   deploy the push waiting for approval
 *   saltpipe reject   --stack NAME [DIGEST]   drop it
 *
 * `run(argv, deps)` is the whole command; the unit tests pass fake deps (stack outputs, master).
 */
import { Command, InvalidArgumentError, Option, CommanderError } from "commander";
import * as fs from "fs";
import * as path from "path";
import { PACKAGE_ROOT } from "../paths";
import { UnreachableError } from "./master";
import { CliError, EXIT, type ExitCode } from "./errors";
import { follow, renderer } from "./follow";
import { formatAction, formatAudit, formatDeploys, formatStatus, type Json } from "./format";
import { defaultDeps, refusal, Session, type CommonOptions, type Deps } from "./session";

export const EXIT_CODES_HELP = `
Exit codes:
  0  done (a deploy that was followed succeeded)
  1  the operation failed: the master refused it, or the deploy failed
  2  usage error, or the stack or its master could not be reached

The stack's outputs give the master: masterSsh ({host, port, user}) and masterSshKey
(a secret; read with --show-secrets). Run from the Pulumi project's directory (or --cwd),
with the backend selected (PULUMI_BACKEND_URL or pulumi login), or pass --outputs FILE.`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function digestArg(value: string): string {
  if (!DIGEST.test(value)) throw new InvalidArgumentError(`want a digest sha256:<64 hex>, got "${value}"`);
  return value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`want a whole number ≥ 1, got "${value}"`);
  return n;
}
function version(): string {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
}

/** The approver the runner accepts: [A-Za-z0-9@._+-], at most 64 characters. */
export function approverName(who: string): string {
  return who.replace(/[^A-Za-z0-9@._+-]/g, "_").slice(0, 64) || "unknown";
}

function common(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--stack <name>", "the Pulumi stack (environment)")
        .env("SALTPIPE_STACK")
        .makeOptionMandatory(),
    )
    .option("--json", "machine-readable output (JSON; one JSON line per event for watch)")
    .option(
      "--outputs <file>",
      "read the stack outputs from FILE (pulumi stack output --json --show-secrets)",
    )
    .option("--identity <file>", "SSH private key for the master (default: the stack's masterSshKey output)")
    .option("--cwd <dir>", "the Pulumi project's directory (default: the current directory)")
    .addHelpText("after", EXIT_CODES_HELP);
}

async function status(session: Session): Promise<ExitCode> {
  const data = await session.runner("saltpipe.status", ["audit=0"]);
  if (data.result === false) throw refusal("status failed", data);
  if (session.json) {
    const { audit: _audit, ...rest } = data;
    session.out(JSON.stringify(rest, null, 2));
  } else {
    session.out(formatStatus(data, session.opts.stack));
  }
  return EXIT.OK;
}

interface HistoryOptions {
  readonly audit?: boolean;
  readonly result?: string;
  readonly kind?: string;
  readonly event?: string;
  readonly digest?: string;
  readonly limit: number;
  readonly page: number;
}

/** The audit window `history --audit` reads (newest entries). */
export const AUDIT_WINDOW = 1000;

async function history(session: Session, o: HistoryOptions): Promise<ExitCode> {
  const data = await session.runner("saltpipe.status", [`audit=${o.audit ? AUDIT_WINDOW : 0}`, "live=False"]);
  if (data.result === false) throw refusal("history failed", data);
  const digestOk = (d: unknown) =>
    !o.digest ||
    (typeof d === "string" && d.replace(/^sha256:/, "").startsWith(o.digest.replace(/^sha256:/, "")));
  let items: Json[];
  if (o.audit) {
    items = ((data.audit as Json[] | undefined) ?? [])
      .slice()
      .reverse()
      .filter((e) => (!o.event || e.event === o.event) && digestOk(e.digest));
  } else {
    items = ((data.deploys as Json[] | undefined) ?? []).filter(
      (d) =>
        (!o.result || (o.result === "ok") === (d.result === true)) &&
        (!o.kind || d.kind === o.kind) &&
        digestOk(d.digest),
    );
  }
  const total = items.length;
  const page = items.slice((o.page - 1) * o.limit, o.page * o.limit);
  const pages = Math.max(1, Math.ceil(total / o.limit));
  if (session.json) {
    session.out(
      JSON.stringify(
        { kind: o.audit ? "audit" : "deploys", page: o.page, pages, total, items: page },
        null,
        2,
      ),
    );
    return EXIT.OK;
  }
  if (page.length === 0) {
    session.out(
      total
        ? `page ${o.page} is past the last page (${pages})`
        : `no ${o.audit ? "audit entries" : "deploys"} match`,
    );
    return EXIT.OK;
  }
  session.out(o.audit ? formatAudit(page) : formatDeploys(page));
  session.out(
    `page ${o.page} of ${pages} (${total} ${o.audit ? "entries" : "deploys"}${o.page < pages ? `; next: --page ${o.page + 1}` : ""})`,
  );
  return EXIT.OK;
}

async function watch(session: Session, o: { digest?: string; timeout?: number }): Promise<ExitCode> {
  const verdict = await follow(session, { digest: o.digest, timeoutS: o.timeout, render: renderer(session) });
  return verdict.code;
}

/** rollback / approve / reject: the runner's answer, optionally with the deploy followed live. */
async function act(
  session: Session,
  verb: string,
  fn: string,
  args: string[],
  o: { watch?: boolean; digest?: string },
): Promise<ExitCode> {
  const all = [`approver=${approverName(session.deps.operator)}`, ...args];
  const answer = (data: Json): ExitCode => {
    if (session.json) session.out(JSON.stringify(data, null, o.watch ? undefined : 2));
    else session.out(formatAction(verb, data));
    return data.result === false ? EXIT.FAILED : EXIT.OK;
  };
  if (!o.watch) return answer(await session.runner(fn, all));
  let code: ExitCode = EXIT.OK;
  const verdict = await follow(session, { digest: o.digest, render: renderer(session) }, async () => {
    const data = await session.runner(fn, all);
    code = answer(data);
    // Nothing more to follow: refused, rejected, queued behind another deploy's owner.
    if (data.result === false)
      return { code: EXIT.FAILED, message: String(data.error ?? data.reason ?? "failed") };
    if (data.action !== "queued" && data.action !== undefined && !("minions" in data))
      return { code: EXIT.OK, message: `${verb}: ${String(data.action)}` };
    return undefined;
  });
  return verdict.code === EXIT.OK ? code : verdict.code;
}

export function buildProgram(deps: Deps, done: (code: ExitCode) => void): Command {
  const program = new Command("saltpipe")
    .description("See and steer the deploys of a saltpipe environment (one Pulumi stack).")
    .version(version(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    })
    .exitOverride()
    .addHelpText("after", EXIT_CODES_HELP);

  const wrap =
    <A extends unknown[]>(fn: (session: Session, ...args: A) => Promise<ExitCode>) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const session = new Session(deps, cmd.opts<CommonOptions>());
      try {
        done(await fn(session, ...(args.slice(0, -1) as A)));
      } finally {
        session.close();
      }
    };

  common(
    program
      .command("status")
      .description(
        "the environment (current version, since when, by whom, approval, mixed versions), minions, last deploys",
      ),
  ).action(wrap((s) => status(s)));

  common(
    program
      .command("history")
      .description("past deploys (default) or the audit trail (--audit), newest first, filtered and paged")
      .option("--audit", `the audit trail (the last ${AUDIT_WINDOW} entries) instead of deploys`)
      .addOption(new Option("--result <result>", "deploys with this result").choices(["ok", "failed"]))
      .option("--kind <kind>", "deploys of this kind: push, rollback, approved, converge")
      .option(
        "--event <event>",
        "audit entries of this event: received, deploy, rollback-requested, approved, …",
      )
      .option("--digest <prefix>", "only this digest (a prefix is enough)")
      .option("--limit <n>", "entries per page", positiveInt, 20)
      .option("--page <n>", "page number", positiveInt, 1),
  ).action(wrap((s, o: HistoryOptions) => history(s, o)));

  common(
    program
      .command("watch")
      .description(
        "follow the next deploy live: the event, each batch, each minion (pull, start, healthy, switched, draining), " +
          "the outcome; exits 0 when it succeeded, 1 when it failed",
      )
      .option(
        "--digest <digest>",
        "follow the deploy of this digest (ends at once if it is already over)",
        digestArg,
      )
      .option("--timeout <seconds>", "give up (exit 1) after this long", positiveInt),
  ).action(wrap((s, o: { digest?: string; timeout?: number }) => watch(s, o)));

  common(
    program
      .command("rollback")
      .description(
        "redeploy the previous digest (or --to one that ran here) through the health-gated rolling path",
      )
      .option("--to <digest>", "the digest to roll back to", digestArg)
      .option("--watch", "show the deploy's progress live"),
  ).action(
    wrap((s, o: { to?: string; watch?: boolean }) =>
      act(s, "rollback", "saltpipe.rollback", o.to ? [`to=${o.to}`] : [], { watch: o.watch, digest: o.to }),
    ),
  );

  // approve and reject: the push waiting for approval, optionally named.
  const pending = (name: string, what: string) =>
    common(
      program
        .command(name)
        .description(`${what} the push waiting for approval (DIGEST, when given, must be that one)`)
        .argument("[digest]", "the digest waiting for approval", digestArg),
    );

  pending("approve", "deploy")
    .option("--watch", "show the deploy's progress live")
    .action(
      wrap((s, digest: string | undefined, o: { watch?: boolean }) =>
        act(s, "approve", "saltpipe.approve", digest ? [`digest=${digest}`] : [], { watch: o.watch, digest }),
      ),
    );

  pending("reject", "drop")
    .option("--reason <text>", "why (recorded in the audit trail and the notification)")
    .action(
      wrap((s, digest: string | undefined, o: { reason?: string }) =>
        act(
          s,
          "reject",
          "saltpipe.reject",
          [...(digest ? [`digest=${digest}`] : []), ...(o.reason ? [`reason=${o.reason}`] : [])],
          {},
        ),
      ),
    );
  return program;
}

/** The whole command: returns the exit code (never calls process.exit). */
export async function run(argv: readonly string[], deps: Deps = defaultDeps()): Promise<ExitCode> {
  let code: ExitCode = EXIT.OK;
  const program = buildProgram(deps, (c) => (code = c));
  const json = argv.includes("--json");
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.USAGE;
    }
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exit code 0; every usage error with 2.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const exit: ExitCode =
      e instanceof CliError ? e.code : e instanceof UnreachableError ? EXIT.USAGE : EXIT.FAILED;
    const message = e instanceof Error ? e.message : String(e);
    if (json) deps.stdout.write(JSON.stringify({ result: false, error: message, exitCode: exit }) + "\n");
    deps.stderr.write(`saltpipe: ${message}\n`);
    return exit;
  }
}
