/**
 * What the stack tests share: building a committed stack under Pulumi mocks, and reading back
 * its security-group rules, uploaded files and plain (non-secret) inputs.
 */
import { Environment, readStackConfig } from "../../infra";
import { ROOT } from "./fixtures";
import {
  ofType,
  promiseOf,
  recordDependencies,
  recorded,
  resetAll,
  settle,
  useStackFile as useStack,
  type Recorded,
} from "./mocks";

export const SALT_PORTS = [4505, 4506];
export const API_PORTS = [8000, 8443];

export async function build(stack: string, extra: Record<string, unknown> = {}): Promise<Environment> {
  resetAll();
  useStack(stack, extra);
  const env = new Environment(
    stack,
    { spec: readStackConfig(), projectDir: ROOT },
    { transformations: [recordDependencies] },
  );
  await promiseOf(env.imageDigest);
  await settle();
  return env;
}

/** Every security-group ingress rule as [port range, CIDRs]. */
export function ingressRules(): {
  group: string;
  from: number;
  to: number;
  cidrs: string[];
  groups: string[];
}[] {
  return ofType("aws:ec2/securityGroup:SecurityGroup").flatMap((g) =>
    (g.inputs.ingress ?? []).map(
      (r: { fromPort: number; toPort: number; cidrBlocks?: string[]; securityGroups?: string[] }) => ({
        group: g.name,
        from: r.fromPort,
        to: r.toPort,
        cidrs: r.cidrBlocks ?? [],
        groups: r.securityGroups ?? [],
      }),
    ),
  );
}

export function covers(rule: { from: number; to: number }, port: number): boolean {
  return rule.from <= port && port <= rule.to;
}

/** The content a container uploads to `file`. */
export function uploadOf(inputs: Recorded["inputs"], file: string): string {
  const upload = (inputs.uploads as { file: string; content: string }[]).find((u) => u.file === file);
  if (!upload) throw new Error(`no upload of ${file}`);
  return upload.content;
}

/** Every recorded input, serialized: what the engine (and so the state file) would hold. */
export function plaintextInputs(filter: (r: Recorded) => boolean = () => true): string {
  return recorded
    .filter(filter)
    .map((r) =>
      JSON.stringify(Object.fromEntries(Object.entries(r.inputs).filter(([k]) => !r.secretInputs.has(k)))),
    )
    .join("\n");
}
