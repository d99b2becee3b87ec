/**
 * The production shape of the local twin, for real: one entry URL (HAProxy with active
 * health checks), private minions reached only through the master as SSH jump host, and a
 * TLS-only hook whose token never crosses the environment's network in clear text.
 *
 * Under a real load generator (autocannon) at ≥ 200 requests/s through the one URL: a
 * rolling deploy, a failed deploy, a rollback (0 failed requests each) and a minion host
 * stopped during traffic (how many failed and for how long is reported; the load balancer
 * must have taken it out within its check interval).
 *
 * Own names and ports (saltpipe-shape, 18080…, registry 19580, below the ephemeral port range):
 * runs beside the other suites.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { servedVersion } from "./support/http";
import { RateLoad, type RateReport } from "./support/load";
import { spawn } from "child_process";
import { mustRun, run, sleep, waitFor } from "./support/run";
import { DOCKER, docker, EventWatch, LocalStack, type PushedImage, type StackOutputs } from "./support/stack";

jest.setTimeout(40 * 60_000);

const APP_PORT_BASE = 18080;
const stack = new LocalStack("saltpipe-shape", { appPortBase: APP_PORT_BASE, registryPort: 19580 });
/** Total rate through the load balancer (the issue asks for ≥ 200/s). */
const RATE = 250;
/** Every load run is bounded: no test can leave a load generator running. */
const LOAD_MAX_SECONDS = 240;
const DEPLOY_BOUND_MS = 120_000;
/** HAProxy's check: inter 500 ms, fall 2 (infra/render/lb.ts defaults). */
const CHECK_OUT_MS = 2 * 500;

let outputs: StackOutputs;
let upStdout = "";
let events: EventWatch;
const measured: Record<string, unknown> = {};

const load = () => new RateLoad(outputs.appUrl, { ratePerSecond: RATE, maxSeconds: LOAD_MAX_SECONDS });

/** What the one URL serves right now (undefined when it does not answer 200). */
const servedByLb = () => servedVersion(outputs.appUrl).catch(() => undefined);

/** Every minion's own proxy, to know that a deploy reached all of them. */
async function everyMinionServes(version: string, timeoutMs = DEPLOY_BOUND_MS): Promise<void> {
  await waitFor(`every minion to serve ${version}`, timeoutMs, async () => {
    const versions = await Promise.all(outputs.appUrls.map((u) => servedVersion(u).catch(() => undefined)));
    return versions.every((v) => v === version) ? true : undefined;
  });
}

function outcomeOf(digest: string): Promise<Record<string, unknown>> {
  return waitFor(
    `the outcome event of ${digest}`,
    DEPLOY_BOUND_MS,
    async () => events.matching("saltpipe/deploy/local/outcome").find((e) => e.data.digest === digest)?.data,
  );
}

function expectRate(report: RateReport): void {
  expect(report.ratePerSecond).toBeGreaterThanOrEqual(200);
}

/** Host-side name of the environment network's bridge (Docker: br-<first 12 of the id>). */
async function bridgeOf(network: string): Promise<string> {
  const id = (await docker("network", "inspect", "-f", "{{.Id}}", network)).trim();
  return `br-${id.slice(0, 12)}`;
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, timeout: 3000 }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
    socket.on("timeout", () => (socket.destroy(), resolve(false)));
  });
}

beforeAll(async () => {
  if (!fs.existsSync("/usr/bin/tcpdump"))
    throw new Error("the shape suite needs tcpdump: apt-get install -y tcpdump");
  await stack.forceClean();
  const start = Date.now();
  const up = await stack.scriptResult(["up"]);
  if (up.code !== 0)
    throw new Error(`up failed:\n${(up.stdout + up.stderr).split("\n").slice(-40).join("\n")}`);
  measured.upFromNothingMs = Date.now() - start;
  upStdout = up.stdout;
  outputs = await stack.outputs();
  events = new EventWatch(stack.container("master"));
});

afterAll(async () => {
  events?.stop();
  await stack.cleanUp();
  console.log(`shape measurements: ${JSON.stringify(measured)}`);
});

