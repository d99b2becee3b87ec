/**
 * Every SLS of salt-states/ renders with the pinned Salt (`salt-call --local state.show_sls`)
 * for Ubuntu 24.04, CentOS Stream 9 and Debian 12 grains; the per-family package and
 * service names are asserted. The reactors render too
 * (`slsutil.renderer` with the event's `tag`/`data`), for accepted and refused events.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "yaml";
import { renderPillar } from "../../infra/render/salt-pillar";
import {
  defaultTagPattern,
  HOOK_EVENT_TAG,
  HOOK_PROXY_MARKER_HEADER,
  hookProxyMarker,
} from "../../infra/render/salt-config";
import { STATES_DIR, mkTemp, randomDigest, registryEnvelope, run, saltBin } from "./helpers";

jest.setTimeout(120_000);

const PLATFORMS = {
  "ubuntu-24.04": {
    os: "Ubuntu",
    os_family: "Debian",
    osfinger: "Ubuntu-24.04",
    osmajorrelease: 24,
    oscodename: "noble",
  },
  "centos-stream-9": {
    os: "CentOS Stream",
    os_family: "RedHat",
    osfinger: "CentOS Stream-9",
    osmajorrelease: 9,
    oscodename: "",
  },
  "debian-12": {
    os: "Debian",
    os_family: "Debian",
    osfinger: "Debian-12",
    osmajorrelease: 12,
    oscodename: "bookworm",
  },
} as const;
type Platform = keyof typeof PLATFORMS;

const SECRET = "render-test-secret-0123456789";
const DIGEST = randomDigest();

/** All SLS names under salt-states/salt (top.sls excluded). */
function allSls(): string[] {
  const root = path.join(STATES_DIR, "salt");
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith(".sls") && !(dir === root && entry.name === "top.sls")) {
        const rel = path
          .relative(root, p)
          .replace(/\.sls$/, "")
          .split(path.sep);
        if (rel.at(-1) === "init") rel.pop();
        out.push(rel.join("."));
      }
    }
  };
  walk(root);
  return out.sort();
}

function setup(platform: Platform, extraPillar: Record<string, unknown> = {}): string {
  const dir = mkTemp(`saltpipe-render-${platform}-`);
  fs.mkdirSync(path.join(dir, "conf"));
  fs.mkdirSync(path.join(dir, "pillar"));
  fs.writeFileSync(
    path.join(dir, "pillar", "saltpipe.sls"),
    renderPillar({
      environment: "dev",
      app: { name: "app", port: 8080, proxyPort: 8088, healthPath: "/healthz" },
      deploy: { healthTimeoutSeconds: 20, drainSeconds: 5, keepImages: 3 },
      registry: {
        server: "10.0.0.10:5000",
        repository: "saltpipe/app",
        username: "deploy",
        password: "s3cret-pass",
      },
      dockerDaemonConfig: { "insecure-registries": ["10.0.0.10:5000"] },
    }) + (Object.keys(extraPillar).length ? stringify(extraPillar) : ""),
  );
  fs.writeFileSync(
    path.join(dir, "conf", "minion"),
    stringify({
      id: `render-${platform}`,
      file_client: "local",
      root_dir: dir,
      file_roots: { base: [path.join(STATES_DIR, "salt"), STATES_DIR] },
      pillar_roots: { base: [path.join(STATES_DIR, "pillar"), path.join(dir, "pillar")] },
      grains: { ...PLATFORMS[platform], roles: ["app"], environment: "dev" },
      // What the master config carries (read by the reactor through config.get).
      saltpipe: {
        environment: "dev",
        // The pillar top targets these minion ids (never grains).
        minions: [`render-${platform}`],
        hook: {
          secret: SECRET,
          repository: "saltpipe/app",
          tag_pattern: defaultTagPattern("dev"),
          max_body_bytes: 65536,
        },
        deploy: { batch: "50%", role: "app", timeout: 120 },
      },
      log_level: "warning",
    }),
  );
  return dir;
}

