/** What the image is built from: the git commit and its time (not "now": builds stay reproducible). */
import { execFileSync } from "child_process";

export interface SourceRevision {
  /** Short commit id, with `-dirty` when the work tree has changes. */
  readonly commit: string;
  /** Commit time, ISO 8601. */
  readonly time: string;
}

function git(cwd: string, ...args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

export function sourceRevision(dir: string): SourceRevision {
  const commit = git(dir, "rev-parse", "--short=12", "HEAD");
  if (!commit) return { commit: "nogit", time: "1970-01-01T00:00:00Z" };
  const dirty = git(dir, "status", "--porcelain", "--", ".") ? "-dirty" : "";
  return {
    commit: `${commit}${dirty}`,
    time: git(dir, "log", "-1", "--format=%cI") ?? "1970-01-01T00:00:00Z",
  };
}
