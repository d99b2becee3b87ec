/**
 * Stack config through the real Pulumi CLI and the Automation API (the mocks' side:
 * test/unit/plain-secrets.test.ts): a bad stack file prints exactly the README's message once
 * (no ConfigError name, no stack trace), a plain-text secret is refused however the program runs,
 * and a number YAML changed says "quote it". Nothing here registers a resource.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync } from "node:child_process";
import { REGISTRY_PASSWORD, testPrivateKey } from "../unit/fixtures";
import { newProject, toolchainBin, type Project } from "./support/pulumi";

jest.setTimeout(10 * 60_000); // the first run may build the CLI; each preview compiles the program

const repo = path.resolve(__dirname, "../..");
const SECRET = "0123456789abcdef0123456789abcdef";
// The program's first step, exactly as stacks/index.ts takes it.
const PROGRAM = `import { readStackConfig } from ${JSON.stringify(path.join(repo, "infra/config"))};\nreadStackConfig();\n`;

let project: Project;
beforeAll(async () => {
  project = await newProject("cfgcli", { "index.ts": PROGRAM });
});
afterAll(() => project?.remove());

/**
 * Pulumi.test.yaml with the listed keys set through the CLI (secret or not), then these plain
 * lines added to its text: `pulumi config set` rewrites the file (3008.10 would become 3008.1).
 */
async function stackFile(lines: string, set: Record<string, { value: string; secret: boolean }>) {
  const file = path.join(project.dir, "Pulumi.test.yaml");
  fs.writeFileSync(file, "config: {}\n");
  for (const [key, { value, secret }] of Object.entries(set)) {
    // The value on stdin: a private key starts with "-----", which a flag parser would take for a flag.
    const mode = secret ? "--secret" : "--plaintext";
    const r = await project.pulumi(["config", "set", mode, `saltpipe:${key}`], {}, value);
    if (r.code !== 0) throw new Error(`pulumi config set ${key} failed: ${r.stderr}`);
  }
  const text = fs.readFileSync(file, "utf8");
  expect(text).toMatch(/^config:\n/m);
  fs.writeFileSync(file, text.replace(/^config:\n/m, `config:\n${lines}`));
}

const secrets = (secret = true) => ({
  webhookSecret: { value: SECRET, secret },
  sshPrivateKey: { value: testPrivateKey(), secret: true },
  registryPassword: { value: REGISTRY_PASSWORD, secret: true },
});

async function preview(): Promise<string> {
  const r = await project.pulumi(["preview"]);
  expect(r.code).not.toBe(0);
  return `${r.stdout}\n${r.stderr}`;
}

describe("the real CLI", () => {
  test("a bad stack file prints the README's message, once, without a stack trace", async () => {
    await stackFile(
      "  saltpipe:cloud: local\n  saltpipe:minions: 0\n  saltpipe:deploy:\n    batch: 150%\n",
      secrets(),
    );
    const out = await preview();
    expect(out).toContain(
      [
        "Invalid stack configuration in Pulumi.test.yaml (2 problems):",
        "      - saltpipe:minions: 0 is out of range (1..500)",
        '      - saltpipe:deploy.batch: invalid value "150%" (a count ≥ 1 such as 1, or a percentage 1%..100%)',
      ].join("\n"),
    );
    expect(out.split("saltpipe:minions: 0 is out of range").length - 1).toBe(1);
    expect(out).not.toContain("ConfigError");
    expect(out).not.toMatch(/^\s+at .*\(.*:\d+:\d+\)$/m);
    expect(out).not.toContain("unhandled exception");
  });

  test("a plain-text webhookSecret is refused, with or without another key marked secret", async () => {
    await stackFile("  saltpipe:cloud: local\n  saltpipe:minions: 1\n", secrets(false));
    expect(await preview()).toContain(
      "saltpipe:webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret",
    );
    // No key marked secret at all (today: every plain value trusted).
    fs.writeFileSync(
      path.join(project.dir, "Pulumi.test.yaml"),
      `config:\n  saltpipe:cloud: local\n  saltpipe:minions: 1\n  saltpipe:webhookSecret: ${SECRET}\n`,
    );
    expect(await preview()).toContain("saltpipe:webhookSecret: must be set as a secret");
  });

  test("a number YAML changed: quote it", async () => {
    await stackFile(
      "  saltpipe:cloud: local\n  saltpipe:minions: 1\n  saltpipe:salt:\n    version: 3008.10\n",
      secrets(),
    );
    const out = await preview();
    expect(out).toContain(
      'saltpipe:salt.version: 3008.10 is read by YAML as the number 3008.1: quote it ("3008.10")',
    );
    expect(out).toContain("(1 problem)");
  });
});

describe("the Automation API (inline program, file backend, the toolchain's CLI)", () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-cfgauto-"))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function previewWith(secret: boolean): { ok: boolean; message?: string } {
    const args = {
      dir,
      cliRoot: path.dirname(toolchainBin()),
      stack: secret ? "autosecret" : "autoplain",
      config: {
        "saltpipe:cloud": { value: "local" },
        "saltpipe:minions": { value: "1" },
        "saltpipe:webhookSecret": { value: SECRET, secret },
        "saltpipe:sshPrivateKey": { value: testPrivateKey(), secret: true },
        "saltpipe:registryPassword": { value: REGISTRY_PASSWORD, secret: true },
      },
    };
    const out = execFileSync(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        path.join(__dirname, "support/automation-preview.ts"),
        JSON.stringify(args),
      ],
      { cwd: repo, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
    );
    return JSON.parse(out.trim().split("\n").pop()!);
  }

  test("a plain-text webhookSecret is refused", () => {
    const result = previewWith(false);
    expect(result.ok).toBe(false);
    expect(result.message).toContain(
      "saltpipe:webhookSecret: must be set as a secret: pulumi config set --secret webhookSecret",
    );
  });

  test("set as a secret, it is accepted", () => {
    expect(previewWith(true)).toEqual({ ok: true });
  });
});
