/** Every default of the stack config, in one place. */

export const SALT_VERSION_PATTERN = /^3\d{3}\.\d+$/;

export const DEFAULTS = {
  salt: {
    version: "3008.4",
    extraPackages: [] as string[],
    publishPort: 4505,
    retPort: 4506,
    apiPort: 8000,
    hookPort: 8443,
  },
  deploy: {
    batch: "50%",
    healthTimeoutSeconds: 60,
    drainSeconds: 10,
    keepImages: 3,
    tagPolicy: "",
    approval: { required: false, expiresMinutes: 60 },
    preSwitchTimeoutSeconds: 600,
    notify: { urls: [] as string[], timeoutSeconds: 5, retries: 3 },
    reconcileSeconds: 30,
  },
  app: {
    name: "app",
    port: 8080,
    proxyPort: 80,
    healthPath: "/healthz",
    context: "app",
    /** Blue/green host ports on each minion: the new container is published on the free one. */
    slots: { blue: 18081, green: 18082 },
  },
  registry: {
    repository: "saltpipe/app",
    port: 5000,
    keepImages: 30,
  },
  aws: {
    vpcCidr: "10.42.0.0/16",
    /** Zones used when none are configured: the region's first two. */
    zoneSuffixes: ["a", "b"],
    instanceType: "t3.small",
    rootVolumeGb: 20,
  },
  local: {
    baseImage: "saltpipe/debian-host:bookworm",
    registryBaseImage: "saltpipe/debian-registry:bookworm",
    lbBaseImage: "saltpipe/debian-lb:bookworm",
    appPortBase: 18080,
    /** Default `local.lbPort` = appPortBase + this (18580 for the default base). */
    lbPortOffset: 500,
  },
} as const;

/** ALB listener policy: TLS 1.3 and 1.2 only. */
export const ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/**
 * Default subnets of a VPC (at most /20): /24 blocks, public subnet i is block 1+i, private
 * subnet i is block half+1+i (10.42.1.0/24, 10.42.2.0/24 and 10.42.129.0/24, 10.42.130.0/24
 * for the default VPC). Undefined when the VPC is too small for `zones` of each.
 */
export function defaultSubnetCidrs(
  vpcCidr: string,
  zones: number,
): { public: string[]; private: string[] } | undefined {
  const [ip, bitsText] = vpcCidr.split("/");
  const bits = Number(bitsText);
  const base = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const subnetBits = 24;
  if (bits > 20) return undefined;
  const size = 2 ** (32 - subnetBits);
  const blocks = 2 ** (subnetBits - bits);
  const cidrAt = (index: number) => {
    const n = base + index * size;
    return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")}/${subnetBits}`;
  };
  const half = Math.floor(blocks / 2);
  if (zones + 1 > half) return undefined;
  return {
    public: Array.from({ length: zones }, (_, i) => cidrAt(1 + i)),
    private: Array.from({ length: zones }, (_, i) => cidrAt(half + 1 + i)),
  };
}
