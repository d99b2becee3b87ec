import { spawn } from "node:child_process";
import * as http from "node:http";
import * as path from "node:path";
import { loadConfig, type AppConfig } from "./config";
import { createAppServer, type AppServer } from "./server";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(port: number, urlPath: string, agent?: http.Agent): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath, agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on("error", reject);
  });
}

const testConfig = (overrides: Partial<AppConfig> = {}): AppConfig => ({
  ...loadConfig({ APP_VERSION: "1.2.3", APP_COMMIT: "abc123", APP_ENVIRONMENT: "test" }),
  host: "127.0.0.1",
  port: 0,
  ...overrides,
});

describe("app server", () => {
  let app: AppServer;
  let port: number;

  async function start(overrides: Partial<AppConfig> = {}): Promise<void> {
    app = createAppServer(testConfig(overrides));
    port = (await app.listen()).port;
  }
  afterEach(async () => {
    await app.shutdown();
  });

  it("serves a page naming version and environment, escaped", async () => {
    await start({ environment: "<prod>" });
    const reply = await get(port, "/");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toMatch(/^text\/html/);
    expect(reply.body).toContain("saltpipe app 1.2.3 in &#60;prod&#62;");
  });

  it("reports version, commit, build time and digest as JSON", async () => {
    await start({ imageDigest: "registry:5000/app@sha256:00ff", buildTime: "2026-11-25T10:00:00Z" });
    const reply = await get(port, "/version");
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(reply.body)).toEqual({
      version: "1.2.3",
      commit: "abc123",
      buildTime: "2026-11-25T10:00:00Z",
      imageDigest: "registry:5000/app@sha256:00ff",
      environment: "test",
    });
  });

  it("is healthy by default and fails /healthz on purpose when told to", async () => {
    await start();
    expect((await get(port, "/healthz")).status).toBe(200);
    await app.shutdown();
    await start({ healthy: false });
    expect((await get(port, "/healthz")).status).toBe(500);
  });

  it("answers 404 for unknown paths and 405 for other methods", async () => {
    await start();
    expect((await get(port, "/nope")).status).toBe(404);
    const status = await new Promise<number>((resolve, reject) =>
      http
        .request({ host: "127.0.0.1", port, path: "/", method: "POST" }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on("error", reject)
        .end(),
    );
    expect(status).toBe(405);
  });

  it("on shutdown refuses new connections but finishes in-flight requests", async () => {
    await start();
    const agent = new http.Agent({ keepAlive: true });
    await get(port, "/healthz", agent); // leaves an idle keep-alive socket behind
    const inFlight = get(port, "/sleep?ms=300");
    await new Promise((r) => setTimeout(r, 50)); // let the slow request arrive
    const started = Date.now();
    const drained = app.shutdown();
    await expect(get(port, "/healthz")).rejects.toThrow(/ECONNREFUSED/);
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe("close");
    expect(await drained).toBe(true); // the idle keep-alive socket did not hold it up
    expect(Date.now() - started).toBeLessThan(2000);
    agent.destroy();
  });

  it("bounds the drain: stragglers are cut off at the deadline", async () => {
    await start({ drainTimeoutMs: 200 });
    const straggler = get(port, "/sleep?ms=10000");
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    expect(await app.shutdown()).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(straggler).rejects.toThrow(/socket hang up|ECONNRESET/);
  });
});

describe("main (real process)", () => {
  it("drains on SIGTERM and exits 0 after the in-flight request", async () => {
    const tsNode = path.resolve(__dirname, "../../node_modules/ts-node/dist/bin.js");
    const child = spawn(
      process.execPath,
      [
        tsNode,
        "--transpile-only",
        "--project",
        path.resolve(__dirname, "../tsconfig.json"),
        path.join(__dirname, "main.ts"),
      ],
      { env: { ...process.env, APP_HOST: "127.0.0.1", APP_PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    let out = "";
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /listening on [^\s]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then(() => reject(new Error(`app exited early: ${out}`)));
    });
    const inFlight = get(port, "/sleep?ms=500");
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    expect((await inFlight).status).toBe(200);
    expect(await exited).toBe(0);
    expect(out).toContain("SIGTERM: draining");
  }, 20_000);
});
