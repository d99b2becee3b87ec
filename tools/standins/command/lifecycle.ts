/**
 * The life cycle shared by `command:local:Command` and `command:remote:Command`, as the real
 * provider documents it:
 *   - create runs `create`; any input change other than `triggers` (a remote command's
 *     `connection` included) runs `update`, or `create` again when there is no `update`;
 *   - `triggers` changes replace the resource: `create` for the new one, then `delete` for the old;
 *   - `delete` runs on destroy and on replacement;
 *   - with `addPreviousOutputInEnv` (default true) the previous stdout/stderr are in
 *     PULUMI_COMMAND_STDOUT / PULUMI_COMMAND_STDERR;
 *   - stdout/stderr are the outputs, less one trailing newline; `logging` picks what is streamed.
 * Stricter than the real provider: when the command, stdin or environment is secret, stdout and
 * stderr are secret too and are neither streamed to the log nor put into error messages.
 */
import type { Context, InputSpec, ResourceType } from "../lib/provider";
import type { Props } from "../lib/wire";
import type { ExecOptions, ExecResult } from "./ssh";

export interface CommandInputs {
  create?: string;
  update?: string;
  delete?: string;
  stdin?: string;
  environment?: Record<string, string>;
  logging?: "stdout" | "stderr" | "stdoutAndStderr" | "none";
  addPreviousOutputInEnv?: boolean;
  triggers?: unknown[];
}

export interface CommandState extends CommandInputs {
  stdout?: string;
  stderr?: string;
}

/** Runs one command where the resource lives (a local shell, an SSH session). */
export interface Runner {
  run(command: string, opts: ExecOptions): Promise<ExecResult>;
  close(): void;
}

const commandInputs: InputSpec = {
  create: true,
  update: true,
  delete: true,
  stdin: true,
  environment: true,
  logging: true,
  addPreviousOutputInEnv: true,
  triggers: true,
};
const secretSources = ["create", "update", "stdin", "environment"];

export function commandResource<I extends CommandInputs>(spec: {
  /** Inputs beyond the common ones (e.g. `connection`, `dir`). */
  inputs: InputSpec;
  /** Rejects inputs beyond the framework's checks (throw with the property's name). */
  check?(news: Props): void;
  open(inputs: I, ctx: Context): Promise<Runner>;
}): ResourceType<I, CommandState & I> {
  async function run(
    state: I & CommandState,
    command: string,
    ctx: Context,
  ): Promise<Pick<CommandState, "stdout" | "stderr">> {
    const quiet = secretSources.some((k) => ctx.secretInputs.has(k));
    const logging = quiet ? "none" : (state.logging ?? "stdoutAndStderr");
    const env = { ...state.environment };
    if (state.addPreviousOutputInEnv !== false) {
      if (state.stdout) env.PULUMI_COMMAND_STDOUT = state.stdout;
      if (state.stderr) env.PULUMI_COMMAND_STDERR = state.stderr;
    }
    const stream = (on: boolean) => (on ? lineLogger(ctx) : undefined);
    const runner = await spec.open(state, ctx);
    try {
      const out = stream(logging === "stdout" || logging === "stdoutAndStderr");
      const err = stream(logging === "stderr" || logging === "stdoutAndStderr");
      const result = await runner.run(command, {
        env,
        stdin: state.stdin || undefined,
        onStdout: out?.write,
        onStderr: err?.write,
      });
      out?.flush();
      err?.flush();
      if (result.code !== 0) {
        const status =
          result.code === undefined
            ? `was killed by signal ${result.signal}`
            : `exited with status ${result.code}`;
        const detail = quiet
          ? "(command and output are secret)"
          : `running ${JSON.stringify(command)}:\n${result.stdout}${result.stderr}`;
        throw new Error(`Process ${status}: ${detail}`);
      }
      return { stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
    } finally {
      runner.close();
    }
  }

  return {
    inputs: { ...commandInputs, ...spec.inputs },
    outputs: ["stdout", "stderr"],
    replaceOnChanges: ["triggers"],
    secretOutputs: (secrets) => (secretSources.some((k) => secrets.has(k)) ? ["stdout", "stderr"] : []),
    check(news) {
      spec.check?.(news);
      return news;
    },
    async create(inputs, ctx) {
      const id = `${ctx.name}-${Math.random().toString(16).slice(2, 10)}`;
      return { id, outs: inputs.create ? await run(inputs, inputs.create, ctx) : {} };
    },
    async update(_id, olds, news, ctx) {
      const command = news.update ?? news.create;
      return command ? run({ ...news, stdout: olds.stdout, stderr: olds.stderr }, command, ctx) : {};
    },
    async delete(_id, state, ctx) {
      if (state.delete) await run(state, state.delete, ctx);
    },
  };
}

/** Streams output to the engine log line by line. */
function lineLogger(ctx: Context) {
  let pending = "";
  return {
    write: (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      for (const line of lines) ctx.log("info", line);
    },
    flush: () => {
      if (pending) ctx.log("info", pending);
      pending = "";
    },
  };
}
