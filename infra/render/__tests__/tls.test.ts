import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { hookSubjectAltName, renderHookTlsScript } from "../tls";

describe("renderHookTlsScript", () => {
  it("validates names", () => {
    expect(() => renderHookTlsScript({ dnsNames: [], caName: "x" })).toThrow("dnsNames: at least one");
    expect(() => renderHookTlsScript({ dnsNames: ["a b"], caName: "x" })).toThrow(/dnsNames: invalid/);
    expect(() => renderHookTlsScript({ dnsNames: ["m"], ipAddresses: ["1.2.3"], caName: "x" })).toThrow(
      /ipAddresses: invalid/,
    );
    expect(hookSubjectAltName({ dnsNames: ["master", "m.example"], ipAddresses: ["10.0.0.5"] })).toBe(
      "DNS:master,DNS:m.example,IP:10.0.0.5",
    );
  });

  // The script is run for real (openssl of this machine) in a temporary directory.
  it("makes a CA and a certificate for the names, once; prints only the CA; deletes the CA key", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-tls-"));
    try {
      const tls = path.join(dir, "tls");
      const script = renderHookTlsScript({
        dnsNames: ["master"],
        ipAddresses: ["127.0.0.1"],
        caName: "local",
        dir: tls,
      });
      const first = execFileSync("bash", ["-s"], { input: script }).toString();
      expect(first).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
      expect(first).not.toContain("PRIVATE KEY");
      expect(fs.readdirSync(tls).sort()).toEqual(["ca.crt", "hook.crt", "hook.key", "hook.san"]);
      expect(fs.statSync(path.join(tls, "hook.key")).mode & 0o777).toBe(0o600);
      const ca = path.join(dir, "ca.pem");
      fs.writeFileSync(ca, first);
      const verify = execFileSync("openssl", [
        "verify",
        "-CAfile",
        ca,
        path.join(tls, "hook.crt"),
      ]).toString();
      expect(verify).toContain(": OK");
      const text = execFileSync("openssl", [
        "x509",
        "-noout",
        "-text",
        "-in",
        path.join(tls, "hook.crt"),
      ]).toString();
      expect(text).toMatch(/DNS:master, IP Address:127\.0\.0\.1/);
      expect(text).toContain("TLS Web Server Authentication");
      // Second run: same names, valid certificate → nothing is made again, same CA printed.
      const key = fs.readFileSync(path.join(tls, "hook.key"), "utf8");
      expect(execFileSync("bash", ["-s"], { input: script }).toString()).toBe(first);
      expect(fs.readFileSync(path.join(tls, "hook.key"), "utf8")).toBe(key);
      // Other names → a new CA and certificate.
      const other = renderHookTlsScript({ dnsNames: ["master", "hook.example"], caName: "local", dir: tls });
      expect(execFileSync("bash", ["-s"], { input: other }).toString()).not.toBe(first);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
