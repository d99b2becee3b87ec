import { parse } from "yaml";
import {
  DEFAULT_MASTER_CONFIG_PATH,
  DEFAULT_MINION_CONFIG_PATH,
  DEFAULT_PILLAR_DIR,
  DEFAULT_SALT_STATES_DIR,
  ANY_TAG_PATTERN,
  HOOK_EVENT_TAG,
  HOOK_URL_PATH,
  MINION_START_EVENT_TAG,
  defaultTagPattern,
  renderHookProxyConfig,
  hookProxyMarker,
  HOOK_PROXY_MARKER_HEADER,
  DEFAULT_HOOK_REFUSED_LOG,
  renderMasterConfig,
  renderMinionConfig,
  renderSaltApiConfig,
} from "../salt-config";
import { renderPillar } from "../salt-pillar";

const SECRET = "0123456789abcdef-secret";
const TOKEN = "0123456789abcdef0123456789abcdef";
const master = (over: Partial<Parameters<typeof renderMasterConfig>[0]> = {}) =>
  renderMasterConfig({
    environment: "dev",
    publishPort: 4505,
    retPort: 4506,
    webhookSecret: SECRET,
    repository: "saltpipe/app",
    batch: "50%",
    ...over,
  });

describe("renderMasterConfig", () => {
  test("defaults for real hosts: roots under /srv/saltpipe, reactor on the hook tag, no auto_accept, open_mode off", () => {
    const c = parse(master());
    expect(DEFAULT_SALT_STATES_DIR).toBe("/srv/saltpipe/salt-states");
    expect(DEFAULT_PILLAR_DIR).toBe("/srv/saltpipe/pillar");
    expect(DEFAULT_MASTER_CONFIG_PATH).toBe("/etc/salt/master.d/saltpipe.conf");
    expect(DEFAULT_MINION_CONFIG_PATH).toBe("/etc/salt/minion.d/saltpipe.conf");
    expect(c).toMatchObject({
      interface: "0.0.0.0",
      publish_port: 4505,
      ret_port: 4506,
      auto_accept: false,
      open_mode: false,
      file_roots: { base: ["/srv/saltpipe/salt-states/salt", "/srv/saltpipe/salt-states"] },
      pillar_roots: { base: ["/srv/saltpipe/salt-states/pillar", "/srv/saltpipe/pillar"] },
      runner_dirs: ["/srv/saltpipe/salt-states/salt/_runners"],
      engines_dirs: ["/srv/saltpipe/salt-states/salt/_engines"],
      reactor: [
        { [HOOK_EVENT_TAG]: ["/srv/saltpipe/salt-states/reactor/registry.sls"] },
        { [MINION_START_EVENT_TAG]: ["/srv/saltpipe/salt-states/reactor/minion-start.sls"] },
      ],
      engines: [{ saltpipe_reconcile: { interval: 30, startup_wait: 60 } }, { saltpipe_operator: {} }],
      saltpipe: {
        environment: "dev",
        hook: {
          secret: SECRET,
          repository: "saltpipe/app",
          tag_pattern: defaultTagPattern("dev"),
          max_body_bytes: 65536,
        },
        deploy: {
          batch: "50%",
          role: "app",
          timeout: 300,
          tag_policy: "",
          approval: { required: false, expires_minutes: 60 },
        },
        notify: { urls: [], secret: "", timeout: 5, retries: 3 },
      },
    });
    expect(c.saltpipe.deploy.pre_switch).toBeUndefined();
    expect(c.root_dir).toBeUndefined();
  });

  test("lifecycle: tag policy (the reactor then lets every tag through), approval, pre-switch, notifications", () => {
    const c = parse(
      master({
        lifecycle: {
          tagPolicy: "semver:^1.2",
          approval: { required: true, expiresMinutes: 15 },
          preSwitch: { command: ["npm", "run", "migrate"], timeoutSeconds: 120 },
          notify: {
            urls: ["https://hooks.example.com/x"],
            secret: "n".repeat(16),
            timeoutSeconds: 2,
            retries: 4,
          },
          reconcileSeconds: 10,
        },
      }),
    );
    expect(c.saltpipe.hook.tag_pattern).toBe(ANY_TAG_PATTERN);
    expect(c.saltpipe.deploy).toMatchObject({
      tag_policy: "semver:^1.2",
      approval: { required: true, expires_minutes: 15 },
      pre_switch: { command: ["npm", "run", "migrate"], timeout: 120 },
    });
    expect(c.saltpipe.notify).toEqual({
      urls: ["https://hooks.example.com/x"],
      secret: "n".repeat(16),
      timeout: 2,
      retries: 4,
    });
    expect(c.engines).toEqual([
      { saltpipe_reconcile: { interval: 10, startup_wait: 60 } },
      { saltpipe_operator: {} },
    ]);
  });

  test("paths are parameters (tests point them into temporary dirs)", () => {
    const c = parse(
      master({
        statesDir: "/tmp/x/states",
        pillarDir: "/tmp/x/pillar",
        rootDir: "/tmp/x/root",
        interface: "127.0.0.1",
      }),
    );
    expect(c).toMatchObject({
      root_dir: "/tmp/x/root",
      interface: "127.0.0.1",
      file_roots: { base: ["/tmp/x/states/salt", "/tmp/x/states"] },
    });
  });

  test("the default tag pattern takes the environment and its dash-suffixed tags only", () => {
    // A Python pattern for the reactor: anchored with \Z (`$` would let "dev\n" through).
    expect(defaultTagPattern("dev")).toMatch(/\\Z$/);
    const re = new RegExp(defaultTagPattern("dev").replace(/\\Z$/, "$(?![\\s\\S])"));
    expect(["dev", "dev-1a2b3c4", "dev-main.42"].every((t) => re.test(t))).toBe(true);
    expect(["prod", "devil", "prod-dev", "dev-", "dev-a b", "dev-1\n"].some((t) => re.test(t))).toBe(false);
  });

  test("renders the validated spec's batch as given (the validator is where its grammar is checked)", () => {
    for (const batch of ["1", "3", "25%", "100%"])
      expect(parse(master({ batch })).saltpipe.deploy.batch).toBe(batch);
  });

  test.each([
    [{ extra: { auto_accept: true } }, /auto_accept/],
    [{ extra: { open_mode: true } }, /open_mode/],
    [{ extra: { pillar_opts: true } }, /pillar_opts may not be set/],
  ])("rejects %o", (over, err) => {
    expect(() => master(over as never)).toThrow(err);
  });
});

