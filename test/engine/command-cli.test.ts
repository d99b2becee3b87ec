/**
 * The `command` stand-in under the real Pulumi CLI, against a real sshd: up, no-op, a content
 * change that replaces exactly the resources whose triggers hash it, delete on replace and
 * destroy, and secrets (SSH key, secret command) absent from state and engine output.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { changedSteps, newProject, Project, recordingPulumi, Result, timings } from "./support/pulumi";
import { startSshd, TestSshd } from "./support/sshd";

jest.setTimeout(15 * 60_000); // the first run may build the Pulumi CLI

const program = `
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as crypto from "node:crypto";
import * as fs from "node:fs";

const e = process.env;
const connection = { host: e.SSH_HOST!, port: Number(e.SSH_PORT), user: e.SSH_USER!, privateKey: e.SSH_KEY!, dialErrorLimit: 3 };
const dest = e.REMOTE_DIR!;
const hash = crypto.createHash("sha256").update(fs.readFileSync("payload/state.sls")).digest("hex");

const copy = new command.remote.CopyToRemote("copy", {
  connection, source: new pulumi.asset.FileAsset("payload/state.sls"), remotePath: dest + "/state.sls", triggers: [hash],
});
new command.remote.CopyToRemote("text", { connection, source: new pulumi.asset.StringAsset("static"), remotePath: dest + "/static.txt" });
const apply = new command.remote.Command("apply", {
  connection, create: "cat " + dest + "/state.sls", delete: "echo \\"$PULUMI_COMMAND_STDOUT\\" >> " + dest + "/deleted", triggers: [hash],
}, { dependsOn: [copy] });
const secretCmd = new command.remote.Command("secret", { connection, create: pulumi.secret("echo TOPSECRET-OUT") });
export const applied = apply.stdout;
export const secretOut = secretCmd.stdout;
`;

let sshd: TestSshd;
let project: Project;
let remoteDir: string;
const log: Result[] = [];

const pulumi = recordingPulumi(() => project, log);
const outputs = async () => JSON.parse((await pulumi("stack", "output", "--json")).stdout);

beforeAll(async () => {
  sshd = await startSshd();
  remoteDir = fs.mkdtempSync("/tmp/saltpipe-remote-");
  project = await newProject(
    "engine-command",
    { "index.ts": program, "payload/state.sls": "version: 1\n" },
    {
      SSH_HOST: sshd.host,
      SSH_PORT: String(sshd.port),
      SSH_USER: sshd.user,
      SSH_KEY: sshd.privateKey,
      REMOTE_DIR: remoteDir,
    },
  );
});
afterAll(async () => {
  process.stderr.write(`engine timings (${project?.dir}): ${timings(log)}\n`);
  await project?.pulumi(["destroy", "--yes"]);
  project?.remove();
  await sshd?.stop();
  fs.rmSync(remoteDir, { recursive: true, force: true });
});

test("up, no-op, change, destroy through the CLI", async () => {
  await pulumi("up", "--yes", "--skip-preview");
  expect(await outputs()).toEqual({ applied: "version: 1", secretOut: "[secret]" });
  expect(fs.readFileSync(path.join(remoteDir, "static.txt"), "utf8")).toBe("static");

  expect((await pulumi("preview", "--expect-no-changes")).code).toBe(0);

  fs.writeFileSync(path.join(project.dir, "payload/state.sls"), "version: 2\n");
  const preview = await pulumi("preview", "--json");
  expect(changedSteps(preview.stdout).sort()).toEqual(["replace apply", "replace copy"]);

  await pulumi("up", "--yes", "--skip-preview");
  expect((await outputs()).applied).toBe("version: 2");
  expect(fs.readFileSync(path.join(remoteDir, "deleted"), "utf8")).toBe("version: 1\n"); // the old one's delete ran

  await pulumi("destroy", "--yes", "--skip-preview");
  expect(fs.readFileSync(path.join(remoteDir, "deleted"), "utf8")).toBe("version: 1\nversion: 2\n");
});

test("no secret in plain text in the state or the engine's output", () => {
  const keyBody = sshd.privateKey.split("\n")[1];
  const everything = [project.backendText(), ...log.map((r) => r.stdout + r.stderr)].join("\n");
  expect(everything).toContain("version: 2"); // sanity: we are looking at the right text
  expect(everything).not.toContain(keyBody);
  expect(everything).not.toContain("TOPSECRET-OUT");
});
