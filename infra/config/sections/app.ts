/** `saltpipe:app`: the service the pipeline ships (name, ports, health path, build). */
import * as c from "../checks";
import { DEFAULTS } from "../defaults";
import { APP_KEYS } from "../keys";
import type { AppSpec } from "../spec";

export function parseApp(p: c.Problems, value: unknown): AppSpec {
  const d = DEFAULTS.app;
  const s = c.object(p, "app", value, APP_KEYS);
  return {
    name: c.string(p, "app.name", s.name, { default: d.name, pattern: c.NAME_PATTERN, hint: c.NAME_HINT }),
    port: c.integer(p, "app.port", s.port, { default: d.port, min: 1, max: 65535 }),
    proxyPort: c.integer(p, "app.proxyPort", s.proxyPort, { default: d.proxyPort, min: 1, max: 65535 }),
    healthPath: c.string(p, "app.healthPath", s.healthPath, {
      default: d.healthPath,
      pattern: /^\/[A-Za-z0-9._~\-/]*$/,
      hint: "an absolute URL path such as /healthz",
    }),
    context: c.string(p, "app.context", s.context, { default: d.context }),
    buildArgs: c.stringMap(p, "app.buildArgs", s.buildArgs),
  };
}
