import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { AppConfig } from "./config";

/** The longest /sleep the app will honour: enough for drain tests, too short to abuse. */
export const MAX_SLEEP_MS = 30_000;

export interface AppServer {
  readonly server: http.Server;
  /** Bind to config.host:config.port (port 0 → any free port). */
  listen(): Promise<AddressInfo>;
  /**
   * Stop accepting, let in-flight requests finish, then close. Resolves true when every
   * request finished within config.drainTimeoutMs, false when stragglers were cut off.
   */
  shutdown(): Promise<boolean>;
}

export function createAppServer(config: AppConfig): AppServer {
  let draining = false;
  let shutdownPromise: Promise<boolean> | undefined;

  const server = http.createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      // While draining, tell keep-alive clients (and proxies) to reconnect elsewhere.
      if (draining) res.setHeader("Connection", "close");
      res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(405, "text/plain", "method not allowed\n");
    }
    const url = new URL(req.url ?? "/", "http://app.invalid");
    switch (url.pathname) {
      case "/":
        return send(200, "text/html; charset=utf-8", page(config));
      case "/healthz":
        if (draining) return send(503, "text/plain", "draining\n");
        return config.healthy ? send(200, "text/plain", "ok\n") : send(500, "text/plain", "unhealthy\n");
      case "/version":
        return send(200, "application/json", JSON.stringify(versionInfo(config)) + "\n");
      case "/sleep": {
        // A slow request on demand, so tests can prove that a drain finishes it.
        const ms = Math.min(Math.max(Number(url.searchParams.get("ms")) || 0, 0), MAX_SLEEP_MS);
        const timer = setTimeout(() => send(200, "text/plain", `slept ${ms}ms\n`), ms);
        res.on("close", () => clearTimeout(timer)); // client gone or connection cut
        return;
      }
      default:
        return send(404, "text/plain", "not found\n");
    }
  });

  const listen = (): Promise<AddressInfo> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve(server.address() as AddressInfo);
      });
    });

  const shutdown = (): Promise<boolean> => {
    shutdownPromise ??= new Promise<boolean>((resolve) => {
      draining = true;
      const deadline = setTimeout(() => {
        server.closeAllConnections(); // bounded drain: cut off what is still running
        resolve(false);
      }, config.drainTimeoutMs);
      server.close(() => {
        clearTimeout(deadline);
        resolve(true);
      });
      // Node 18 keeps idle keep-alive sockets open through close(); busy ones get
      // `Connection: close` on their last response (see send).
      server.closeIdleConnections();
    });
    return shutdownPromise;
  };

  return { server, listen, shutdown };
}

export function versionInfo(config: AppConfig) {
  return {
    version: config.version,
    commit: config.commit,
    buildTime: config.buildTime,
    imageDigest: config.imageDigest,
    environment: config.environment,
  };
}

function page(config: AppConfig): string {
  const v = versionInfo(config);
  const row = (k: string, val: string | null) =>
    `<tr><th>${k}</th><td>${escapeHtml(val ?? "unknown")}</td></tr>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>saltpipe app ${escapeHtml(v.version)} (${escapeHtml(v.environment)})</title></head>
<body><h1>saltpipe app ${escapeHtml(v.version)} in ${escapeHtml(v.environment)}</h1>
<table>${row("version", v.version)}${row("environment", v.environment)}${row("commit", v.commit)}${row("built", v.buildTime)}${row("image", v.imageDigest)}</table>
</body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
