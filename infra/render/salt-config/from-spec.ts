/** The Salt config texts of an environment's master and minions, from its validated spec. */
import type { EnvironmentSpec } from "../../config/spec";
import { renderHookProxyConfig } from "./hook-proxy";
import { renderMasterConfig, type RegistryCheckOptions } from "./master";
import { renderMinionConfig } from "./minion";
import { renderSaltApiConfig } from "./salt-api";
import type { TlsFiles } from "./shared";

/** Master + salt-api + hook proxy options from the validated spec. */
export function masterConfigFromSpec(
  spec: EnvironmentSpec<unknown>,
  webhookSecret: string,
  opts: {
    statesDir?: string;
    pillarDir?: string;
    tls?: TlsFiles;
    /** The hook proxy's listener certificate (salt-api stays plain on loopback). */
    hookTls?: TlsFiles;
    tagPattern?: string;
    /** The `notifySecret` secret (plain; the caller keeps the result secret). */
    notifySecret?: string;
    /** How the master checks pushes with the registry (see {@link RegistryCheckOptions}). */
    registry?: RegistryCheckOptions;
  } = {},
): { master: string; api: string; hookProxy: string } {
  const d = spec.deploy;
  return {
    master: renderMasterConfig({
      appMinions: spec.minions.filter((m) => m.roles.includes("app")).map((m) => m.name),
      registry: opts.registry,
      environment: spec.environment,
      publishPort: spec.salt.publishPort,
      retPort: spec.salt.retPort,
      webhookSecret,
      repository: spec.registry.repository,
      tagPattern: opts.tagPattern,
      batch: spec.deploy.batch,
      deployTimeoutSeconds: Math.max(120, (spec.deploy.healthTimeoutSeconds + spec.deploy.drainSeconds) * 3),
      statesDir: opts.statesDir,
      pillarDir: opts.pillarDir,
      lifecycle: {
        tagPolicy: d.tagPolicy,
        approval: d.approval,
        preSwitch: d.preSwitch,
        notify: { ...d.notify, secret: opts.notifySecret ?? "" },
        reconcileSeconds: d.reconcileSeconds,
      },
    }),
    api: renderSaltApiConfig({ apiPort: spec.salt.apiPort, tls: opts.tls }),
    hookProxy: renderHookProxyConfig({
      hookPort: spec.salt.hookPort,
      apiPort: spec.salt.apiPort,
      webhookSecret,
      tls: opts.hookTls ?? opts.tls,
      apiTls: opts.tls !== undefined,
    }),
  };
}

/** One minion's config from the spec. */
export function minionConfigFromSpec(
  spec: EnvironmentSpec<unknown>,
  minionName: string,
  masterAddress: string,
): string {
  const minion = spec.minions.find((m) => m.name === minionName);
  if (!minion) throw new Error(`minion ${minionName}: not in the spec`);
  return renderMinionConfig({
    id: minion.name,
    master: masterAddress,
    masterPort: spec.salt.retPort,
    publishPort: spec.salt.publishPort,
    environment: spec.environment,
    roles: minion.roles,
  });
}
