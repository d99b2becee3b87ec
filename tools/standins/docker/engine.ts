/**
 * The Docker engine the docker stand-in drives: the API through dockerode (DOCKER_HOST or the
 * local socket, as the real provider), and the docker CLI for image builds (it brings
 * BuildKit, .dockerignore and Dockerfiles outside the context for free).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import Docker from "dockerode";

export const docker = new Docker();

export const isNotFound = (err: unknown): boolean => (err as { statusCode?: number }).statusCode === 404;

/** The CLI that matches the engine: SALTPIPE_DOCKER_CLI, else the engine package's own client, else `docker`. */
const cli =
  process.env.SALTPIPE_DOCKER_CLI ?? (fs.existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker");

/** Run the docker CLI, streaming its output lines to `onLine`; rejects with the output's tail on failure. */
export function dockerCli(
  args: string[],
  opts: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let pending = "";
    const take = (d: Buffer) => {
      output += d.toString();
      const lines = (pending + d.toString()).split("\n");
      pending = lines.pop()!;
      lines.forEach((l) => opts.onLine?.(l));
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", reject);
    child.on("close", (code) => {
      if (pending) opts.onLine?.(pending);
      if (code === 0) resolve(output);
      else
        reject(
          new Error(`docker ${args[0]} failed (exit ${code}):\n${output.split("\n").slice(-30).join("\n")}`),
        );
    });
  });
}

/** Follow a pull/push progress stream to its end; rejects on an error message in it. */
export function followProgress(
  stream: NodeJS.ReadableStream,
  onEvent: (e: { status?: string; aux?: { Digest?: string } }) => void = () => undefined,
): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: { error?: string }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      },
      onEvent,
    );
  });
}
