import { loadConfig } from "./config";

describe("loadConfig", () => {
  it("has defaults for a bare `node dist/main.js`", () => {
    expect(loadConfig({})).toEqual({
      host: "0.0.0.0",
      port: 8080,
      version: "0.0.0-dev",
      commit: "unknown",
      buildTime: "unknown",
      imageDigest: null,
      environment: "local",
      healthy: true,
      drainTimeoutMs: 10_000,
    });
  });

  it("reads what the image and the deployer set", () => {
    const config = loadConfig({
      APP_PORT: "9000",
      APP_VERSION: "1.2.3",
      APP_COMMIT: "abc123",
      APP_BUILD_TIME: "2026-11-25T10:00:00Z",
      APP_IMAGE_DIGEST: "registry:5000/app@sha256:00ff",
      APP_ENVIRONMENT: "prod",
      APP_HEALTHY: "false",
      APP_DRAIN_TIMEOUT_MS: "2500",
    });
    expect(config).toMatchObject({
      port: 9000,
      version: "1.2.3",
      commit: "abc123",
      imageDigest: "registry:5000/app@sha256:00ff",
      environment: "prod",
      healthy: false,
      drainTimeoutMs: 2500,
    });
  });

  it("takes the digest saltpipe's deploy sets (SALTPIPE_IMAGE_DIGEST) over APP_IMAGE_DIGEST", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(loadConfig({ SALTPIPE_IMAGE_DIGEST: digest, APP_IMAGE_DIGEST: "other" }).imageDigest).toBe(digest);
  });

  it.each([
    [{ APP_PORT: "http" }, /APP_PORT=http/],
    [{ APP_PORT: "70000" }, /APP_PORT=70000/],
    [{ APP_HEALTHY: "maybe" }, /APP_HEALTHY=maybe/],
    [{ APP_DRAIN_TIMEOUT_MS: "-1" }, /APP_DRAIN_TIMEOUT_MS/],
  ])("rejects %p naming the variable", (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
