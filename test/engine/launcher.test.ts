/**
 * The launchers the CLI runs (tools/standins/bin/pulumi-resource-{command,docker,aws,tls}) start their
 * provider from any working directory and print the gRPC port, as a plugin must.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

const bin = path.resolve(__dirname, "../../tools/standins/bin");

test.each(["command", "docker", "aws", "tls"])(
  "pulumi-resource-%s starts from / and prints its port",
  async (name) => {
    const child = spawn(path.join(bin, `pulumi-resource-${name}`), [], {
      cwd: "/",
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const firstLine = await new Promise<string>((resolve) => {
      child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()));
      child.once("exit", () => resolve(`exited: ${stderr}`));
    });
    child.kill();
    expect(firstLine).toMatch(/^\d+$/);
  },
);
