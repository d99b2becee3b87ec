/** `saltpipe:salt`: the Salt release, how it is installed, and the master's ports. */
import * as c from "../checks";
import { DEFAULTS, SALT_VERSION_PATTERN } from "../defaults";
import { SALT_KEYS } from "../keys";
import type { Cloud, SaltSpec } from "../spec";

export function parseSalt(p: c.Problems, value: unknown, cloud: Cloud): SaltSpec {
  const d = DEFAULTS.salt;
  const s = c.object(p, "salt", value, SALT_KEYS);
  const url = { pattern: /^https?:\/\/\S+$/, hint: "an http(s) URL" };
  const port = (key: string, fallback: number) =>
    c.integer(p, `salt.${key}`, s[key], { default: fallback, min: 1, max: 65535 });
  const spec: SaltSpec = {
    version: c.string(p, "salt.version", s.version, {
      default: d.version,
      pattern: SALT_VERSION_PATTERN,
      hint: "an exact release such as 3008.4",
    }),
    installMethod: c.oneOf(
      p,
      "salt.installMethod",
      s.installMethod,
      ["onedir", "pip"],
      cloud === "local" ? "pip" : "onedir",
    ),
    pipIndexUrl: c.optionalString(p, "salt.pipIndexUrl", s.pipIndexUrl, url),
    wheelhouseUrl: c.optionalString(p, "salt.wheelhouseUrl", s.wheelhouseUrl, url),
    wheelhouseDir: c.optionalString(p, "salt.wheelhouseDir", s.wheelhouseDir),
    extraPackages: c.stringList(p, "salt.extraPackages", s.extraPackages, d.extraPackages),
    publishPort: port("publishPort", d.publishPort),
    retPort: port("retPort", d.retPort),
    apiPort: port("apiPort", d.apiPort),
    hookPort: port("hookPort", d.hookPort),
  };
  const sources = [spec.pipIndexUrl, spec.wheelhouseUrl, spec.wheelhouseDir].filter((x) => x !== undefined);
  if (spec.installMethod === "onedir" && sources.length > 0) {
    p.add(
      "salt.installMethod",
      `"onedir" ignores pipIndexUrl/wheelhouseUrl/wheelhouseDir: set installMethod to "pip"`,
    );
  }
  if (sources.length > 1) p.add("salt", "set at most one of pipIndexUrl, wheelhouseUrl, wheelhouseDir");
  const ports = [spec.publishPort, spec.retPort, spec.apiPort, spec.hookPort];
  if (new Set(ports).size !== ports.length)
    p.add("salt", "publishPort, retPort, apiPort and hookPort must differ");
  return spec;
}
