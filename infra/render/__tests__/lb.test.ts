import { renderLbConfig } from "../lb";

const servers = [
  { name: "minion-1", host: "minion-1", port: 80 },
  { name: "minion-2", host: "minion-2", port: 80 },
];

describe("renderLbConfig", () => {
  test("one frontend, every minion's proxy a server with an active HTTP check on the health path", () => {
    const text = renderLbConfig({ servers, healthPath: "/healthz", resolver: "127.0.0.11:53" });
    expect(text).toContain("frontend app\n    bind :8080\n");
    expect(text).toContain(
      "option httpchk\n    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host saltpipe-lb\n",
    );
    expect(text).toContain("http-check expect status 200");
    expect(text).toContain(
      "    default-server check inter 500ms fastinter 250ms downinter 1000ms fall 2 rise 2 resolvers docker init-addr last,libc,none\n" +
        "    server minion-1 minion-1:80\n    server minion-2 minion-2:80\n",
    );
    expect(text).toContain("resolvers docker\n    nameserver dns 127.0.0.11:53\n");
  });

  test("idempotent requests that got no answer are retried on another server; no version is sent", () => {
    const text = renderLbConfig({ servers, healthPath: "/healthz" });
    expect(text).toContain("retries 3\n    option redispatch 1\n");
    expect(text).toContain("retry-on conn-failure empty-response junk-response response-timeout 502 503 504");
    expect(text).toContain("http-response del-header Server");
    expect(text).not.toContain("stats");
    expect(text).not.toContain("resolvers");
  });

  test("check interval, fall and rise are configurable; bad values are refused", () => {
    expect(renderLbConfig({ servers, healthPath: "/h", checkIntervalMs: 1000, fall: 3, rise: 1 })).toContain(
      "check inter 1000ms fastinter 500ms downinter 2000ms fall 3 rise 1",
    );
    expect(() => renderLbConfig({ servers: [], healthPath: "/h" })).toThrow("servers: at least one");
    expect(() => renderLbConfig({ servers, healthPath: "healthz" })).toThrow("healthPath: invalid");
    expect(() => renderLbConfig({ servers, healthPath: "/h;x" })).toThrow("healthPath: invalid");
    expect(() =>
      renderLbConfig({ servers: [{ name: "a b", host: "a", port: 80 }], healthPath: "/h" }),
    ).toThrow('servers: invalid name "a b"');
    expect(() => renderLbConfig({ servers: [{ name: "a", host: "a", port: 0 }], healthPath: "/h" })).toThrow(
      "servers: invalid port 0 of a",
    );
    expect(() => renderLbConfig({ servers, healthPath: "/h", checkIntervalMs: 10 })).toThrow(
      "checkIntervalMs",
    );
  });
});