describe("renderSaltApiConfig", () => {
  test("loopback only, webhook auth off (the reactor verifies), plain HTTP without a certificate", () => {
    expect(parse(renderSaltApiConfig({ apiPort: 8001 }))).toEqual({
      rest_cherrypy: {
        host: "127.0.0.1",
        port: 8001,
        webhook_url: "/hook",
        webhook_disable_auth: true,
        max_request_body_size: 65536,
        thread_pool: 8,
        disable_ssl: true,
      },
    });
  });
  test("TLS when a certificate is given", () => {
    const c = parse(
      renderSaltApiConfig({
        apiPort: 8001,
        tls: { certFile: "/etc/pki/hook.crt", keyFile: "/etc/pki/hook.key" },
      }),
    );
    expect(c.rest_cherrypy).toMatchObject({ ssl_crt: "/etc/pki/hook.crt", ssl_key: "/etc/pki/hook.key" });
    expect(c.rest_cherrypy.disable_ssl).toBeUndefined();
  });
});

describe("renderHookProxyConfig", () => {
  test("forces the JSON content type, caps the body, POST only on the hook path, 404 elsewhere", () => {
    const text = renderHookProxyConfig({
      hookPort: 8443,
      apiPort: 8001,
      maxBodyBytes: 16384,
      webhookSecret: TOKEN,
    });
    expect(text).toContain("listen 8443;");
    expect(text).toContain(`location = ${HOOK_URL_PATH} {`);
    expect(text).toContain("proxy_set_header Content-Type application/json;");
    expect(text).toContain(`location = ${HOOK_URL_PATH} {`);
    expect(text).toContain("proxy_pass http://127.0.0.1:8001;");
    expect(text).toContain("client_max_body_size 16384;");
    expect(text).toContain("limit_except POST { deny all; }");
    expect(text).toMatch(/location \/ \{\s+return 404;/);
    expect(text).not.toContain("ssl");
    expect(text).toContain("server_tokens off;");
  });
  test("with a certificate: the listener is TLS only (1.2+); salt-api stays plain on loopback unless apiTls", () => {
    const tls = { certFile: "/c.pem", keyFile: "/k.pem" };
    const text = renderHookProxyConfig({ hookPort: 8443, apiPort: 8001, webhookSecret: TOKEN, tls });
    expect(text.match(/^\s*listen .*$/gm)).toEqual(["    listen 8443 ssl;"]);
    expect(text).toContain("ssl_certificate /c.pem;");
    expect(text).toContain("ssl_certificate_key /k.pem;");
    expect(text).toContain("ssl_protocols TLSv1.2 TLSv1.3;");
    expect(text).toContain("server_tokens off;");
    expect(text).toContain("proxy_pass http://127.0.0.1:8001;");
    const both = renderHookProxyConfig({
      hookPort: 8443,
      apiPort: 8001,
      webhookSecret: TOKEN,
      tls,
      apiTls: true,
    });
    expect(both).toContain("proxy_pass https://127.0.0.1:8001;");
  });
});

describe("renderHookProxyConfig: unauthenticated requests cost nothing", () => {
  const text = renderHookProxyConfig({ hookPort: 8443, apiPort: 8001, webhookSecret: TOKEN });
  test("the bearer token is compared by nginx; without it: 401 from nginx, never salt-api", () => {
    expect(text).toContain(`"Bearer ${TOKEN}" 1;`);
    // A 64-character token makes a 71-character key: past nginx's default bucket of 64.
    expect(renderHookProxyConfig({ hookPort: 1, apiPort: 2, webhookSecret: "a".repeat(64) })).toContain(
      "map_hash_bucket_size 128;",
    );
    expect(text).toContain("try_files /no-such-file @saltpipe_hook_$saltpipe_hook_auth;");
    expect(text).toMatch(/location @saltpipe_hook_0 \{\s+return 401;\s+\}/);
    const unauth = /location @saltpipe_hook_0 \{[^}]*\}/.exec(text)![0];
    expect(unauth).not.toContain("proxy_pass");
  });
  test("credentials never reach salt-api: Authorization and signatures stripped, a derived marker instead", () => {
    const authed = /location @saltpipe_hook_1 \{[^}]*\}/.exec(text)![0];
    expect(authed).toContain('proxy_set_header Authorization "";');
    expect(authed).toContain('proxy_set_header X-Saltpipe-Signature "";');
    expect(authed).toContain('proxy_set_header X-Hub-Signature-256 "";');
    expect(authed).toContain(`proxy_set_header ${HOOK_PROXY_MARKER_HEADER} ${hookProxyMarker(TOKEN)};`);
    expect(hookProxyMarker(TOKEN)).toMatch(/^[0-9a-f]{64}$/);
    expect(hookProxyMarker(TOKEN)).not.toContain(TOKEN);
    expect(authed).not.toContain(TOKEN);
  });
  test("rate and connection limits, separate for unauthenticated (per address) and authenticated requests", () => {
    expect(text).toContain("limit_req_zone $saltpipe_hook_anon_key zone=saltpipe_hook_anon:1m rate=20r/s;");
    expect(text).toContain("limit_req_zone $saltpipe_hook_auth_key zone=saltpipe_hook_auth:64k rate=20r/s;");
    expect(text).toContain("limit_conn saltpipe_hook_anon_conn 4;");
    expect(text).toContain("limit_conn saltpipe_hook_auth_conn 16;");
    expect(text).toContain("client_header_timeout 5s;");
    expect(text).toContain(
      'map $saltpipe_hook_auth $saltpipe_hook_anon_key { 1 ""; default $binary_remote_addr; }',
    );
  });
  test("refusals: one short line (time, status, address) in their own log; no header is ever logged", () => {
    expect(text).toContain("log_format saltpipe_hook_refused '$time_iso8601 $status $remote_addr';");
    expect(text).toContain(
      `access_log ${DEFAULT_HOOK_REFUSED_LOG} saltpipe_hook_refused if=$saltpipe_hook_refused;`,
    );
    expect(text).not.toMatch(/log_format[^\n]*http_/);
    expect(text).toContain("limit_req_log_level info;");
  });
  test.each(["short", "has space in it 123456", 'quote"injection-123456', "dollar$variable-123456"])(
    "refuses a token nginx could not compare literally: %j",
    (bad) => {
      expect(() => renderHookProxyConfig({ hookPort: 8443, apiPort: 8001, webhookSecret: bad })).toThrow(
        /webhookSecret/,
      );
    },
  );
});

