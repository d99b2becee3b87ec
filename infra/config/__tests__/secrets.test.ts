/**
 * The secrets: required, long enough, never in plain text, never echoed; the hook's TLS key;
 * the local registry's push password.
 */
import { REGISTRY_PASSWORD, stackConfig, testSecrets, testSecretsFor } from "../../../test/unit/fixtures";
import { parse, problemsOf, validAws } from "./helpers";

describe("secrets", () => {
  test("missing secrets are named with the command that sets them", () => {
    expect(problemsOf(validAws(), "dev", {})).toEqual([
      "sshPrivateKey: is required (pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519)",
      'webhookSecret: is required (pulumi config set --secret webhookSecret "$(openssl rand -hex 32)")',
    ]);
  });

  test("a short webhook secret is refused", () => {
    expect(problemsOf(validAws(), "dev", testSecrets({ webhookSecret: "short" }))).toEqual([
      "webhookSecret: is too short: use at least 16 characters (e.g. openssl rand -hex 32)",
    ]);
  });

  test("an unparsable SSH key is refused without echoing it", () => {
    const problems = problemsOf(validAws(), "dev", testSecrets({ sshPrivateKey: "not-a-key-SECRET-TEXT" }));
    expect(problems).toEqual(["sshPrivateKey: is not an unencrypted OpenSSH/PEM private key"]);
    expect(problems.join("\n")).not.toContain("SECRET-TEXT");
  });

  test("a secret stored in plain text is refused", () => {
    expect(problemsOf({ ...validAws(), webhookSecret: "plain-text-secret-value" })).toContain(
      "webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret",
    );
  });

  test("notification URLs need a notifySecret, and it must be long enough", () => {
    const withUrls = { ...validAws(), deploy: { notify: { urls: ["https://hooks.example.com/deploys"] } } };
    expect(problemsOf(withUrls)).toEqual([
      'notifySecret: is required when deploy.notify.urls is set (pulumi config set --secret notifySecret "$(openssl rand -hex 32)")',
    ]);
    expect(problemsOf(withUrls, "dev", testSecrets({ notifySecret: "short" }))).toEqual([
      "notifySecret: is too short: use at least 16 characters (e.g. openssl rand -hex 32)",
    ]);
    expect(parse(withUrls, "dev", testSecrets({ notifySecret: "n".repeat(32) })).secrets.notifySecret).toBe(
      "n".repeat(32),
    );
    expect(problemsOf({ ...validAws(), notifySecret: "plain-text-secret-value" })).toContain(
      "notifySecret: must be set as a secret: pulumi config set --secret notifySecret",
    );
  });

  test("a registry user needs a password", () => {
    expect(problemsOf({ ...validAws(), registry: { kind: "ecr", username: "ci" } })).toContain(
      "registryPassword: is required when registry.username is set (pulumi config set --secret registryPassword …)",
    );
  });
});

describe("the hook's certificate", () => {
  const local = (extra: Record<string, unknown> = {}) => ({ ...stackConfig("local"), ...extra });
  const CERT = "-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n";
  const KEY = "-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----\n";

  test("no hookTls: the master makes its own; with one, the key must come as the secret hookTlsKey", () => {
    expect(parse(local(), "local").hookTls).toBeUndefined();
    const spec = parse(
      local({ hookTls: { certificate: CERT } }),
      "local",
      testSecretsFor(local(), "local", { hookTlsKey: KEY }),
    );
    expect(spec.hookTls).toEqual({ certificate: CERT, ca: CERT });
    expect(spec.secrets.hookTlsKey).toBe(KEY);
    expect(problemsOf(local({ hookTls: { certificate: CERT } }), "local")).toEqual([
      "hookTlsKey: is required with hookTls.certificate (pulumi config set --secret hookTlsKey < hook.key)",
    ]);
    expect(problemsOf(local(), "local", testSecretsFor(local(), "local", { hookTlsKey: KEY }))).toEqual([
      "hookTlsKey: is only used with hookTls.certificate (set both, or neither)",
    ]);
    expect(
      problemsOf(
        local({ hookTls: { certificate: "nope", ca: CERT } }),
        "local",
        testSecretsFor(local(), "local", { hookTlsKey: "x" }),
      ),
    ).toEqual([
      "hookTls.certificate: expected a PEM certificate (-----BEGIN CERTIFICATE----- …)",
      "hookTlsKey: is not a PEM private key",
    ]);
    expect(
      problemsOf(
        local({ hookTlsKey: KEY, hookTls: { certificate: CERT } }),
        "local",
        testSecretsFor(local(), "local", { hookTlsKey: KEY }),
      ),
    ).toEqual(["hookTlsKey: must be set as a secret: pulumi config set --secret hookTlsKey"]);
  });
});

describe("the local registry's push password", () => {
  const local = () => ({ ...stackConfig("local") });
  test("required on local (only the pipeline pushes), at least 16 characters; never given to minions", () => {
    expect(problemsOf(local(), "local", testSecrets())).toEqual([
      'registryPassword: is required for the local registry: only the pipeline pushes, with this password (scripts/local-stack.sh makes one; or pulumi config set --secret registryPassword "$(openssl rand -hex 32)")',
    ]);
    expect(problemsOf(local(), "local", testSecrets({ registryPassword: "short" }))).toEqual([
      "registryPassword: must be at least 16 characters (openssl rand -hex 32)",
    ]);
    expect(parse(local(), "local").secrets.registryPassword).toBe(REGISTRY_PASSWORD);
    expect(problemsOf({ ...local(), registry: { username: "a:b" } }, "local")).toEqual([
      'registry.username: invalid value "a:b" (the local registry\'s push user: letters, digits, . _ -, at most 64)',
    ]);
  });
});
