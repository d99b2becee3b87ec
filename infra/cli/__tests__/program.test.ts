/**
 * The `saltpipe` command's surface: every command's --help, and the usage errors (exit 2).
 * The stack side: stack-side.test.ts; the commands: commands.test.ts, watch.test.ts.
 */
import { EXIT } from "../errors";
import { cli } from "./harness";

describe("--help", () => {
  test.each(["status", "history", "watch", "rollback", "approve", "reject"])(
    "%s --help: usage, options, exit codes",
    async (cmd) => {
      const r = await cli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: saltpipe ${cmd}`);
      for (const text of [
        "--stack <name>",
        "--json",
        "--outputs <file>",
        "--identity <file>",
        "Exit codes:",
        "2  usage error",
      ])
        expect(r.stdout).toContain(text);
    },
  );

  test("saltpipe --help lists every command and the exit codes", async () => {
    const r = await cli(["--help"]);
    expect(r.code).toBe(0);
    for (const cmd of ["status", "history", "watch", "rollback", "approve", "reject"])
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd} `, "m"));
    expect(r.stdout).toContain("masterSshKey");
  });

  test("no arguments: the help, exit 2", async () => {
    const r = await cli([]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stdout).toContain("Usage: saltpipe");
  });
});

describe("usage errors exit 2 and say what is wrong", () => {
  test.each([
    [["status"], "required option '--stack <name>' not specified"],
    [["bogus", "--stack", "dev"], "unknown command 'bogus'"],
    [["rollback", "--stack", "dev", "--to", "abc"], 'want a digest sha256:<64 hex>, got "abc"'],
    [["approve", "sha256:12", "--stack", "dev"], 'want a digest sha256:<64 hex>, got "sha256:12"'],
    [["history", "--stack", "dev", "--result", "maybe"], "Allowed choices are ok, failed"],
    [["history", "--stack", "dev", "--page", "0"], 'want a whole number ≥ 1, got "0"'],
    [["status", "--stack", "dev", "--bogus"], "unknown option '--bogus'"],
  ])("%j", async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain(message);
  });
});
