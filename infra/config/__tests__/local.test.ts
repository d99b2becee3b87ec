/** `local`: the local twin's section, and its entry point's port. */
import { stackConfig } from "../../../test/unit/fixtures";
import { parse, problemsOf, validAws } from "./helpers";

describe("the local section", () => {
  test("a local section on aws", () => {
    expect(problemsOf({ ...validAws(), local: { namePrefix: "x" } })).toContainEqual(
      'local: only applies when cloud is "local" (this stack\'s cloud is "aws")',
    );
  });

  const local = (extra: Record<string, unknown> = {}) => ({ ...stackConfig("local"), ...extra });

  test("local.lbPort defaults to appPortBase + 500 and can be set", () => {
    expect(parse(local(), "local").local).toMatchObject({
      lbPort: 18580,
      lbBaseImage: "saltpipe/debian-lb:bookworm",
    });
    expect(parse(local({ local: { appPortBase: 42080 } }), "local").local?.lbPort).toBe(42580);
    expect(parse(local({ local: { lbPort: 8000 } }), "local").local?.lbPort).toBe(8000);
  });

  test.each([
    [{ lbPort: 80 }, "local.lbPort: 80 is out of range (1024..65535)"],
    [{ lbPort: "x" }, 'local.lbPort: expected an integer, got "x"'],
    [{ lbPort: 18081 }, "local.lbPort: 18081 is one of the minions' ports (local.appPortBase 18080 + N)"],
    [
      { lbPort: 19080 },
      "local.lbPort: 19080 is one of the hosts' SSH ports (local.appPortBase 18080 + 1000 + N)",
    ],
  ])("local %j is refused", (value, message) => {
    expect(problemsOf(local({ local: value }), "local")).toEqual([message]);
  });
});
