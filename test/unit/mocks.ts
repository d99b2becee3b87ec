/**
 * Pulumi mocks for unit tests: every registered resource is recorded by type, every
 * invoke must be one we expect (anything else throws, so a missing mock cannot pass).
 */
import * as pulumi from "@pulumi/pulumi";
import { setHostKeyPreflight } from "../../infra/hosts/host";
import { stackConfig, testSecretsFor } from "./fixtures";
import { ed25519KeyPair } from "../support/ssh-keys";

export interface Recorded {
  readonly type: string;
  readonly name: string;
  /** Inputs as the engine would receive them, secrets unwrapped. */
  readonly inputs: Record<string, any>;
  /** Top-level input names that arrived as secrets (so state holds them encrypted). */
  readonly secretInputs: ReadonlySet<string>;
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE
  );
}

function containsSecret(value: unknown): boolean {
  if (isSecretEnvelope(value)) return true;
  if (typeof value !== "object" || value === null) return false;
  return Object.values(value).some(containsSecret);
}

function unwrapSecrets(value: unknown): unknown {
  if (isSecretEnvelope(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export const recorded: Recorded[] = [];

/** Fake outputs the real providers would compute. */
function outputsFor(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const i = args.inputs;
  switch (args.type) {
    case "command:remote:Command":
      return { ...i, stdout: i.create?.includes("bash") ? fakeStdout(args.name) : "", stderr: "" };
    case "command:local:Command":
      // Host-key collection prints the host's public keys (ssh-keyscan or the container's .pub files).
      return { ...i, stdout: args.name.endsWith("-host-key") ? fakeHostKeys(args.name) : "ok", stderr: "" };
    case "tls:index/privateKey:PrivateKey": {
      const pair = ed25519KeyPair(args.name);
      return { ...i, privateKeyOpenssh: pair.private, publicKeyOpenssh: `${pair.public}\n` };
    }
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        ...i,
        arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${i.name}`,
        dnsName: `${i.name}-123.eu-west-1.elb.amazonaws.com`,
      };
    case "aws:lb/targetGroup:TargetGroup":
      return { ...i, arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/${i.name}` };
    case "docker:index/container:Container":
      return {
        ...i,
        ports: (i.ports ?? []).map((p: any, n: number) => ({ ...p, external: p.external ?? 32000 + n })),
      };
    case "docker:index/image:Image":
      return {
        ...i,
        repoDigest: `${String(i.imageName).split(":").slice(0, -1).join(":") || i.imageName}@sha256:${"ab".repeat(32)}`,
      };
    case "aws:ec2/instance:Instance":
      return {
        ...i,
        publicIp: i.associatePublicIpAddress === false ? "" : `198.51.100.${recorded.length % 250}`,
        privateIp: `10.42.${i.associatePublicIpAddress === false ? 129 : 1}.${recorded.length % 250}`,
      };
    case "aws:ecr/repository:Repository":
      return {
        ...i,
        repositoryUrl: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${i.name}`,
        registryId: "123456789012",
        arn: `arn:aws:ecr:eu-west-1:123456789012:repository/${i.name}`,
      };
    case "aws:sqs/queue:Queue":
      return {
        ...i,
        name: `${args.name}-queue`,
        arn: `arn:aws:sqs:eu-west-1:123456789012:${args.name}`,
        url: `https://sqs/${args.name}`,
      };
    case "aws:cloudwatch/eventRule:EventRule":
      return { ...i, arn: `arn:aws:events:eu-west-1:123456789012:rule/${args.name}` };
    default:
      return { ...i, name: i.name ?? args.name };
  }
}

/** What a host-key collection prints: an RSA key (never pinned) and an ed25519 key of this host. */
export function fakeHostKeys(name: string): string {
  const ed25519 = Buffer.alloc(51);
  ed25519.writeUInt32BE(11, 0);
  ed25519.write("ssh-ed25519", 4, "latin1");
  ed25519.writeUInt32BE(32, 15);
  Buffer.from(name.padEnd(32, ".").slice(0, 32)).copy(ed25519, 19);
  const rsa = Buffer.alloc(11);
  rsa.writeUInt32BE(7, 0);
  rsa.write("ssh-rsa", 4, "latin1");
  return `127.0.0.1 ssh-rsa ${rsa.toString("base64")}\n127.0.0.1 ssh-ed25519 ${ed25519.toString("base64")}\n`;
}

/** Key scripts print a public key; everything else prints a line. */
function fakeStdout(name: string): string {
  if (name.endsWith("-keys"))
    return `-----BEGIN PUBLIC KEY-----\nMIIBIjAN${Buffer.from(name).toString("base64").replace(/=/g, "")}\n-----END PUBLIC KEY-----\n`;
  if (name.endsWith("-hook-tls")) return FAKE_HOOK_CA;
  return "ok\n";
}

/** What the master's hook TLS script prints: its CA certificate (a stand-in PEM). */
export const FAKE_HOOK_CA = "-----BEGIN CERTIFICATE-----\nMIIBfakeHookCa\n-----END CERTIFICATE-----\n";

const INVOKES: Record<string, (args: Record<string, any>) => Record<string, unknown>> = {
  "aws:ec2/getAmi:getAmi": (args) => ({ id: `ami-${String(args.owners?.[0]).slice(0, 8)}`, ...args }),
  "aws:ecr/getAuthorizationToken:getAuthorizationToken": () => ({
    userName: "AWS",
    password: "ecr-token-password",
    proxyEndpoint: "https://ecr",
  }),
};

export function setupMocks(
  stack = "dev",
  config: Record<string, string> = {},
  secretKeys: string[] = [],
): void {
  // The hosts of a mocked program do not exist: no live host-key check.
  setHostKeyPreflight(false);
  pulumi.runtime.setAllConfig(config, secretKeys);
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = unwrapSecrets(args.inputs) as Record<string, unknown>;
        const secretInputs = new Set(Object.keys(args.inputs).filter((k) => containsSecret(args.inputs[k])));
        recorded.push({ type: args.type, name: args.name, inputs, secretInputs });
        return { id: `${args.name}-id`, state: outputsFor({ ...args, inputs }) };
      },
      call(args) {
        const invoke = INVOKES[args.token];
        if (!invoke) throw new Error(`Mock not implemented: ${args.token}`);
        return invoke(args.inputs);
      },
    },
    "saltpipe",
    stack,
    false,
  );
}

