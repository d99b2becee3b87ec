/** Reads a local directory (the Salt state tree) into files to upload, in a stable order. */
import * as fs from "fs";
import * as path from "path";
import type { HostFile } from "../render/bootstrap";

const SKIPPED = new Set([".git", "node_modules", "__pycache__", ".keep"]);

export function readTree(root: string): HostFile[] {
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`saltpipe: state tree ${root} is not a directory`);
  }
  const files: HostFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      if (SKIPPED.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        files.push({ path: path.relative(root, full), content: fs.readFileSync(full, "utf8"), mode: "0644" });
      }
    }
  };
  walk(root);
  return files;
}