type Chunk = Record<string, unknown> & { __sls__: string };
type ShowSls = Record<string, Chunk>;

async function showSls(dir: string, mods: string[], pillar?: Record<string, unknown>): Promise<ShowSls> {
  const args = [
    "--local",
    "-c",
    path.join(dir, "conf"),
    "--out",
    "json",
    "--retcode-passthrough",
    "state.show_sls",
    mods.join(","),
  ];
  if (pillar) args.push(`pillar=${JSON.stringify(pillar)}`);
  const res = await run(saltBin("salt-call"), args);
  if (res.code !== 0)
    throw new Error(`show_sls ${mods.join(",")} failed (${res.code}):\n${res.stdout}\n${res.stderr}`);
  const out = JSON.parse(res.stdout).local;
  if (Array.isArray(out)) throw new Error(`render errors:\n${out.join("\n")}`);
  return out as ShowSls;
}

/** The args of state `id` as one object, plus its function (`pkg.installed`). */
function stateArgs(high: ShowSls, id: string): { fun: string; args: Record<string, unknown> } {
  const chunk = high[id];
  if (!chunk) throw new Error(`state ${id} not rendered; have: ${Object.keys(high).join(", ")}`);
  for (const [mod, value] of Object.entries(chunk)) {
    if (mod.startsWith("__") || !Array.isArray(value)) continue;
    const args: Record<string, unknown> = {};
    let fun = "";
    for (const item of value) {
      if (typeof item === "string") fun = `${mod}.${item}`;
      else Object.assign(args, item);
    }
    return { fun, args };
  }
  throw new Error(`state ${id} has no module`);
}