export function resetRecorded(): void {
  recorded.length = 0;
}

export function ofType(type: string): Recorded[] {
  return recorded.filter((r) => r.type === type);
}

/** The resource named `name` (of `type`, when a component and a resource share the name). */
export function named(name: string, type?: string): Recorded {
  const found = recorded.find((r) => r.name === name && (type === undefined || r.type === type));
  if (!found) throw new Error(`no resource named ${name}; have: ${recorded.map((r) => r.name).join(", ")}`);
  return found;
}

/** Resolves an Output in tests. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Whether an Output is marked secret. */
export function isSecret(output: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(output);
}

/** Waits until no new resource has registered for a while (mocks resolve asynchronously). */
export async function settle(): Promise<void> {
  let quietTicks = 0;
  let seen = -1;
  while (quietTicks < 5) {
    await new Promise((r) => setTimeout(r, 5));
    quietTicks = recorded.length === seen ? quietTicks + 1 : 0;
    seen = recorded.length;
  }
}

/** Resource name → names of the resources it explicitly depends on, recorded by a transformation. */
export const dependencies = new Map<string, string[]>();

/** Pass as `transformations` on the component under test: children inherit it. */
export const recordDependencies: pulumi.ResourceTransformation = (args) => {
  const deps = args.opts.dependsOn;
  const list = (Array.isArray(deps) ? deps : deps ? [deps] : []) as unknown[];
  dependencies.set(
    args.name,
    list.map((r) => (r as { __name?: string }).__name ?? "?"),
  );
  return undefined;
};

export function resetAll(): void {
  resetRecorded();
  dependencies.clear();
}

/**
 * The mock engine runs stack `stack` from its committed file (plus `overrides`), with the
 * throwaway secrets handed over as secrets: the webhook secret, the SSH key and, on a local
 * cloud, the local registry's push password.
 */
export function useStackFile(stack: string, overrides: Record<string, unknown> = {}): void {
  const raw = { ...stackConfig(stack), ...overrides };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw))
    config[`saltpipe:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  const secrets = testSecretsFor(raw, stack);
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    config[`saltpipe:${key}`] = value;
    secretKeys.push(`saltpipe:${key}`);
  }
  setupMocks(stack, config, secretKeys);
}
