/**
 * Entry point: serve until SIGTERM/SIGINT, then drain and exit
 * (0 when every in-flight request finished, 1 when the drain deadline cut some off).
 */
import { loadConfig } from "./config";
import { createAppServer } from "./server";

async function main(): Promise<void> {
  const config = loadConfig();
  const app = createAppServer(config);
  const address = await app.listen();
  console.log(
    `saltpipe app ${config.version} (${config.environment}) listening on ${address.address}:${address.port}` +
      (config.healthy ? "" : " [APP_HEALTHY=false: /healthz fails on purpose]"),
  );
  const stop = (signal: string) => {
    console.log(`${signal}: draining (up to ${config.drainTimeoutMs}ms)`);
    void app.shutdown().then((drained) => {
      console.log(drained ? "drained, exiting" : "drain deadline reached, exiting");
      process.exit(drained ? 0 : 1);
    });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
