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
    subnetCidr: "10.42.1.0/24",
    instanceType: "t3.small",
    rootVolumeGb: 20,
  },
  local: {
    baseImage: "saltpipe/debian-host:bookworm",
    registryBaseImage: "saltpipe/debian-registry:bookworm",
    appPortBase: 18080,
  },
} as const;
