import { parse } from "yaml";
import { renderRegistryConfig } from "../registry";

describe("renderRegistryConfig", () => {
  test("the push instance: htpasswd credentials for every request, notifications to the hook", () => {
    const c = parse(
      renderRegistryConfig({
        notifyUrl: "https://master:8443/hook",
        token: "t".repeat(32),
        htpasswdPath: "/h",
      }),
    );
    expect(c.auth).toEqual({ htpasswd: { realm: "saltpipe-registry", path: "/h" } });
    expect(c.notifications.endpoints[0].url).toBe("https://master:8443/hook");
    expect(c.storage.maintenance).toBeUndefined();
  });
  test("the pull instance: read-only, anonymous, silent", () => {
    const c = parse(renderRegistryConfig({ readOnly: true }));
    expect(c.storage.maintenance).toEqual({ readonly: { enabled: true } });
    expect(c.auth).toBeUndefined();
    expect(c.notifications).toBeUndefined();
    expect(() => renderRegistryConfig({ readOnly: true, htpasswdPath: "/h" })).toThrow(/readOnly/);
  });
});
