/**
 * A team's own PKI for a test: a throw-away CA and a certificate it signed for one host name,
 * made with openssl (as a team would), for `hookTls` in stack config.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface HookCertificate {
  /** PEM certificate for `dnsName`, signed by `ca`. */
  readonly certificate: string;
  /** PEM private key of `certificate` (goes to stack config as the secret hookTlsKey). */
  readonly key: string;
  /** PEM certificate of the CA: what the registry trusts. */
  readonly ca: string;
}

export function makeHookCertificate(dnsName: string): HookCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-pki-"));
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  try {
    openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      at("ca.key"),
      "-out",
      at("ca.pem"),
      "-subj",
      "/CN=test CA",
      "-days",
      "2",
    );
    openssl("req", ...ec, "-keyout", at("hook.key"), "-out", at("hook.csr"), "-subj", `/CN=${dnsName}`);
    fs.writeFileSync(at("ext"), `subjectAltName=DNS:${dnsName}\nextendedKeyUsage=serverAuth\n`);
    openssl(
      ...["x509", "-req", "-in", at("hook.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key")],
      ...["-CAcreateserial", "-out", at("hook.pem"), "-days", "2", "-extfile", at("ext")],
    );
    const read = (name: string) => fs.readFileSync(at(name), "utf8");
    return { certificate: read("hook.pem"), key: read("hook.key"), ca: read("ca.pem") };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
