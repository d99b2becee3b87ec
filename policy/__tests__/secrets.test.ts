import { looksSecret, noPlaintextSecrets } from "../secrets";
import { UNKNOWN, remediated, secret } from "./harness";

const COMMAND = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";
const KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const connection = { host: "192.0.2.10", user: "ops", privateKey: secret(KEY) };

const remediate = (type: string, props: Record<string, unknown>) =>
  remediated(noPlaintextSecrets, { type, props });

describe("no-plaintext-secrets", () => {
  test("credential names, NAME=value pairs and private keys look secret; look-alike names do not", () => {
    for (const name of [
      "password",
      "registryPassword",
      "webhook_secret",
      "authToken",
      "privateKey",
      "api-key",
    ])
      expect(looksSecret(name, "x")).toBe(true);
    for (const name of ["httpTokens", "secretArn", "publicKey", "keyName", "tokenUrl"])
      expect(looksSecret(name, "x")).toBe(false);
    expect(looksSecret("stdin", `cat > key <<EOF\n${KEY}EOF`)).toBe(true);
    expect(looksSecret("0", "DB_PASSWORD=x")).toBe(true);
    expect(looksSecret("0", "container=docker")).toBe(false);
    expect(looksSecret("password", "")).toBe(false);
  });

  test("a command whose key and script are already secrets is left alone", async () => {
    const props = {
      connection,
      create: "bash -s",
      stdin: secret(`install -m 0600 /dev/stdin key <<EOF\n${KEY}EOF`),
    };
    expect(await remediate(COMMAND, props)).toBeUndefined();
  });

  test("a private key in plain stdin or environment is sent back as a secret; nothing else changes", async () => {
    const stdin = `cat > /root/key <<EOF\n${KEY}EOF`;
    const props = { connection, create: "bash -s", stdin, environment: { DEPLOY_KEY: KEY, LANG: "C.UTF-8" } };
    expect(await remediate(COMMAND, props)).toEqual({
      ...props,
      stdin: secret(stdin),
      environment: { DEPLOY_KEY: secret(KEY), LANG: "C.UTF-8" },
    });
  });

  test("a credential-named input or a NAME=value list item with a plain value is sent back as a secret", async () => {
    const registry = { server: "registry.example.com", username: "ci", password: "hunter2hunter2" };
    expect(await remediate("docker:index/image:Image", { imageName: "shop:v1", registry })).toEqual({
      imageName: "shop:v1",
      registry: { ...registry, password: secret("hunter2hunter2") },
    });
    const envs = ["container=docker", "DB_PASSWORD=hunter2hunter2"];
    expect(await remediate(CONTAINER, { envs })).toEqual({ envs: [envs[0], secret(envs[1])] });
  });

  test("values already secret, or unknown in a preview, need nothing", async () => {
    const props = { envs: [secret("DB_PASSWORD=x")], authToken: secret("t"), password: UNKNOWN };
    expect(await remediate(CONTAINER, props)).toBeUndefined();
  });
});
