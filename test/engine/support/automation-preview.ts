/**
 * `preview` of an inline program that only reads the stack config (readStackConfig), through
 * the Automation API: LocalWorkspace, a file backend, the toolchain's CLI. Run as a child
 * process by test/engine/config-cli.test.ts, so the SDK's own leftovers stay out of jest:
 * an inline program that throws also leaves unhandled rejections of the stack resource's
 * promises behind (the SDK's doing), which jest would count as a failure of the test file.
 *
 *   ts-node support/automation-preview.ts '{"dir":…,"cliRoot":…,"stack":…,"config":{key:{value,secret}}}'
 * Prints one JSON line: {"ok": true} or {"ok": false, "message": "..."}.
 */
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type ConfigMap } from "@pulumi/pulumi/automation";
import { readStackConfig } from "../../../infra/config";

interface Args {
  dir: string;
  cliRoot: string;
  stack: string;
  config: ConfigMap;
}

process.on("unhandledRejection", () => undefined); // see above; the preview's own result is what counts

async function main(args: Args): Promise<{ ok: boolean; message?: string }> {
  const pulumiCommand = await PulumiCommand.get({ root: args.cliRoot, skipVersionCheck: true });
  const stack = await LocalWorkspace.createOrSelectStack(
    {
      stackName: args.stack,
      projectName: "cfgauto",
      program: async () => {
        readStackConfig();
      },
    },
    {
      pulumiCommand,
      workDir: args.dir,
      envVars: {
        PULUMI_BACKEND_URL: `file://${args.dir}`,
        PULUMI_HOME: path.join(args.dir, ".pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE: "automation-test-passphrase",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      },
    },
  );
  await stack.setAllConfig(args.config);
  try {
    await stack.preview();
    return { ok: true };
  } catch (e) {
    return { ok: false, message: String((e as Error).message) };
  }
}

main(JSON.parse(process.argv[2]) as Args).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exit(2);
  },
);
