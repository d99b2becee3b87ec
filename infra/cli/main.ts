#!/usr/bin/env node
/** The `saltpipe` bin (package.json): see infra/cli/program.ts. */
import { run } from "./program";

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`saltpipe: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
