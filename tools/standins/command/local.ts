/** `command:local:Command`: the command runs through `interpreter` (default /bin/sh -c) in `dir`. */
import { spawn } from "node:child_process";
import { commandResource, CommandInputs } from "./lifecycle";
import type { ExecOptions, ExecResult } from "./ssh";

type LocalInputs = CommandInputs & { dir?: string; interpreter?: string[] };

function runLocal(inputs: LocalInputs, command: string, opts: ExecOptions): Promise<ExecResult> {
  const [shell, ...args] = inputs.interpreter?.length ? inputs.interpreter : ["/bin/sh", "-c"];
  return new Promise((resolve, reject) => {
    const child = spawn(shell, [...args, command], {
      cwd: inputs.dir || undefined,
      env: { ...process.env, ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(d.toString());
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(d.toString());
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ stdout, stderr, code: code ?? undefined, signal: signal ?? undefined }),
    );
    child.stdin.on("error", () => undefined); // EPIPE: the command exited without reading its stdin
    child.stdin.end(opts.stdin ?? "");
  });
}

export const localCommand = commandResource<LocalInputs>({
  inputs: { dir: true, interpreter: true },
  async open(inputs) {
    return { run: (command, opts) => runLocal(inputs, command, opts), close: () => undefined };
  },
});
