/** `saltpipe:local`: the local twin's images, Docker name prefix and published ports. */
import * as c from "../checks";
import { DEFAULTS } from "../defaults";
import { LOCAL_KEYS } from "../keys";
import type { LocalSpec } from "../spec";

export function parseLocal(p: c.Problems, value: unknown, stack: string): LocalSpec {
  const d = DEFAULTS.local;
  const s = c.object(p, "local", value, LOCAL_KEYS);
  const appPortBase = c.integer(p, "local.appPortBase", s.appPortBase, {
    default: d.appPortBase,
    min: 1024,
    max: 65000,
  });
  const lbPort = c.integer(p, "local.lbPort", s.lbPort, {
    default: appPortBase + d.lbPortOffset,
    min: 1024,
    max: 65535,
  });
  if (lbPort >= appPortBase && lbPort < appPortBase + 100)
    p.add("local.lbPort", `${lbPort} is one of the minions' ports (local.appPortBase ${appPortBase} + N)`);
  if (lbPort >= appPortBase + 1000 && lbPort < appPortBase + 1100)
    p.add(
      "local.lbPort",
      `${lbPort} is one of the hosts' SSH ports (local.appPortBase ${appPortBase} + 1000 + N)`,
    );
  return {
    lbPort,
    lbBaseImage: c.string(p, "local.lbBaseImage", s.lbBaseImage, { default: d.lbBaseImage }),
    baseImage: c.string(p, "local.baseImage", s.baseImage, { default: d.baseImage }),
    registryBaseImage: c.string(p, "local.registryBaseImage", s.registryBaseImage, {
      default: d.registryBaseImage,
    }),
    namePrefix: c.string(p, "local.namePrefix", s.namePrefix, {
      default: `saltpipe-${stack}`,
      pattern: /^[a-z0-9][a-z0-9_.-]*$/,
      hint: "a Docker name prefix",
    }),
    appPortBase,
  };
}
