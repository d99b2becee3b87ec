/**
 * The image's HEALTHCHECK: GET /healthz on the app's own port; exit 0 only on 200.
 * (The runtime base has no curl; node is already there.)
 */
import * as http from "node:http";

const port = Number(process.env.APP_PORT) || 8080;
const req = http.get({ host: "127.0.0.1", port, path: "/healthz", timeout: 2000 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", () => process.exit(1));
