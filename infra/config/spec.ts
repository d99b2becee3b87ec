/**
 * The typed, validated description of one environment (one Pulumi stack).
 *
 * `parseStackConfig` (./validate.ts) is the only producer of these values; every
 * component and render function consumes them, so nothing deeper re-reads config.
 */

import type { EventsSpec } from "./sections/events";

/** Where the hosts of a stack come from. */
export type Cloud = "aws" | "local" | "existing";

/** Operating systems a host may run. Debian is used by the `local` stack's container hosts. */
export type OsName = "ubuntu" | "centos" | "debian";

/** Salt OS families, as Salt's `os_family` grain names them. */
export type OsFamily = "Debian" | "RedHat";

/**
 * How Salt gets onto a host.
 * - `onedir`: the official onedir packages from the Salt project repository (AWS default).
 * - `pip`: a virtual environment from PyPI, a mirror (`pipIndexUrl`) or a wheelhouse
 *   (`wheelhouseUrl`, for air-gapped hosts and the `local` stack).
 */
export type SaltInstallMethod = "onedir" | "pip";

export interface MinionSpec {
  /** Salt minion id and resource name; unique in the stack. */
  readonly name: string;
  readonly os: OsName;
  /** Free-form roles, published as the `roles` grain (the app deploys to role `app`). */
  readonly roles: readonly string[];
  /** AWS only: overrides `aws.minionInstanceType`. */
  readonly instanceType?: string;
  /** `existing` cloud only: where to reach the host. */
  readonly address?: string;
  /** `existing` cloud only: SSH user (default per OS). */
  readonly user?: string;
  /** `existing` cloud only: SSH port (default 22). */
  readonly port?: number;
  /** `existing` cloud only: address the other hosts use (default `address`). */
  readonly privateAddress?: string;
  /** `existing` cloud only: the host's SSH public key (`ssh-ed25519 AAAA…`); default: trusted on first use. */
  readonly hostKey?: string;
}

export interface MasterSpec {
  readonly name: string;
  readonly os: OsName;
  readonly instanceType?: string;
  readonly address?: string;
  readonly user?: string;
  readonly port?: number;
  readonly privateAddress?: string;
  readonly hostKey?: string;
}

export interface SaltSpec {
  /** Exact Salt version, e.g. `3008.4`. */
  readonly version: string;
  readonly installMethod: SaltInstallMethod;
  /** pip method: a PyPI-compatible index (mirror) URL. */
  readonly pipIndexUrl?: string;
  /** pip method: an HTTP(S) URL of a flat directory of wheels (`pip --find-links`); implies `--no-index`. */
  readonly wheelhouseUrl?: string;
  /**
   * pip method: a directory of wheels on the machine running Pulumi, uploaded to every
   * host and installed with `--no-index` (the `local` stack's default: no host downloads).
   */
  readonly wheelhouseDir?: string;
  /** Extra Python packages for the master/minions (e.g. `saltext-dockermod==0.1.3`). */
  readonly extraPackages: readonly string[];
  /** Master's publish and return ports. */
  readonly publishPort: number;
  readonly retPort: number;
  /** salt-api (rest_cherrypy) port, reached only through the hook proxy. */
  readonly apiPort: number;
  /** Port of the master's webhook endpoint that the registry posts to. */
  readonly hookPort: number;
}

export interface DeploySpec {
  /** Rolling batch: a count (`"1"`) or a percentage (`"50%"`) of the environment's minions. */
  readonly batch: string;
  /** How long a new container may take to answer its health path, in seconds. */
  readonly healthTimeoutSeconds: number;
  /** How long the old container may finish in-flight requests after the proxy switches, in seconds. */
  readonly drainSeconds: number;
  /** How many app images each minion keeps for rollback. */
  readonly keepImages: number;
  /**
   * Which pushed tags deploy: `exact:<tag>`, `glob:<pattern>` or `semver:<range>`
   * (npm-style; a semver downgrade never deploys). Empty: every tag of the environment
   * (`<environment>` or `<environment>-*`).
   */
  readonly tagPolicy: string;
  /** Pushes wait for `npm run approve` (e.g. prod); a pending push expires after `expiresMinutes`. */
  readonly approval: { readonly required: boolean; readonly expiresMinutes: number };
  /** One-off command (argv) run from the NEW image on one minion before traffic moves (e.g. migrations). */
  readonly preSwitch?: { readonly command: readonly string[]; readonly timeoutSeconds: number };
  /** Outcome notifications: signed JSON POSTs (HMAC-SHA256 with the `notifySecret` secret). */
  readonly notify: {
    readonly urls: readonly string[];
    readonly timeoutSeconds: number;
    readonly retries: number;
  };
  /** How often the master reconciles (expired approvals, drifted minions, removed containers), in seconds. */
  readonly reconcileSeconds: number;
}

export interface AppSpec {
  /** Container and nginx upstream name on the minions. */
  readonly name: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  /** Port nginx serves the app on, on every minion. */
  readonly proxyPort: number;
  /** HTTP path that answers 2xx when the app is healthy. */
  readonly healthPath: string;
  /** Build context directory, relative to the project root. */
  readonly context: string;
  /** Build arguments (e.g. `BASE_IMAGE`); Docker Hub images cannot be assumed reachable. */
  readonly buildArgs: Readonly<Record<string, string>>;
}

