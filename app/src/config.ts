/**
 * The app's whole configuration, read once from the environment. The image bakes the
 * build facts (version, commit, build time, health) in as defaults; the deployer adds
 * what only it knows (environment, image digest) at run time.
 */
export interface AppConfig {
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly commit: string;
  readonly buildTime: string;
  /** `repo@sha256:…` or bare digest; an image cannot know its own digest, the deployer can. */
  readonly imageDigest: string | null;
  readonly environment: string;
  /** false → /healthz answers 500: an image that must fail its deploy (tests). */
  readonly healthy: boolean;
  /** Upper bound for finishing in-flight requests after SIGTERM. */
  readonly drainTimeoutMs: number;
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env = process.env): AppConfig {
  return {
    host: env.APP_HOST || "0.0.0.0",
    port: integer(env, "APP_PORT", 8080, 0, 65535),
    version: env.APP_VERSION || "0.0.0-dev",
    commit: env.APP_COMMIT || "unknown",
    buildTime: env.APP_BUILD_TIME || "unknown",
    // saltpipe's deploy sets SALTPIPE_IMAGE_DIGEST on every container it starts.
    imageDigest: env.SALTPIPE_IMAGE_DIGEST || env.APP_IMAGE_DIGEST || null,
    environment: env.APP_ENVIRONMENT || "local",
    healthy: boolean(env, "APP_HEALTHY", true),
    drainTimeoutMs: integer(env, "APP_DRAIN_TIMEOUT_MS", 10_000, 0, 300_000),
  };
}

function integer(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${key}=${raw}: expected an integer in [${min}, ${max}]`);
  }
  return value;
}

function boolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key]?.toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["true", "1", "yes"].includes(raw)) return true;
  if (["false", "0", "no"].includes(raw)) return false;
  throw new Error(`${key}=${env[key]}: expected true or false`);
}