describe("renderMinionConfig", () => {
  test("master address, id, grains environment + roles", () => {
    const c = parse(
      renderMinionConfig({
        id: "web-1",
        master: "10.0.0.5",
        masterPort: 4506,
        publishPort: 4505,
        environment: "test",
        roles: ["app"],
      }),
    );
    expect(c).toEqual({
      id: "web-1",
      master: "10.0.0.5",
      master_port: 4506,
      publish_port: 4505,
      grains: { environment: "test", roles: ["app"] },
      acceptance_wait_time: 2,
    });
  });
  test("rejects a bad id or role", () => {
    expect(() =>
      renderMinionConfig({
        id: "bad id",
        master: "m",
        masterPort: 1,
        publishPort: 2,
        environment: "dev",
        roles: [],
      }),
    ).toThrow(/minion id/);
    expect(() =>
      renderMinionConfig({
        id: "ok",
        master: "m",
        masterPort: 1,
        publishPort: 2,
        environment: "dev",
        roles: ["a b"],
      }),
    ).toThrow(/role/);
  });
});

describe("renderPillar", () => {
  const base = {
    environment: "dev",
    app: { name: "app", port: 8080, proxyPort: 80, healthPath: "/healthz" },
    deploy: { healthTimeoutSeconds: 30, drainSeconds: 10, keepImages: 3 },
    registry: { server: "10.0.0.10:5000", repository: "saltpipe/app", username: "deploy", password: "pw" },
  };
  test("app, proxy, registry credentials; no webhook secret", () => {
    const text = renderPillar(base);
    const p = parse(text);
    expect(p).toMatchObject({
      saltpipe: { environment: "dev" },
      proxy: { site: { name: "app", listen_port: 80, placeholder_server: "127.0.0.1:18081" } },
      app: {
        name: "app",
        port: 8080,
        health_path: "/healthz",
        slots: { blue: 18081, green: 18082 },
        upstream_file: "/etc/nginx/saltpipe/app-upstream.conf",
        deploy: { health_timeout: 30, drain_seconds: 10, keep_images: 3 },
        registry: {
          server: "10.0.0.10:5000",
          repository: "saltpipe/app",
          username: "deploy",
          password: "pw",
        },
      },
    });
    expect(p.docker).toBeUndefined();
    expect(text).not.toMatch(/secret/i);
  });
  test("docker daemon config only when given", () => {
    expect(
      parse(renderPillar({ ...base, dockerDaemonConfig: { "insecure-registries": ["r:5000"] } })).docker,
    ).toEqual({
      daemon_config: { "insecure-registries": ["r:5000"] },
    });
  });
  test("rejects half credentials and a bad health path", () => {
    expect(() =>
      renderPillar({ ...base, registry: { server: "r", repository: "x", username: "u" } }),
    ).toThrow(/together/);
    expect(() => renderPillar({ ...base, app: { ...base.app, healthPath: "healthz; rm -rf" } })).toThrow(
      /healthPath/,
    );
  });
});