export interface RegistrySpec {
  /** `ecr` on AWS; `local` runs a registry container; `external` uses an existing registry. */
  readonly kind: "ecr" | "local" | "external";
  /** Repository name inside the registry (e.g. `saltpipe/app`). */
  readonly repository: string;
  /** external: registry host[:port]. */
  readonly server?: string;
  /** external: host[:port] the hosts pull from, when they see the registry under another name (default `server`). */
  readonly pullServer?: string;
  /** external: the registry speaks plain HTTP (the hosts' Docker engines are told to allow it). */
  readonly insecure: boolean;
  /** external: user name for pushes and pulls (the password is the `registryPassword` secret). */
  readonly username?: string;
  /** local: port published on 127.0.0.1 for pushes from this machine. */
  readonly port: number;
  /** ecr: how many images the lifecycle policy keeps. */
  readonly keepImages: number;
}

/** How private subnets reach the internet (package repositories, ECR). */
export type NatGateways = "perAz" | "single";

export interface AwsSpec {
  readonly region: string;
  /** At least two availability zones: the load balancer and the minions span all of them. */
  readonly availabilityZones: readonly string[];
  readonly vpcCidr: string;
  /** One public subnet per zone (load balancer, master, NAT gateways), inside `vpcCidr`. */
  readonly publicSubnetCidrs: readonly string[];
  /** One private subnet per zone (minions, no public addresses), inside `vpcCidr`. */
  readonly privateSubnetCidrs: readonly string[];
  /** `perAz`: one NAT gateway per zone (prod default: a zone outage keeps egress); `single`: one for all. */
  readonly natGateways: NatGateways;
  /** ACM certificate of the load balancer's HTTPS listener; without it the listener is plain HTTP. */
  readonly certificateArn?: string;
  /** Plain HTTP without a certificate is refused on `prod` unless this is true. */
  readonly allowPlainHttp: boolean;
  readonly masterInstanceType: string;
  readonly minionInstanceType: string;
  readonly rootVolumeGb: number;
  /** AMI overrides per OS; otherwise looked up by owner and name. */
  readonly amis: Readonly<Partial<Record<OsName, string>>>;
  /** Termination protection on instances (default true for prod). */
  readonly terminationProtection: boolean;
}

export interface LocalSpec {
  /** Base image the host image is built FROM (must exist locally: Docker Hub is not assumed). */
  readonly baseImage: string;
  /** Base image the registry image is built FROM (Debian's `docker-registry` installed). */
  readonly registryBaseImage: string;
  /** Prefix of container, network and volume names. */
  readonly namePrefix: string;
  /** First 127.0.0.1 port for the minions' published app proxies (one per minion). */
  readonly appPortBase: number;
  /** The one 127.0.0.1 port of the environment's load balancer: the app's entry URL. */
  readonly lbPort: number;
  /** Base image the load balancer image is built FROM (Debian's `haproxy` installed). */
  readonly lbBaseImage: string;
}

/**
 * The hook's own TLS certificate (`saltpipe:hookTls` + secret `saltpipe:hookTlsKey`). Without
 * it the master generates a CA and a certificate for itself (the private keys never leave it).
 */
export interface HookTlsSpec {
  /** PEM certificate (chain) the hook proxy serves. */
  readonly certificate: string;
  /** PEM certificate of the CA the registry must trust (default: `certificate` itself). */
  readonly ca: string;
}

/** Pulumi secrets. Held as opaque values so this module stays free of Pulumi resources. */
export interface SecretsSpec<S> {
  /** Shared secret that authenticates registry push notifications (bearer token / HMAC key). */
  readonly webhookSecret: S;
  /** Password of the registry user (external registry; local registry htpasswd). */
  readonly registryPassword?: S;
  /** Private SSH key used to reach the hosts. */
  readonly sshPrivateKey: S;
  /** HMAC key of outcome notifications (required when `deploy.notify.urls` is set). */
  readonly notifySecret?: S;
  /** Private key of `hookTls.certificate` (only with it). */
  readonly hookTlsKey?: S;
}

export interface EnvironmentSpec<S = unknown> {
  /** Pulumi stack name. */
  readonly stack: string;
  /** Environment name, written into grains and pillar (defaults to the stack name). */
  readonly environment: string;
  readonly cloud: Cloud;
  /** CIDRs that may reach SSH (and, on AWS, nothing else). */
  readonly adminCidrs: readonly string[];
  readonly master: MasterSpec;
  readonly minions: readonly MinionSpec[];
  readonly salt: SaltSpec;
  readonly deploy: DeploySpec;
  readonly app: AppSpec;
  readonly registry: RegistrySpec;
  readonly aws?: AwsSpec;
  readonly local?: LocalSpec;
  /** How push events reach the master: the hook, or SQS (AWS; an emulator off AWS). */
  readonly events: EventsSpec;
  /** The hook's certificate from config; undefined: generated on the master. */
  readonly hookTls?: HookTlsSpec;
  /** OpenSSH public key derived from `sshPrivateKey`: installed on the hosts. */
  readonly sshPublicKey: string;
  readonly secrets: SecretsSpec<S>;
}