describe("the local twin's production shape", () => {
  let v2: PushedImage;
  /** What served before v2: what a rollback returns to. */
  let beforeV2: string | undefined;

  test("`up` prints the one URL first; through it the load balancer serves what `up` pushed", async () => {
    expect(outputs.appUrl).toBe(`http://127.0.0.1:${APP_PORT_BASE + 500}/`);
    expect(upStdout.split("\n").find((line) => line.trim() !== "")).toBe(outputs.appUrl);
    const v1 = outputs.imageName.split(":local-")[1];
    await waitFor("the load balancer to serve v1", DEPLOY_BOUND_MS, async () =>
      (await servedByLb()) === v1 ? true : undefined,
    );
    // No version in any header: HAProxy drops the Server header of the minions' nginx.
    const head = await mustRun("curl", [
      "-s",
      "-D",
      "-",
      "-o",
      "/dev/null",
      new URL("version", outputs.appUrl).toString(),
    ]);
    expect(head).not.toMatch(/^server:/im);
    const direct = await mustRun("curl", ["-s", "-D", "-", "-o", "/dev/null", outputs.appUrls[0] + "nope"]);
    expect(direct).toMatch(/^server: nginx\r$/im);
  });

  test("minions publish no SSH port: a direct connection fails; only the master's SSH is published", async () => {
    for (const [i, minion] of ["minion-1", "minion-2"].entries()) {
      const ports = await docker("port", stack.container(minion));
      expect(ports).not.toMatch(/^22\/tcp/m);
      // Where a minion's SSH was published before (appPortBase + 1000 + N): nothing answers.
      expect(await tcpConnects(APP_PORT_BASE + 1000 + 1 + i)).toBe(false);
    }
    expect(await docker("port", stack.container("master"), "22")).toContain(
      `127.0.0.1:${APP_PORT_BASE + 1000}`,
    );
    expect(await tcpConnects(APP_PORT_BASE + 1000)).toBe(true);
    // The minions' sshd saw their sessions come from the master (the jump host), not from here.
    const masterIp = (
      await docker(
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        stack.container("master"),
      )
    ).trim();
    const log = await stack.onHost(
      "minion-1",
      "journalctl -u ssh --no-pager | grep 'Accepted publickey' || true",
    );
    const sources = new Set([...log.matchAll(/Accepted publickey for root from (\S+)/g)].map((m) => m[1]));
    expect([...sources]).toEqual([masterIp]);
  });

  test("a second `up` changes nothing and `preview --diff` shows nothing, through the jump host", async () => {
    const again = await stack.upAgain();
    expect(again).toMatch(/Resources:\n\s+\d+ unchanged\n/);
    const preview = await stack.preview();
    expect(preview).toMatch(/Resources:\n\s+\d+ unchanged\n/);
  });

  test("the hook is TLS only: plain HTTP is refused, an unknown CA is refused, a bad token stops at the proxy, no version is shown", async () => {
    const token = await stack.secret("webhookSecret");
    const refused = () => events.matching(/\/refused$/).length;
    const before = refused();
    const body = JSON.stringify({ events: [] });
    // Plain HTTP on the hook port: nginx answers 400 and salt-api never sees it.
    expect(await stack.postToHook("minion-1", body, { token: "not-the-token", scheme: "http" })).toBe("400");
    // TLS without the environment's CA: curl refuses the certificate (exit 60).
    expect(await stack.postToHook("minion-1", body, { token: "not-the-token" })).toBe("curl:60");
    // With the CA and a bad token: the proxy itself answers 401 (TLS reached nginx, nothing reached Salt).
    expect(
      await stack.postToHook("minion-1", body, { token: "not-the-token", ca: outputs.hookCaCertificate }),
    ).toBe("401");
    // With the CA and the token: through to salt-api and the reactor, which judges it (an empty
    // notification holds no push: refused there) — the only one of the four that reached Salt.
    expect(await stack.postToHook("minion-1", body, { token, ca: outputs.hookCaCertificate })).toBe("200");
    await waitFor("the reactor's judgement", 30_000, async () => (refused() > before ? true : undefined));
    await sleep(3000);
    expect(refused()).toBe(before + 1);
    // An nginx error page of the hook: no version in the header or in the page.
    const ca = outputs.hookCaCertificate;
    const answer = await mustRun(DOCKER, [
      "exec",
      "-i",
      "-e",
      `CA=${ca}`,
      stack.container("minion-1"),
      "bash",
      "-c",
      'curl -s -D - --cacert <(printf "%s" "$CA") https://master:8443/nothing-here',
    ]);
    expect(answer).toMatch(/^HTTP\/1\.1 404/);
    expect(answer).toMatch(/^server: nginx\r$/im);
    expect(answer).not.toMatch(/nginx\/\d/);
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });

  test("v2 rolls out under ≥ 200 req/s through the one URL: 0 failed; the token is not in a capture of the network", async () => {
    const token = await stack.secret("webhookSecret");
    const bridge = await bridgeOf(`${stack.prefix}-net`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-shape-"));
    const pcap = path.join(dir, "hook.pcap");
    // Only the environment's own bridge, only the hook port.
    const capture = spawn("tcpdump", ["-i", bridge, "-U", "-s", "0", "-w", pcap, "tcp port 8443"], {
      stdio: "ignore",
    });
    try {
      await sleep(1500);
      beforeV2 = await servedByLb();
      const traffic = load();
      await sleep(2000);
      v2 = await stack.pushVersion(outputs.registry, "v2");
      await everyMinionServes("v2");
      await sleep(2000);
      const report = await traffic.stop();
      measured.rollingDeploy = report;
      expect((await outcomeOf(v2.digest)).result).toBe(true);
      expect(report.failures).toEqual([]);
      expect(report.failed).toBe(0);
      expectRate(report);
      expect(await servedByLb()).toBe("v2");
    } finally {
      capture.kill("SIGINT");
      await new Promise((r) => capture.once("exit", r));
    }
    const bytes = fs.readFileSync(pcap);
    fs.rmSync(dir, { recursive: true, force: true });
    measured.hookCaptureBytes = bytes.length;
    // The capture holds the registry's TLS sessions to the hook (handshake records 0x16 0x03)…
    expect(bytes.length).toBeGreaterThan(2000);
    expect(
      bytes.includes(Buffer.from([0x16, 0x03, 0x01])) || bytes.includes(Buffer.from([0x16, 0x03, 0x03])),
    ).toBe(true);
    // …and never the token, nor the Authorization header in clear.
    expect(bytes.includes(Buffer.from(token))).toBe(false);
    expect(bytes.includes(Buffer.from("Bearer"))).toBe(false);
    expect(bytes.includes(Buffer.from("saltpipe/registry"))).toBe(false);
  });

  test("v3 fails its health check under load: reported failed, v2 keeps serving, 0 failed requests", async () => {
    const traffic = load();
    const v3 = await stack.pushVersion(outputs.registry, "v3", { healthy: false });
    const outcome = await outcomeOf(v3.digest);
    await sleep(2000);
    const report = await traffic.stop();
    measured.failedDeploy = report;
    expect(outcome.result).toBe(false);
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expectRate(report);
    expect(await servedByLb()).toBe("v2");
  });

  test("a rollback (npm run rollback) under load: the previous image serves, 0 failed requests", async () => {
    const previous = beforeV2!;
    expect(previous).toBeDefined();
    const traffic = load();
    await sleep(1000);
    const rollback = await stack.ops("rollback");
    expect({ code: rollback.code, stderr: rollback.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    await everyMinionServes(previous);
    await sleep(2000);
    const report = await traffic.stop();
    measured.rollback = report;
    expect(report.failures).toEqual([]);
    expect(report.failed).toBe(0);
    expectRate(report);
    expect(await servedByLb()).toBe(previous);
  });

  test("a minion host stopped during traffic: the load balancer takes it out within its check interval", async () => {
    const traffic = load();
    await sleep(3000);
    const stoppedAt = Date.now() - traffic.startedAt;
    await docker("stop", "-t", "5", stack.container("minion-2"));
    const stopReturnedAt = Date.now() - traffic.startedAt;
    await sleep(5000);
    const report = await traffic.stop();
    measured.minionStopped = { ...report, stoppedAtMs: stoppedAt, stopReturnedAtMs: stopReturnedAt };
    expectRate(report);
    // HAProxy marked it down (its own log says so)…
    const lbLog = await run(DOCKER, ["logs", stack.container("lb")]);
    const logs = lbLog.stdout + lbLog.stderr;
    expect(logs).toMatch(/Server minions\/minion-2 is DOWN/);
    // …and after that nothing failed: any failure lies within the check interval after the stop.
    const outAt = stopReturnedAt + CHECK_OUT_MS + 1000;
    expect(report.failureTimes.filter((t) => t > outAt)).toEqual([]);
    try {
      await docker("start", stack.container("minion-2"));
      await waitFor("minion-2 back in the load balancer", 5 * 60_000, async () =>
        (await servedVersion(outputs.appUrls[1]).catch(() => undefined)) ? true : undefined,
      );
    } catch (e) {
      console.warn(`minion-2 did not come back: ${String(e)}`);
    }
  });

  test("destroy through the jump host removes everything", async () => {
    await stack.destroy();
    expect(await stack.leftovers()).toEqual([]);
    expect(await tcpConnects(APP_PORT_BASE + 500)).toBe(false);
  });
});
