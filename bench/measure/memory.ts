/** Host memory of a minion after the deploys. */
import * as fs from "fs";
import { docker, type LocalStack } from "../../test/e2e/support/stack";
import { HOST } from "../lib/config";

/**
 * Memory of minion-1's host container, MiB: its cgroup's usage (cgroup v1 or v2 on this
 * machine; `docker stats` shows 0 for these systemd containers here), page cache included.
 */
export async function minionMemory(stack: LocalStack): Promise<number | undefined> {
  const id = (await docker("inspect", "-f", "{{.Id}}", stack.container(HOST)).catch(() => "")).trim();
  for (const file of [
    `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
    `/sys/fs/cgroup/docker/${id}/memory.current`,
  ]) {
    if (id && fs.existsSync(file))
      return Math.round(Number(fs.readFileSync(file, "utf8").trim()) / 1024 / 1024);
  }
  return undefined;
}
