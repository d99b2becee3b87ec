/** The files an environment's master and minions receive, from the spec (Pulumi secrets stay secret). */
import * as pulumi from "@pulumi/pulumi";
import type { Spec } from "../config/read";
import type { Host } from "../hosts/host";
import type { HostFile } from "../render/bootstrap";
import {
  DEFAULT_HOOK_PROXY_CONFIG_PATH,
  DEFAULT_MASTER_CONFIG_PATH,
  DEFAULT_MINION_CONFIG_PATH,
  DEFAULT_PILLAR_DIR,
  DEFAULT_SALT_API_CONFIG_PATH,
  HOOK_URL_PATH,
  masterConfigFromSpec,
  minionConfigFromSpec,
  type RegistryCheckOptions,
} from "../render/salt-config";
import { PILLAR_FILE, pillarFromSpec } from "../render/salt-pillar";
import { renderSqsEngineConfig, SQS_ENGINE_CONFIG_PATH } from "../render/sqs-engine";
import { HOOK_TLS_FILES, type HookTlsScriptOptions } from "../render/tls";

/** Where the app's images come from, as this machine and the minions see it. */
export interface RegistryEndpoint {
  /** registry-host/repository this program pushes to. */
  readonly pushRepository: pulumi.Input<string>;
  /** registry-host/repository the minions pull from. */
  readonly pullRepository: pulumi.Input<string>;
  /** Plain-HTTP registry (the local one): minions' engines must allow it. */
  readonly insecure: boolean;
  /** SQS transport: the queue the master's `saltpipe_sqs` engine reads push events from. */
  readonly sqs?: SqsEndpoint;
  /** Minions pull with the Docker credential helper for ECR (`ecr-login`), no password. */
  readonly credentialHelper?: "ecr-login";
}

/** The SQS queue and what the intake checks events against. */
export interface SqsEndpoint {
  readonly queueUrl: pulumi.Input<string>;
  readonly region: string;
  /** The stack's account (events from any other are refused). */
  readonly account: pulumi.Input<string>;
  /** Emulators/testing only. */
  readonly endpointUrl?: string;
  readonly metadataEndpoint?: string;
  readonly waitSeconds?: number;
}

/** Registry host[:port] of a `host/repository` reference. */
function serverOf(repository: string): string {
  return repository.split("/")[0];
}

export function masterFiles(spec: Spec, registry: RegistryEndpoint): pulumi.Output<HostFile[]> {
  const secrets = [
    spec.secrets.webhookSecret,
    spec.secrets.registryPassword ?? pulumi.output(undefined),
    spec.secrets.notifySecret ?? pulumi.output(undefined),
    spec.secrets.hookTlsKey ?? pulumi.output(undefined),
  ];
  return pulumi
    .all([...secrets, registry.pullRepository, registry.sqs?.queueUrl, registry.sqs?.account])
    .apply(
      ([webhookSecret, registryPassword, notifySecret, hookTlsKey, pullRepository, queueUrl, account]) => {
        const server = serverOf(pullRepository as string);
        // The local registry's password is the pipeline's push credential: minions pull
        // anonymously, so neither their pillar nor the master's registry check gets it.
        const pullPassword =
          spec.registry.kind === "local" ? undefined : (registryPassword as string | undefined);
        const config = masterConfigFromSpec(spec, webhookSecret as string, {
          notifySecret: notifySecret as string | undefined,
          hookTls: HOOK_TLS_FILES,
          registry: registryCheck(spec, registry, server, pullPassword),
        });
        const files: HostFile[] = [
          { path: DEFAULT_MASTER_CONFIG_PATH, content: config.master, mode: "0600" },
          { path: DEFAULT_SALT_API_CONFIG_PATH, content: config.api, mode: "0644" },
          // Holds the webhook token (nginx compares it): root only.
          { path: DEFAULT_HOOK_PROXY_CONFIG_PATH, content: config.hookProxy, mode: "0600" },
          {
            path: `${DEFAULT_PILLAR_DIR}/${PILLAR_FILE}`,
            content: pillarFromSpec(
              spec,
              server,
              pullPassword,
              registry.insecure ? { "insecure-registries": [server] } : undefined,
              registry.credentialHelper,
            ),
            mode: "0600",
          },
        ];
        if (registry.sqs) {
          // ECR push events: the master long-polls its queue with its instance role (no inbound port).
          const content = renderSqsEngineConfig({
            ...registry.sqs,
            queueUrl: queueUrl as string,
            account: account as string,
          });
          files.push({ path: SQS_ENGINE_CONFIG_PATH, content, mode: "0644" });
        }
        // The hook's certificate from stack config; without one the master makes its own (hookTlsOf).
        if (spec.hookTls) {
          files.push(
            { path: HOOK_TLS_FILES.certFile, content: spec.hookTls.certificate, mode: "0644" },
            { path: HOOK_TLS_FILES.keyFile, content: hookTlsKey as string, mode: "0600" },
            { path: HOOK_TLS_FILES.caFile, content: spec.hookTls.ca, mode: "0644" },
          );
        }
        return files;
      },
    );
}

/**
 * How the master asks the registry whether a pushed digest exists before any minion job:
 * ECR through its API with the instance role; otherwise the registry's HTTP API where the
 * minions pull from (the local registry answers reads anonymously; an external one gets
 * `registry.username` and the `registryPassword` secret).
 */
function registryCheck(
  spec: Spec,
  registry: RegistryEndpoint,
  server: string,
  password: string | undefined,
): RegistryCheckOptions {
  // ECR (the minions pull with its credential helper): its API, in the stack's region.
  if (registry.credentialHelper === "ecr-login") return { kind: "ecr", region: spec.aws!.region };
  const scheme = registry.insecure ? "http" : "https";
  return {
    kind: "http",
    url: `${scheme}://${server}`,
    ...(spec.registry.username && password ? { username: spec.registry.username, password } : {}),
  };
}

export function minionFiles(spec: Spec, minionName: string, masterAddress: string): HostFile[] {
  return [
    {
      path: DEFAULT_MINION_CONFIG_PATH,
      content: minionConfigFromSpec(spec, minionName, masterAddress),
      mode: "0644",
    },
  ];
}

/** URL the registry posts to: the hook proxy on the master, TLS only. */
export function hookUrl(spec: Spec, master: Host): pulumi.Output<string> {
  return pulumi.interpolate`https://${master.privateAddress}:${spec.salt.hookPort}${HOOK_URL_PATH}`;
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/**
 * What the master's own certificate is made for when the stack config gives none: the
 * address the registry posts to (a name or an IP), or undefined when config gives one.
 */
export function hookTlsOf(spec: Spec, master: Host): pulumi.Output<HookTlsScriptOptions> | undefined {
  if (spec.hookTls) return undefined;
  return master.privateAddress.apply((address) => ({
    dnsNames: IPV4.test(address) ? [master.name] : [address],
    ipAddresses: IPV4.test(address) ? [address] : [],
    caName: spec.environment,
  }));
}
