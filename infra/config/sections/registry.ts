/**
 * `saltpipe:registry` and its push password: ECR on aws, the stack's own registry on local, an
 * external one anywhere.
 */
import * as c from "../checks";
import { DEFAULTS } from "../defaults";
import { REGISTRY_KEYS } from "../keys";
import type { Cloud, RegistrySpec } from "../spec";

const REPOSITORY_PATTERN = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

export function parseRegistry(
  p: c.Problems,
  value: unknown,
  cloud: Cloud,
  /** The secret `registryPassword`, when set as a secret. */
  password: string | undefined,
  /** `registryPassword` set in plain text (refused elsewhere: not also reported missing here). */
  plainPassword: boolean,
): RegistrySpec {
  const d = DEFAULTS.registry;
  const s = c.object(p, "registry", value, REGISTRY_KEYS);
  const server = { pattern: /^[A-Za-z0-9.-]+(:\d+)?$/, hint: "host[:port]" };
  const fallbackKind = cloud === "aws" ? "ecr" : cloud === "local" ? "local" : "external";
  const kind = c.oneOf(p, "registry.kind", s.kind, ["ecr", "local", "external"], fallbackKind);
  if (kind === "ecr" && cloud !== "aws") p.add("registry.kind", `"ecr" needs cloud "aws"`);
  if (kind === "local" && cloud !== "local") p.add("registry.kind", `"local" needs cloud "local"`);
  const spec: RegistrySpec = {
    kind,
    repository: c.string(p, "registry.repository", s.repository, {
      default: d.repository,
      pattern: REPOSITORY_PATTERN,
      hint: "lowercase path such as team/app",
    }),
    server: kind === "external" ? c.string(p, "registry.server", s.server, server) : undefined,
    pullServer:
      kind === "external" ? c.optionalString(p, "registry.pullServer", s.pullServer, server) : undefined,
    insecure: c.boolean(p, "registry.insecure", s.insecure, false),
    username: c.optionalString(p, "registry.username", s.username),
    port: c.integer(p, "registry.port", s.port, { default: d.port, min: 1, max: 65535 }),
    keepImages: c.integer(p, "registry.keepImages", s.keepImages, {
      default: d.keepImages,
      min: 1,
      max: 1000,
    }),
  };
  for (const key of ["server", "pullServer", "insecure"]) {
    if (kind !== "external" && s[key] !== undefined)
      p.add(`registry.${key}`, `only applies to kind "external"`);
  }
  if (kind === "local" && spec.username !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(spec.username))
    p.add(
      "registry.username",
      `invalid value ${JSON.stringify(spec.username)} (the local registry's push user: letters, digits, . _ -, at most 64)`,
    );
  if (kind === "local" && password === undefined && !plainPassword) {
    p.add(
      "registryPassword",
      'is required for the local registry: only the pipeline pushes, with this password (scripts/local-stack.sh makes one; or pulumi config set --secret registryPassword "$(openssl rand -hex 32)")',
    );
  } else if (kind === "local" && password !== undefined && password.length < 16) {
    p.add("registryPassword", "must be at least 16 characters (openssl rand -hex 32)");
  }
  if (kind !== "local" && spec.username !== undefined && password === undefined && !plainPassword) {
    p.add(
      "registryPassword",
      "is required when registry.username is set (pulumi config set --secret registryPassword …)",
    );
  }
  return spec;
}
