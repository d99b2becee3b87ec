/**
 * The local stack file, run through the real program under Pulumi mocks: containers, SSH, the
 * load balancer, the hook's TLS, the registry's credentials, and that secrets stay secret.
 */
import { Environment, readStackConfig } from "../../infra";
import * as bcrypt from "bcryptjs";
import { REGISTRY_PASSWORD, ROOT, stackConfig, testPrivateKey, WEBHOOK_SECRET } from "./fixtures";
import {
  dependencies,
  FAKE_HOOK_CA,
  named,
  ofType,
  promiseOf,
  recorded,
  resetAll,
  settle,
  setupMocks,
} from "./mocks";
import { build, plaintextInputs, uploadOf } from "./stack-support";

// Building a whole stack under mocks takes seconds on a busy machine.
jest.setTimeout(120_000);

describe("local stack", () => {
  let env: Environment;
  beforeAll(async () => {
    env = await build("local");
  }, 60_000);

  test("a master, two minions, a load balancer and a registry, as containers on one private network", () => {
    const containers = ofType("docker:index/container:Container");
    expect(containers.map((c) => c.inputs.name).sort()).toEqual([
      "saltpipe-local-lb",
      "saltpipe-local-master",
      "saltpipe-local-minion-1",
      "saltpipe-local-minion-2",
      "saltpipe-local-registry",
      "saltpipe-local-registry-push",
    ]);
    expect(ofType("docker:index/network:Network").map((n) => n.inputs.name)).toEqual(["saltpipe-local-net"]);
    for (const c of containers) {
      expect(c.inputs.networksAdvanced).toEqual([
        { name: "saltpipe-local-net", aliases: [expect.any(String)] },
      ]);
      for (const p of c.inputs.ports ?? []) expect(p.ip).toBe("127.0.0.1");
    }
  });

  test("hosts run systemd without --privileged and keep their engine's storage on a volume", () => {
    const minion = named("local-hosts-minion-1").inputs;
    expect(minion.privileged).toBeUndefined();
    expect(minion.capabilities).toEqual({ adds: ["SYS_ADMIN", "NET_ADMIN"] });
    expect(minion.command).toEqual(["/sbin/init"]);
    expect(minion.volumes).toContainEqual({
      volumeName: "saltpipe-local-minion-1-docker",
      containerPath: "/var/lib/docker",
    });
    // Private minions: no SSH port published, only their proxy (for diagnosis; users use the LB).
    expect(minion.ports).toEqual([{ internal: 80, external: 18080, ip: "127.0.0.1" }]);
    expect(named("local-hosts-master").inputs.ports).toEqual([
      { internal: 22, external: 19080, ip: "127.0.0.1" },
    ]);
  });

  test("each container's SSH host key is read from inside it once and pinned on every connection", () => {
    const collect = named("local-hosts-minion-1-host-key").inputs;
    expect(collect.create).toContain("exec saltpipe-local-minion-1 sh -c 'cat /etc/ssh/ssh_host_*_key.pub'");
    // Only a new container collects again; any other change keeps the pinned key.
    expect(collect.triggers).toEqual(["local-hosts-minion-1-id"]);
    expect(collect.update).toBe(`printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`);
    for (const command of ofType("command:remote:Command"))
      expect(command.inputs.connection.hostKey).toMatch(/^ssh-ed25519 AAAA/);
    expect(named("local-salt-minion-1-install").inputs.connection.hostKey).not.toBe(
      named("local-salt-master-install").inputs.connection.hostKey,
    );
  });

  test("minions are reached through the master as SSH jump host; the master directly", () => {
    const viaMaster = {
      host: "127.0.0.1",
      port: 19080,
      user: "root",
      privateKey: expect.stringContaining("PRIVATE KEY"),
      dialErrorLimit: 30,
      perDialTimeout: 5,
    };
    const pinned = expect.stringMatching(/^ssh-ed25519 AAAA/);
    expect(named("local-salt-master-install").inputs.connection).toEqual({ ...viaMaster, hostKey: pinned });
    for (const minion of ["minion-1", "minion-2"]) {
      for (const step of ["install", "config"]) {
        const cmd = named(`local-salt-${minion}-${step}`);
        expect(cmd.inputs.connection).toEqual({
          host: minion,
          port: 22,
          user: "root",
          privateKey: expect.stringContaining("PRIVATE KEY"),
          dialErrorLimit: 90,
          perDialTimeout: 5,
          hostKey: pinned,
          proxy: { ...viaMaster, hostKey: pinned },
        });
        expect(cmd.secretInputs.has("connection")).toBe(true);
      }
      expect(named(`local-salt-${minion}-wheelhouse`).inputs.connection.proxy).toEqual({
        ...viaMaster,
        hostKey: pinned,
      });
    }
  });

  test("one load balancer: HAProxy on 127.0.0.1:lbPort, actively checking every minion's proxy", async () => {
    const lb = named("local-lb-container").inputs;
    expect(lb.ports).toEqual([{ internal: 8080, external: 18580, ip: "127.0.0.1" }]);
    expect(lb.networksAdvanced).toEqual([{ name: "saltpipe-local-net", aliases: ["lb"] }]);
    const config = lb.uploads[0].content as string;
    expect(lb.uploads[0].file).toBe("/etc/haproxy/haproxy.cfg");
    expect(config).toContain("option httpchk");
    expect(config).toContain("http-check send meth GET uri /healthz");
    expect(config).toContain("    server minion-1 minion-1:80\n    server minion-2 minion-2:80\n");
    expect(config).toMatch(/default-server check inter 500ms .* fall 2 rise 2 resolvers docker/);
    expect(named("local-lb-image").inputs.build.args).toEqual({ BASE_IMAGE: "saltpipe/debian-lb:bookworm" });
    expect(dependencies.get("local-lb-container")).toEqual(
      expect.arrayContaining(["local-hosts-minion-1", "local-hosts-minion-2"]),
    );
    expect(await promiseOf(env.appUrl!)).toBe("http://127.0.0.1:18580/");
  });

  test("the hook is TLS only, with a certificate the master makes for itself; the registry trusts its CA only", async () => {
    const tls = named("local-salt-master-hook-tls");
    expect(tls.inputs.stdin).toContain("san=DNS:master");
    expect(dependencies.get("local-salt-master-hook-tls")).toContain("local-salt-master-install");
    expect(dependencies.get("local-salt-master-service")).toContain("local-salt-master-hook-tls");
    const config = named("local-salt-master-config").inputs.stdin as string;
    expect(config).toContain("listen 8443 ssl;");
    expect(config).toContain("ssl_certificate /etc/saltpipe/tls/hook.crt;");
    expect(config).toContain("server_tokens off;");
    // The push instance notifies the hook; the read-only one minions pull from never does.
    const registry = named("local-registry-push").inputs;
    expect(uploadOf(registry, "/etc/docker/registry/hook-ca.pem")).toBe(FAKE_HOOK_CA);
    expect(registry.envs).toEqual(["SSL_CERT_FILE=/etc/docker/registry/hook-ca.pem"]);
    expect(await promiseOf(env.hookCaCertificate)).toBe(FAKE_HOOK_CA);
    // The app is pushed only once the registry (which notifies the hook) runs.
    expect(dependencies.get("local-app")).toEqual(
      expect.arrayContaining(["local-salt-highstate", "local-registry-push", "local-registry-container"]),
    );
  });

  test("the host image's base is a build argument", () => {
    const hostImage = named("local-hosts-image").inputs;
    expect(hostImage.build.args).toEqual({ BASE_IMAGE: "saltpipe/debian-host:bookworm" });
    expect(named("local-registry-image").inputs.build.args).toEqual({
      BASE_IMAGE: "saltpipe/debian-registry:bookworm",
    });
    expect(hostImage.skipPush).toBe(true);
  });

  test("the registry notifies the master's hook proxy with the bearer token, as a secret", () => {
    const registry = named("local-registry-push");
    expect(registry.secretInputs.has("uploads")).toBe(true);
    const config = uploadOf(registry.inputs, "/etc/docker/registry/config.yml");
    expect(config).toContain("url: https://master:8443/hook/saltpipe/registry");
    expect(config).toContain(`Bearer ${WEBHOOK_SECRET}`);
  });

  test("only the pipeline pushes: credentials on the push instance; minions pull from a read-only, anonymous one", () => {
    const push = named("local-registry-push");
    expect(push.inputs.ports).toEqual([{ internal: 5000, external: 5000, ip: "127.0.0.1" }]);
    expect(uploadOf(push.inputs, "/etc/docker/registry/config.yml")).toContain(
      "auth:\n  htpasswd:\n    realm: saltpipe-registry\n    path: /etc/docker/registry/htpasswd\n",
    );
    const htpasswd = uploadOf(push.inputs, "/etc/docker/registry/htpasswd");
    expect(htpasswd).toMatch(/^saltpipe:\$2b\$05\$/);
    expect(bcrypt.compareSync(REGISTRY_PASSWORD, htpasswd.trim().split(":")[1])).toBe(true);
    const pull = named("local-registry-container");
    expect(pull.inputs.name).toBe("saltpipe-local-registry");
    expect(pull.inputs.networksAdvanced[0].aliases).toEqual(["registry"]);
    expect(pull.inputs.ports ?? []).toEqual([]);
    const pullConfig = uploadOf(pull.inputs, "/etc/docker/registry/config.yml");
    expect(pullConfig).toContain("maintenance:\n    readonly:\n      enabled: true\n");
    expect(pullConfig).not.toContain("notifications");
    expect(pullConfig).not.toContain("htpasswd");
    expect(pull.inputs.volumes).toEqual(push.inputs.volumes);
    // The app image is pushed with the pipeline's credentials; the password is in no minion's pillar.
    expect(named("local-app-image").inputs.registry).toEqual({
      server: "127.0.0.1:5000",
      username: "saltpipe",
      password: REGISTRY_PASSWORD,
    });
    expect(named("local-app-image").secretInputs.has("registry")).toBe(true);
    expect(named("local-salt-master-config").inputs.stdin).not.toContain(REGISTRY_PASSWORD);
    expect(plaintextInputs()).not.toContain(REGISTRY_PASSWORD);
  });

  test("Salt is installed with pip from the uploaded wheelhouse", () => {
    const copies = ofType("command:remote:CopyToRemote");
    expect(copies.map((c) => c.name).sort()).toEqual([
      "local-salt-master-wheelhouse",
      "local-salt-minion-1-wheelhouse",
      "local-salt-minion-2-wheelhouse",
    ]);
    expect(named("local-salt-master-install").inputs.stdin).toContain(
      "--no-index --find-links /var/cache/saltpipe-wheelhouse/wheelhouse salt==3008.4",
    );
    expect(dependencies.get("local-salt-master-install")).toContain("local-salt-master-wheelhouse");
  });

  test("minions trust the local registry over plain HTTP (pillar) and know their master by name", () => {
    expect(named("local-salt-master-config").inputs.stdin).toMatch(
      /insecure-registries:\n\s+- registry:5000/,
    );
    expect(named("local-salt-minion-1-config").inputs.stdin).toContain("master: master\n");
  });

  test("the app is pushed to the local registry and every minion's proxy is an app URL", async () => {
    expect(ofType("docker:index/image:Image").map((i) => i.inputs.imageName)).toContainEqual(
      expect.stringMatching(/^127\.0\.0\.1:5000\/saltpipe\/app:local-/),
    );
    expect(await promiseOf(env.appUrls)).toEqual(["http://127.0.0.1:18080/", "http://127.0.0.1:18081/"]);
  });

  test("secrets never reach plain inputs", () => {
    const plain = plaintextInputs();
    expect(plain).not.toContain(WEBHOOK_SECRET);
    expect(plain).not.toContain("PRIVATE KEY");
  });
});

