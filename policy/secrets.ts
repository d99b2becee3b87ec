/**
 * Nothing secret-looking is stored in plain text: a PEM private key anywhere in a resource's inputs
 * (a remote Command's `stdin`, `environment`, `create`, …), or a non-empty value under a credential
 * name (`password`, `…Secret`, `…Token`, `privateKey`, `apiKey`, …), also as `NAME=value` in a list.
 *
 * Secretness is visible only to remediations: the policy SDK hands validations every secret already
 * decrypted and unmarked (pulumi/pulumi-policy#241), while a remediation receives secrets as the SDK's
 * `Secret` objects. So this rule is a remediation: it finds plain-text secret-looking values and turns
 * them into `Secret`s, which the engine then stores encrypted (and masks in diffs and logs). Values
 * already secret, or unknown during a preview, are left alone; a compliant resource is not touched.
 */
import { Secret, UnknownValueError, type ResourceValidationPolicy } from "@pulumi/policy";

const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** An input whose name (lower case, separators dropped) ends in one of these holds a credential. */
const CREDENTIAL_NAMES = ["password", "passwd", "secret", "secretkey", "token", "privatekey", "apikey"];
/** `NAME=value`, as in a container's `envs` list. */
const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=./;

function isCredentialName(name: string): boolean {
  const key = name.toLowerCase().replace(/[^a-z0-9]/g, "");
  return CREDENTIAL_NAMES.some((end) => key.endsWith(end));
}

/** Whether the input `name` = `value` holds something that must be secret. */
export function looksSecret(name: string, value: string): boolean {
  if (value === "") return false;
  const assigned = ASSIGNMENT.exec(value)?.[1];
  return (
    PRIVATE_KEY.test(value) ||
    isCredentialName(name) ||
    (assigned !== undefined && isCredentialName(assigned))
  );
}

type Node = Record<string, unknown>;

/** The SDK's proxies unwrap secrets on read; the property descriptor still holds the `Secret`. */
const isSecret = (node: Node, key: string) =>
  Object.getOwnPropertyDescriptor(node, key)?.value instanceof Secret;

/** `node[key]` read through the SDK's proxy, or `undefined` when unknown (during a preview). */
function read(node: Node, key: string): unknown {
  try {
    return node[key];
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}

/** Wraps each plain-text secret-looking string under `node` in a `Secret`; returns how many. */
function protect(node: Node): number {
  let wrapped = 0;
  for (const key of Object.keys(node)) {
    if (isSecret(node, key)) continue;
    const value = read(node, key);
    if (typeof value === "string" && looksSecret(key, value)) {
      node[key] = new Secret(value);
      wrapped++;
    } else if (typeof value === "object" && value !== null) {
      wrapped += protect(value as Node);
    }
  }
  return wrapped;
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description: "Private keys and credential-named inputs are stored as Pulumi secrets, never in plain text.",
  enforcementLevel: "remediate",
  remediateResource: (args) => (protect(args.props) > 0 ? args.props : undefined),
};
