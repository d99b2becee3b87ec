import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULTS, type SaltSpec } from "../../config";
import { existingHosts } from "../../hosts/existing";
import { SaltCluster } from "../cluster";
import {
  dependencies,
  named,
  ofType,
  promiseOf,
  recordDependencies,
  recorded,
  resetAll,
  settle,
  setupMocks,
} from "../../../test/unit/mocks";

// Under a loaded machine a mocked program takes seconds to settle.
jest.setTimeout(60_000);

const salt: SaltSpec = { ...DEFAULTS.salt, installMethod: "onedir" };

function statesCopy(edit?: (dir: string) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-states-"));
  fs.mkdirSync(path.join(dir, "salt", "app"), { recursive: true });
  fs.writeFileSync(path.join(dir, "salt", "app", "init.sls"), "app: {}\n");
  fs.writeFileSync(path.join(dir, "top.sls"), "base: {}\n");
  edit?.(dir);
  return dir;
}

async function buildCluster(statesDir: string) {
  const hosts = existingHosts(
    [
      { name: "master", os: "ubuntu", address: "192.0.2.10" },
      { name: "web-1", os: "ubuntu", address: "192.0.2.11" },
      { name: "web-2", os: "centos", address: "192.0.2.12" },
    ],
    pulumi.secret("PRIVATE-KEY"),
  );
  const cluster = new SaltCluster(
    "c",
    {
      master: hosts[0],
      minions: hosts.slice(1).map((host) => ({
        host,
        files: (masterAddress: string) => [
          {
            path: "/etc/salt/minion.d/saltpipe.conf",
            content: `master: ${masterAddress}\nid: ${host.name}\n`,
            mode: "0644",
          },
        ],
      })),
      salt,
      masterFiles: pulumi.secret([
        { path: "/srv/saltpipe/pillar/secrets.sls", content: "webhook_secret: SECRET-VALUE\n", mode: "0600" },
      ]),
      statesDir,
    },
    { transformations: [recordDependencies] },
  );
  await promiseOf(cluster.ready.stdout);
  await settle();
  return cluster;
}

beforeAll(() => setupMocks());
beforeEach(() => resetAll());

describe("SaltCluster", () => {
  test("bootstraps the master, then each minion, then waits for all of them", async () => {
    await buildCluster(statesCopy());
    const commands = ofType("command:remote:Command").map((r) => r.name);
    expect(commands.sort()).toEqual(
      [
        "c-master-install",
        "c-master-keys",
        "c-master-config",
        "c-master-states",
        "c-master-service",
        "c-master-refresh",
        ...["web-1", "web-2"].flatMap((m) =>
          ["install", "keys", "config", "accept", "service"].map((s) => `c-${m}-${s}`),
        ),
        "c-ready",
        "c-highstate",
      ].sort(),
    );
    expect(ofType("saltpipe:salt:SaltMinion").map((r) => r.name)).toEqual(["c-web-1", "c-web-2"]);
  });

  test("states are uploaded before the service that enables the reactor restarts", async () => {
    await buildCluster(statesCopy());
    expect(dependencies.get("c-master-service")).toEqual(
      expect.arrayContaining(["c-master-config", "c-master-keys", "c-master-states"]),
    );
    expect(dependencies.get("c-master-refresh")).toEqual(
      expect.arrayContaining(["c-master-service", "c-master-states"]),
    );
  });

  test("the master is ready before it accepts a minion; minions start only once accepted", async () => {
    await buildCluster(statesCopy());
    expect(dependencies.get("c-web-1-accept")).toContain("c-master-refresh");
    expect(dependencies.get("c-web-1-service")).toEqual(
      expect.arrayContaining(["c-web-1-accept", "c-web-1-config", "c-web-1-keys"]),
    );
    expect(dependencies.get("c-ready")).toEqual(
      expect.arrayContaining(["c-web-1-service", "c-web-2-service"]),
    );
  });

  test("keys are accepted on the master, not the minion, and forgotten on destroy", async () => {
    await buildCluster(statesCopy());
    const accept = named("c-web-2-accept").inputs;
    expect(accept.connection.host).toBe("192.0.2.10");
    expect(accept.stdin).toContain("cat > /etc/salt/pki/master/minions/web-2 <<'SALTPIPE_EOF'");
    expect(accept.delete).toContain("rm -f /etc/salt/pki/master/minions/web-2 || true");
    // The minion pins the key the master printed.
    expect(named("c-web-2-keys").inputs.stdin).toContain("minion_master.pub");
  });

  test("minions get the master's private address and run as root through sudo", async () => {
    await buildCluster(statesCopy());
    const config = named("c-web-1-config").inputs;
    expect(config.stdin).toContain("master: 192.0.2.10\nid: web-1\n");
    expect(config.create).toBe("sudo -n bash -s");
    expect(config.connection.user).toBe("ubuntu");
    expect(named("c-web-2-install").inputs.connection.user).toBe("ec2-user");
  });

  test("secrets stay secret: the master's files and the SSH key reach the engine as secrets", async () => {
    await buildCluster(statesCopy());
    const config = named("c-master-config");
    expect(config.inputs.stdin).toContain("webhook_secret: SECRET-VALUE");
    expect([...config.secretInputs]).toEqual(expect.arrayContaining(["stdin", "connection"]));
    for (const command of ofType("command:remote:Command"))
      expect(command.secretInputs.has("connection")).toBe(true);
    // Non-secret scripts stay readable in previews.
    expect(named("c-master-states").secretInputs.has("stdin")).toBe(false);
  });

  test("changing one state file changes only the states upload and what must reload (refresh, highstate)", async () => {
    await buildCluster(statesCopy());
    const before = new Map(recorded.map((r) => [r.name, JSON.stringify(r.inputs)]));
    resetAll();
    await buildCluster(
      statesCopy((dir) =>
        fs.writeFileSync(path.join(dir, "salt", "app", "init.sls"), "app: {changed: true}\n"),
      ),
    );
    const changed = recorded
      .filter((r) => before.get(r.name) !== JSON.stringify(r.inputs))
      .map((r) => r.name);
    expect(changed.sort()).toEqual(["c-highstate", "c-master-refresh", "c-master-states"]);
    expect(named("c-master-states").inputs.stdin).toContain("app: {changed: true}");
  });

  test("rejects duplicate host names and empty clusters", () => {
    const [master, minion] = existingHosts(
      [
        { name: "m", os: "ubuntu", address: "192.0.2.1" },
        { name: "m", os: "ubuntu", address: "192.0.2.2" },
      ],
      "k",
    );
    const files = () => [];
    expect(
      () => new SaltCluster("d", { master, minions: [{ host: minion, files }], salt, masterFiles: [] }),
    ).toThrow(/host name "m" is used twice/);
    expect(() => new SaltCluster("e", { master, minions: [], salt, masterFiles: [] })).toThrow(
      /at least one minion/,
    );
  });
});