describe("local stack with the hook's certificate from stack config", () => {
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIBconfigCert\n-----END CERTIFICATE-----\n";
  const CA = "-----BEGIN CERTIFICATE-----\nMIIBconfigCa\n-----END CERTIFICATE-----\n";
  const KEY = "-----BEGIN PRIVATE KEY-----\nMIIhookKeyOnlyHere\n-----END PRIVATE KEY-----\n";
  let env: Environment;
  beforeAll(async () => {
    resetAll();
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries({
      ...stackConfig("local"),
      hookTls: { certificate: CERT, ca: CA },
    }))
      config[`saltpipe:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    config["saltpipe:webhookSecret"] = WEBHOOK_SECRET;
    config["saltpipe:sshPrivateKey"] = testPrivateKey();
    config["saltpipe:hookTlsKey"] = KEY;
    config["saltpipe:registryPassword"] = REGISTRY_PASSWORD;
    setupMocks("local", config, [
      "saltpipe:webhookSecret",
      "saltpipe:sshPrivateKey",
      "saltpipe:hookTlsKey",
      "saltpipe:registryPassword",
    ]);
    env = new Environment("local", { spec: readStackConfig(), projectDir: ROOT });
    await promiseOf(env.imageDigest);
    await settle();
  });

  test("no certificate is made; the master gets the given one, its key only as a secret; the registry trusts the given CA", async () => {
    expect(recorded.find((r) => r.name === "local-salt-master-hook-tls")).toBeUndefined();
    const config = named("local-salt-master-config");
    expect(config.secretInputs.has("stdin")).toBe(true);
    expect(config.inputs.stdin).toContain("MIIBconfigCert");
    expect(config.inputs.stdin).toContain("MIIhookKeyOnlyHere");
    expect(plaintextInputs()).not.toContain("MIIhookKeyOnlyHere");
    expect(uploadOf(named("local-registry-push").inputs, "/etc/docker/registry/hook-ca.pem")).toBe(CA);
    expect(await promiseOf(env.hookCaCertificate)).toBe(CA);
  });
});
