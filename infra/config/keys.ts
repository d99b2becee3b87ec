/**
 * Every key a stack's `saltpipe:*` config accepts, section by section. The validator refuses
 * any other key against these same lists (./checks.ts `object`), and {@link CONFIG_KEYS} is
 * built from them, so the documented keys and the accepted keys cannot drift apart.
 */
import type { OsName } from "./spec";

/** Operating systems a host may run; also the keys of `aws.amis`. */
export const OS_NAMES: readonly OsName[] = ["ubuntu", "centos", "debian"];

export const TOP_LEVEL_KEYS = [
  "cloud",
  "environment",
  "adminCidrs",
  "master",
  "minions",
  "minionOs",
  "salt",
  "deploy",
  "app",
  "registry",
  "aws",
  "local",
  "events",
  "webhookSecret",
  "registryPassword",
  "sshPrivateKey",
  "notifySecret",
  "hookTls",
  "hookTlsKey",
] as const;

/** Keys that must come through `pulumi config set --secret` (refused in plain text). */
export const SECRET_KEYS = [
  "webhookSecret",
  "registryPassword",
  "sshPrivateKey",
  "notifySecret",
  "hookTlsKey",
] as const;

/** How to reach a host of the `existing` cloud (refused on the other clouds). */
export const EXISTING_HOST_KEYS = ["address", "user", "port", "privateAddress", "hostKey"] as const;
export const MASTER_KEYS = ["name", "os", "instanceType", ...EXISTING_HOST_KEYS] as const;
export const MINION_KEYS = ["name", "os", "roles", "instanceType", ...EXISTING_HOST_KEYS] as const;

export const SALT_KEYS = [
  "version",
  "installMethod",
  "pipIndexUrl",
  "wheelhouseUrl",
  "wheelhouseDir",
  "extraPackages",
  "publishPort",
  "retPort",
  "apiPort",
  "hookPort",
] as const;

export const DEPLOY_KEYS = [
  "batch",
  "healthTimeoutSeconds",
  "drainSeconds",
  "keepImages",
  "tagPolicy",
  "approval",
  "preSwitch",
  "notify",
  "reconcileSeconds",
] as const;
export const APPROVAL_KEYS = ["required", "expiresMinutes"] as const;
export const PRE_SWITCH_KEYS = ["command", "timeoutSeconds"] as const;
export const NOTIFY_KEYS = ["urls", "timeoutSeconds", "retries"] as const;

export const APP_KEYS = ["name", "port", "proxyPort", "healthPath", "context", "buildArgs"] as const;

export const REGISTRY_KEYS = [
  "kind",
  "repository",
  "server",
  "pullServer",
  "insecure",
  "username",
  "port",
  "keepImages",
] as const;

export const AWS_KEYS = [
  "region",
  "availabilityZones",
  "vpcCidr",
  "publicSubnetCidrs",
  "privateSubnetCidrs",
  "natGateways",
  "certificateArn",
  "allowPlainHttp",
  "masterInstanceType",
  "minionInstanceType",
  "rootVolumeGb",
  "amis",
  "terminationProtection",
] as const;

export const LOCAL_KEYS = [
  "baseImage",
  "registryBaseImage",
  "lbBaseImage",
  "namePrefix",
  "appPortBase",
  "lbPort",
] as const;

export const EVENTS_KEYS = ["transport", "sqs"] as const;
export const SQS_KEYS = [
  "queueUrl",
  "region",
  "account",
  "endpointUrl",
  "metadataEndpoint",
  "waitSeconds",
] as const;

export const HOOK_TLS_KEYS = ["certificate", "ca"] as const;

/**
 * Each object-valued section and its keys, in the order the reference documents them. A
 * section of list items is named with `[]` (`minions[]`: the keys of one minion).
 */
export const CONFIG_SECTIONS: ReadonlyArray<readonly [section: string, keys: readonly string[]]> = [
  ["", TOP_LEVEL_KEYS],
  ["master", MASTER_KEYS],
  ["minions[]", MINION_KEYS],
  ["salt", SALT_KEYS],
  ["deploy", DEPLOY_KEYS],
  ["deploy.approval", APPROVAL_KEYS],
  ["deploy.preSwitch", PRE_SWITCH_KEYS],
  ["deploy.notify", NOTIFY_KEYS],
  ["app", APP_KEYS],
  ["registry", REGISTRY_KEYS],
  ["aws", AWS_KEYS],
  ["aws.amis", OS_NAMES],
  ["local", LOCAL_KEYS],
  ["events", EVENTS_KEYS],
  ["events.sqs", SQS_KEYS],
  ["hookTls", HOOK_TLS_KEYS],
];

/**
 * Every accepted key in dotted form (`cloud`, `deploy.batch`, `deploy.notify.urls`,
 * `minions[].roles`, `aws.amis.ubuntu`, …), without the `saltpipe:` namespace.
 */
export const CONFIG_KEYS: readonly string[] = CONFIG_SECTIONS.flatMap(([section, keys]) =>
  keys.map((key) => (section === "" ? key : `${section}.${key}`)),
);
