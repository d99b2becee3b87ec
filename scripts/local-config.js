#!/usr/bin/env node
/**
 * Keeps the local stack's working config file (.state/Pulumi.local.yaml) in step with the
 * committed Pulumi.local.yaml: plain keys come from the committed file; the secrets this
 * machine generated (and the passphrase salt that encrypts them) are kept.
 * Usage: node scripts/local-config.js COMMITTED WORKING
 * SALTPIPE_CONFIG_OVERRIDES: a JSON object of `saltpipe` keys merged over the committed ones.
 * SALTPIPE_IMAGE_PREFIX: the base images' prefix (scripts/base-image.sh; default `saltpipe`);
 * another one makes the stack build its host, registry and app images FROM that isolated set
 * (a measurement from an empty cache beside other users of the machine's images).
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
const config = { ...committed.config, ...overrides, ...kept };
const prefix = process.env.SALTPIPE_IMAGE_PREFIX;
if (prefix && prefix !== "saltpipe") {
  const base = (flavour) => `${prefix}/debian-${flavour}:${process.env.SALTPIPE_DEBIAN_SUITE || "bookworm"}`;
  const local = config["saltpipe:local"] ?? {};
  config["saltpipe:local"] = { baseImage: base("host"), registryBaseImage: base("registry"), ...local };
  const app = config["saltpipe:app"] ?? {};
  const buildArgs = { BASE_IMAGE: base("runtime"), BUILD_IMAGE: base("node-build"), ...app.buildArgs };
  config["saltpipe:app"] = { ...app, buildArgs };
}
const merged = {
  ...(working.encryptionsalt ? { encryptionsalt: working.encryptionsalt } : {}),
  config,
};
fs.writeFileSync(workingPath, stringify(merged), { mode: 0o600 });
