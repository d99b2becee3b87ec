#!/usr/bin/env node
/**
 * The closing words of `npm run up:local`: where the app is, how to push a new version, and
 * how to watch, inspect, roll back and tear down. Reads the stack outputs (JSON) on stdin.
 * Usage: pulumi stack output --json | node scripts/local-summary.js [--url]
 * --url prints only the app's one URL (the load balancer; a minion's proxy where there is none).
 */
const fs = require("fs");

const outputs = JSON.parse(fs.readFileSync(0, "utf8") || "{}");
const urls = Array.isArray(outputs.appUrls) ? outputs.appUrls : [];
const registry = String(outputs.registry ?? "127.0.0.1:5000/saltpipe/app");
const digest = /sha256:[0-9a-f]{64}/.exec(String(outputs.imageDigest ?? ""))?.[0];
const url = outputs.appUrl ?? urls[0] ?? "(no app URL: is a minion configured?)";
const next = `local-${new Date().toISOString().slice(0, 16).replace(/[-:T]/g, "")}`;

if (process.argv.includes("--url")) {
  process.stdout.write(url + "\n");
  process.exit(0);
}

const lines = [
  "",
  "The local environment is up.",
  "",
  `  Open the app:     ${url}`,
  ...(urls.length > 0 ? [`  (each minion's proxy, for diagnosis: ${urls.join("  ")})`] : []),
  `  What it runs:     curl ${url}version`,
  ...(digest ? [`  Deployed image:   ${digest}`] : []),
  "",
  "Push a new version (the registry notifies the master, which deploys it minion by minion);",
  "only the pipeline may push, so log in once as the pipeline (its password stays in the stack's secrets):",
  "  npm run login:local",
  `  docker build -t ${registry}:${next} --build-arg APP_VERSION=${next} app`,
  `  docker push ${registry}:${next}`,
  "",
  "Then:",
  "  watch it deploy:    npm run watch -- --stack local          (live: batches, minions, outcome)",
  "  the environment:    npm run status -- --stack local",
  "  past deploys:       npm run history -- --stack local",
  "  roll back:          npm run rollback -- --stack local --watch",
  "  tear it down:       npm run destroy:local",
  "",
  "(`npx saltpipe <command> --stack local` is the same command; `npx saltpipe --help` lists them.)",
];
process.stdout.write(lines.join("\n") + "\n");