describe.each(Object.keys(PLATFORMS) as Platform[])("salt-states render for %s", (platform) => {
  let dir: string;
  let high: ShowSls;
  const family = PLATFORMS[platform].os_family;

  beforeAll(async () => {
    dir = setup(platform);
    high = await showSls(dir, allSls(), {
      saltpipe_deploy: {
        digest: DIGEST,
        environment: "dev",
        event_id: "e1",
        tag: "dev-abc",
        generation: "gen-1",
      },
    });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("every SLS renders", () => {
    const rendered = new Set(Object.values(high).map((c) => c.__sls__));
    // Every SLS that declares states shows up (init.sls files only include others).
    for (const sls of allSls()) {
      const file = fs.existsSync(path.join(STATES_DIR, "salt", ...sls.split(".")) + ".sls")
        ? path.join(STATES_DIR, "salt", ...sls.split(".")) + ".sls"
        : path.join(STATES_DIR, "salt", ...sls.split("."), "init.sls");
      const declares = /^[a-z0-9][\w.-]*:\s*$/m.test(
        fs.readFileSync(file, "utf8").replace(/^include:\s*$/m, ""),
      );
      if (declares) expect({ sls, rendered: rendered.has(sls) }).toEqual({ sls, rendered: true });
    }
  });

  test("docker: per-family packages, repository and service", () => {
    const pkg = stateArgs(high, "docker-package-install-pkg-installed");
    expect(pkg.fun).toBe("pkg.installed");
    if (family === "RedHat") {
      expect(pkg.args.pkgs).toEqual(["docker-ce", "docker-ce-cli", "containerd.io"]);
      const repo = stateArgs(high, "docker-package-install-pkgrepo-managed");
      expect(repo.args.baseurl).toBe("https://download.docker.com/linux/centos/$releasever/$basearch/stable");
      expect(repo.args.gpgcheck).toBe(1);
    } else {
      expect(pkg.args.pkgs).toEqual(["docker.io"]);
      expect(high["docker-package-install-pkgrepo-managed"]).toBeUndefined();
    }
    const svc = stateArgs(high, "docker-service-running-service-running");
    expect(svc).toMatchObject({
      fun: "service.running",
      args: { name: "docker", unless: "/usr/bin/docker info" },
    });
    const daemon = stateArgs(high, "docker-config-file-file-managed");
    expect(daemon.args).toMatchObject({
      name: "/etc/docker/daemon.json",
      dataset: { "insecure-registries": ["10.0.0.10:5000"] },
    });
    expect(stateArgs(high, "docker-service-clean-service-dead").args.name).toBe("docker");
    expect(stateArgs(high, "docker-package-clean-pkg-removed").args.pkgs).toEqual(pkg.args.pkgs);
  });

  test("proxy: nginx package, service, site and per-family default site", () => {
    expect(stateArgs(high, "proxy-package-install-pkg-installed").args.name).toBe("nginx");
    expect(stateArgs(high, "proxy-service-running-service-running").args).toMatchObject({
      name: "nginx",
      reload: true,
    });
    const site = stateArgs(high, "proxy-config-file-file-managed-site");
    expect(site.args.name).toBe("/etc/nginx/conf.d/saltpipe-app.conf");
    expect(
      (site.args.context as { proxy: { site: { listen_port: number }; user: string } }).proxy.site
        .listen_port,
    ).toBe(8088);
    expect((site.args.context as { proxy: { user: string } }).proxy.user).toBe(
      family === "RedHat" ? "nginx" : "www-data",
    );
    const upstream = stateArgs(high, "proxy-config-file-file-managed-upstream");
    expect(upstream.args).toMatchObject({ name: "/etc/nginx/saltpipe/app-upstream.conf", replace: false });
    if (family === "Debian") {
      expect(stateArgs(high, "proxy-config-file-file-absent-default-1").args.name).toBe(
        "/etc/nginx/sites-enabled/default",
      );
    } else {
      expect(high["proxy-config-file-file-absent-default-1"]).toBeUndefined();
    }
  });

  test("app.deploy: the digest from pillar, registry credentials from pillar", () => {
    const deploy = stateArgs(high, "app-deploy-saltpipe-app-deployed");
    expect(deploy.fun).toBe("saltpipe_app.deployed");
    expect(deploy.args).toMatchObject({
      name: "app",
      image: "10.0.0.10:5000/saltpipe/app",
      digest: DIGEST,
      port: 8080,
      health_path: "/healthz",
      health_timeout: 20,
      drain_seconds: 5,
      slots: { blue: 18081, green: 18082 },
      upstream_file: "/etc/nginx/saltpipe/app-upstream.conf",
      // After the switch, one health answer through the minion's own proxy (its pillar port).
      proxy_health_url: "http://127.0.0.1:8088/healthz",
    });
    expect(high["app-deploy-saltpipe-app-deployed"].__sls__).toBe("app.deploy");
    const auth = stateArgs(high, "app-registry-file-serialize-auth");
    expect(auth.args).toMatchObject({
      name: "/etc/saltpipe/docker/config.json",
      mode: "0600",
      show_changes: false,
    });
    const dataset = auth.args.dataset as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(dataset.auths["10.0.0.10:5000"].auth, "base64").toString()).toBe("deploy:s3cret-pass");
  });

  test("app.prepare and app.deploy plan exactly the deploy app.deploy makes (the same arguments), after the credentials", () => {
    const deploy = stateArgs(high, "app-deploy-saltpipe-app-deployed");
    const { order: _deployOrder, require: deployRequire, ...deployArgs } = deploy.args;
    // app.deploy: its plan first (no pull: the deploy pulls), then the deploy, which needs it.
    expect(deployRequire).toEqual([{ saltpipe_app: "app-deploy-saltpipe-app-planned" }]);
    for (const [id, sls, pull] of [
      ["app-prepare-saltpipe-app-planned", "app.prepare", undefined],
      ["app-deploy-saltpipe-app-planned", "app.deploy", false],
    ] as const) {
      const plan = stateArgs(high, id);
      expect(plan.fun).toBe("saltpipe_app.planned");
      expect(high[id].__sls__).toBe(sls);
      const { order: _planOrder, require, generation, pull: planPull, ...planArgs } = plan.args;
      expect(planArgs).toEqual(deployArgs);
      expect({ require, generation, pull: planPull }).toEqual({
        require: [{ sls: "app.registry" }],
        generation: "gen-1",
        pull,
      });
    }
    expect(deployArgs).toMatchObject({ digest: DIGEST, progress: "saltpipe/deploy/dev/minion" });
  });

  test("app.preswitch: the command (argv) from the new image's digest; nothing without a command", async () => {
    const h = await showSls(dir, ["app.preswitch"], {
      saltpipe_deploy: { digest: DIGEST, environment: "dev" },
      saltpipe_pre_switch: { command: ["npm", "run", "migrate"], timeout: 120 },
    });
    const step = stateArgs(h, "app-preswitch-saltpipe-app-pre-switched");
    expect(step).toMatchObject({
      fun: "saltpipe_app.pre_switched",
      args: {
        name: "app",
        image: "10.0.0.10:5000/saltpipe/app",
        digest: DIGEST,
        command: ["npm", "run", "migrate"],
        timeout: 120,
        require: [{ sls: "app.registry" }],
      },
    });
    const none = await showSls(dir, ["app.preswitch"], { saltpipe_deploy: { digest: DIGEST } });
    expect(Object.keys(none).sort()).toEqual([
      "app-preswitch-test-nop-no-step",
      "app-registry-file-serialize-auth",
    ]);
  });

  test("app.deploy without a digest does nothing", async () => {
    const h = await showSls(dir, ["app.deploy"]);
    expect(Object.keys(h)).toContain("app-deploy-test-nop-no-digest");
    expect(h["app-deploy-saltpipe-app-deployed"]).toBeUndefined();
  });
});

describe("reactor render", () => {
  let dir: string;
  beforeAll(() => {
    dir = setup("debian-12");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Render a reactor SLS for an event (`tag`, `data`), as the reactor does. */
  async function renderReactor(file: string, tag: string, data: unknown): Promise<Record<string, unknown>> {
    const res = await run(saltBin("salt-call"), [
      "--local",
      "-c",
      path.join(dir, "conf"),
      "--out",
      "json",
      "slsutil.renderer",
      `path=${path.join(STATES_DIR, "reactor", file)}`,
      "default_renderer=jinja|yaml",
      `tag=${tag}`,
      `data=${JSON.stringify(data)}`,
    ]);
    if (res.code !== 0) throw new Error(`reactor render failed:\n${res.stdout}\n${res.stderr}`);
    return JSON.parse(res.stdout).local as Record<string, unknown>;
  }

  async function react(body: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
    let parsed: unknown = {};
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = {};
    }
    return renderReactor("registry.sls", HOOK_EVENT_TAG, { body, post: parsed, headers });
  }

  test("a minion that starts is handed to saltpipe.converge; a bad id, or another minion's tag, is not", async () => {
    const out = await renderReactor("minion-start.sls", "salt/minion/minion-2/start", { id: "minion-2" });
    const reaction = out["saltpipe-reactor-minion-start-runner-saltpipe-converge"] as Record<
      string,
      unknown[]
    >;
    expect(reaction["runner.saltpipe.converge"]).toEqual([
      { args: [{ environment: "dev" }, { minion: "minion-2" }] },
    ]);
    expect(await renderReactor("minion-start.sls", "salt/minion/x/start", { id: "bad id; rm -rf" })).toEqual(
      {},
    );
    // minion-1 fires minion-2's start tag: the sender is not the minion the tag names.
    expect(await renderReactor("minion-start.sls", "salt/minion/minion-2/start", { id: "minion-1" })).toEqual(
      {},
    );
    // A long host name is a valid minion id.
    const fqdn = `${"a".repeat(60)}.${"b".repeat(60)}.example.internal`;
    expect(await renderReactor("minion-start.sls", `salt/minion/${fqdn}/start`, { id: fqdn })).not.toEqual(
      {},
    );
  });
  const PROXIED = { [HOOK_PROXY_MARKER_HEADER]: hookProxyMarker(SECRET) };
  const ok = (tag = "dev-1a2b3c4") =>
    registryEnvelope({ id: "ev-ok", repository: "saltpipe/app", tag, digest: DIGEST });

  test("accepts a manifest push of this environment's tag that the hook proxy authenticated", async () => {
    const body = ok();
    const out = await react(body, PROXIED);
    const reaction = out["saltpipe-reactor-registry-runner-saltpipe-receive"] as Record<string, unknown[]>;
    expect(reaction).toBeDefined();
    // Straight to the runner, with the registry's own timestamp (the runner orders pushes by it).
    const args = (reaction["runner.saltpipe.receive"][0] as { args: Record<string, unknown>[] }).args;
    const sent = JSON.parse(body).events[0].timestamp;
    expect(Object.assign({}, ...args)).toEqual({
      environment: "dev",
      repository: "saltpipe/app",
      digest: DIGEST,
      tag: "dev-1a2b3c4",
      event_id: "ev-ok",
      timestamp: sent,
    });
    expect(sent).toMatch(/Z$/);
  });

  test.each([
    // Past the proxy (which checks the bearer token): only its marker counts, never a token.
    [
      "the bearer token itself, bypassing the proxy",
      ok(),
      { Authorization: `Bearer ${SECRET}` },
      "not authenticated by the hook proxy",
    ],
    ["a forged marker", ok(), { [HOOK_PROXY_MARKER_HEADER]: "0".repeat(64) }, "bad hook proxy marker"],
    [
      "the marker of another secret",
      ok(),
      { [HOOK_PROXY_MARKER_HEADER]: hookProxyMarker(`${SECRET}x`) },
      "bad hook proxy marker",
    ],
    [
      "a marker with a trailing newline",
      ok(),
      { [HOOK_PROXY_MARKER_HEADER]: `${hookProxyMarker(SECRET)}\n` },
      "not authenticated by the hook proxy",
    ],
    ["no credentials", ok(), {}, "not authenticated by the hook proxy"],
    ["a tag with a trailing newline", ok("dev-1a2b3c4\n"), PROXIED, "is not for environment dev"],
    [
      "a digest with a trailing newline",
      registryEnvelope({ repository: "saltpipe/app", tag: "dev-1", digest: `${DIGEST}\n` }),
      PROXIED,
      "bad digest",
    ],
    ["wrong environment", ok("prod-1a2b3c4"), PROXIED, "is not for environment dev"],
    ["tag that only starts like the environment", ok("devil"), PROXIED, "is not for environment dev"],
    [
      "wrong repository",
      registryEnvelope({ repository: "other/app", tag: "dev-1", digest: DIGEST }),
      PROXIED,
      "repository other/app is not saltpipe/app",
    ],
    [
      "blob push",
      registryEnvelope({ repository: "saltpipe/app", digest: DIGEST, mediaType: "application/octet-stream" }),
      PROXIED,
      "not a manifest",
    ],
    [
      "pull event",
      registryEnvelope({ action: "pull", repository: "saltpipe/app", tag: "dev-1", digest: DIGEST }),
      PROXIED,
      "not a push",
    ],
    ["no envelope", JSON.stringify({ hello: "world" }), PROXIED, "no events envelope"],
    [
      "bad digest",
      registryEnvelope({ repository: "saltpipe/app", tag: "dev-1", digest: "sha256:nothex" }),
      PROXIED,
      "bad digest",
    ],
  ])("refuses %s", async (_name, body, headers, reason) => {
    const out = await react(body, headers as Record<string, string>);
    expect(out["saltpipe-reactor-registry-runner-saltpipe-receive"]).toBeUndefined();
    expect(JSON.stringify(out)).not.toContain(hookProxyMarker(SECRET));
    const refused = out["saltpipe-reactor-registry-runner-saltpipe-refused"] as Record<string, unknown[]>;
    expect(refused).toBeDefined();
    const args = (refused["runner.saltpipe.refused"][0] as { args: Record<string, unknown>[] }).args;
    expect(args[0]).toEqual({ environment: "dev" });
    expect(String(args[1].reason)).toContain(reason);
    // Never a secret in what is audited.
    expect(JSON.stringify(out)).not.toContain(SECRET);
  });
});
