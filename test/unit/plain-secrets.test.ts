/**
 * Plain-text secrets are refused under mocks too: readStackConfig asks the engine's own store
 * which keys are secret (setAllConfig's secretKeys here, PULUMI_CONFIG_SECRET_KEYS under the CLI,
 * the Automation API's run request), and the stack file's text when it can read it.
 * The real CLI and the Automation API: test/engine/config-cli.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackConfig } from "../../infra";
import { REGISTRY_PASSWORD, testPrivateKey, WEBHOOK_SECRET } from "./fixtures";
import { recorded, resetAll, setupMocks } from "./mocks";

const PLAIN = "saltpipe:webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret";
const config = () => ({
  "saltpipe:cloud": "local",
  "saltpipe:minions": "1",
  "saltpipe:webhookSecret": WEBHOOK_SECRET,
  "saltpipe:sshPrivateKey": testPrivateKey(),
  "saltpipe:registryPassword": REGISTRY_PASSWORD,
});
let empty: string;
beforeAll(() => (empty = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-nostack-"))));
afterAll(() => fs.rmSync(empty, { recursive: true, force: true }));
beforeEach(() => resetAll());

test("marked secret by the engine: accepted, and a Pulumi secret", async () => {
  setupMocks("plain", config(), [
    "saltpipe:webhookSecret",
    "saltpipe:sshPrivateKey",
    "saltpipe:registryPassword",
  ]);
  const spec = readStackConfig("plain", { projectDir: empty });
  expect(await new Promise((r) => spec.secrets.webhookSecret.apply(r))).toBe(WEBHOOK_SECRET);
});

test("one secret key marked, the other plain: the plain one is refused", () => {
  setupMocks("plain", config(), ["saltpipe:sshPrivateKey", "saltpipe:registryPassword"]);
  expect(() => readStackConfig("plain", { projectDir: empty })).toThrow(PLAIN);
  expect(recorded).toEqual([]);
});

test("no key marked secret at all: every plain secret is refused (not trusted)", () => {
  setupMocks("plain", config(), []);
  expect(() => readStackConfig("plain", { projectDir: empty })).toThrow(PLAIN);
  expect(() => readStackConfig("plain", { projectDir: empty })).toThrow(
    "saltpipe:sshPrivateKey: must be set as a secret",
  );
});

test("the stack file holds it in plain text: refused even when the engine lists it as secret", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-stackfile-"));
  fs.writeFileSync(
    path.join(dir, "Pulumi.plain.yaml"),
    `config:\n  saltpipe:cloud: local\n  saltpipe:webhookSecret: ${WEBHOOK_SECRET}\n  saltpipe:sshPrivateKey:\n    secure: v1:abc\n`,
  );
  setupMocks("plain", config(), [
    "saltpipe:webhookSecret",
    "saltpipe:sshPrivateKey",
    "saltpipe:registryPassword",
  ]);
  try {
    expect(() => readStackConfig("plain", { projectDir: dir })).toThrow(PLAIN);
    expect(() => readStackConfig("plain", { projectDir: dir })).not.toThrow("sshPrivateKey");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
