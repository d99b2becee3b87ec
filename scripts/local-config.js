#!/usr/bin/env node
/**
 * Keeps the local stack's working config file (.state/Pulumi.local.yaml) in step with the
 * committed Pulumi.local.yaml: plain keys come from the committed file; the secrets this
 * machine generated (and the passphrase salt that encrypts them) are kept.
 * Usage: node scripts/local-config.js COMMITTED WORKING
 * SALTPIPE_CONFIG_OVERRIDES: a JSON object of `saltpipe` keys merged over the committed ones.
 */
const fs = require("fs");
const { parse, stringify } = require("yaml");

const [committedPath, workingPath] = process.argv.slice(2);
const committed = parse(fs.readFileSync(committedPath, "utf8")) ?? {};
const working = fs.existsSync(workingPath) ? (parse(fs.readFileSync(workingPath, "utf8")) ?? {}) : {};

const isSecure = (value) => value !== null && typeof value === "object" && "secure" in value;
const kept = Object.fromEntries(Object.entries(working.config ?? {}).filter(([, value]) => isSecure(value)));
const overrides = Object.fromEntries(
  Object.entries(JSON.parse(process.env.SALTPIPE_CONFIG_OVERRIDES || "{}")).map(([key, value]) => [
    `saltpipe:${key}`,
    value,
  ]),
);
const merged = {
  ...(working.encryptionsalt ? { encryptionsalt: working.encryptionsalt } : {}),
  config: { ...committed.config, ...overrides, ...kept },
};
fs.writeFileSync(workingPath, stringify(merged), { mode: 0o600 });
