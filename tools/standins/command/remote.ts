/**
 * `command:remote:Command` and `command:remote:CopyToRemote` over SSH.
 * Connection changes update a command (they do not replace it) and re-copy nothing by
 * themselves; `triggers` changes replace both (real provider, v1.x).
 */
import * as path from "node:path";
import type { Context, ResourceType } from "../lib/provider";
import { isArchive, isAsset, Props, reveal } from "../lib/wire";
import { commandResource, CommandInputs } from "./lifecycle";
import { checkProxy, Connection, connectionKeys, dial, exec, upload } from "./ssh";

const sshLog = (ctx: Context) => (message: string) => ctx.log("debug", message);

/** `connection.proxy` is one level deeper than the framework checks: its fields are checked here. */
function checkConnection(news: Props): void {
  const problem = checkProxy((reveal(news.connection) as Connection | undefined)?.proxy);
  if (problem) throw new Error(problem);
}

export const remoteCommand = commandResource<CommandInputs & { connection: Connection }>({
  inputs: { connection: connectionKeys },
  check: checkConnection,
  async open(inputs, ctx) {
    const client = await dial(inputs.connection, sshLog(ctx));
    return { run: (command, opts) => exec(client, command, opts), close: () => client.end() };
  },
});

export interface CopyInputs {
  connection: Connection;
  source: Props;
  remotePath: string;
  triggers?: unknown[];
}

/** What to upload: a FileAsset/FileArchive path (relative to the program) or a StringAsset text. */
function sourceOf(source: Props): { path: string } | { text: string } {
  if (isAsset(source) && typeof source.text === "string") return { text: source.text };
  if ((isAsset(source) || isArchive(source)) && typeof source.path === "string")
    return { path: path.resolve(source.path) };
  throw new Error("source must be a FileAsset, a StringAsset or a FileArchive of a path");
}

export const copyToRemote: ResourceType<CopyInputs, CopyInputs> = {
  inputs: { connection: connectionKeys, source: true, remotePath: true, triggers: true },
  outputs: [],
  replaceOnChanges: ["triggers"],
  check(news) {
    checkConnection(news);
    sourceOf(reveal(news.source));
    return news;
  },
  async create(inputs, ctx) {
    await copy(inputs, ctx);
    return { id: `${ctx.name}-${Math.random().toString(16).slice(2, 10)}` };
  },
  async update(_id, olds, news, ctx) {
    // Real provider: copy again only when the source's hash or the remote path changed.
    if (olds.source.hash !== news.source.hash || olds.remotePath !== news.remotePath || !news.source.hash)
      await copy(news, ctx);
  },
  // Like the real provider, the copied file stays on the host when the resource is deleted.
};

async function copy(inputs: CopyInputs, ctx: Context): Promise<void> {
  const client = await dial(inputs.connection, sshLog(ctx));
  try {
    await upload(client, sourceOf(inputs.source), inputs.remotePath);
  } finally {
    client.end();
  }
}
