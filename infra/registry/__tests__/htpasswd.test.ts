import * as bcrypt from "bcryptjs";
import { htpasswdLine } from "../htpasswd";

describe("htpasswdLine", () => {
  const password = "a".repeat(64);
  test("a bcrypt line the password verifies against, and only that password", () => {
    const line = htpasswdLine("saltpipe", password);
    expect(line).toMatch(/^saltpipe:\$2b\$05\$[./A-Za-z0-9]{53}\n$/);
    const hash = line.trim().split(":")[1];
    expect(bcrypt.compareSync(password, hash)).toBe(true);
    expect(bcrypt.compareSync("b".repeat(64), hash)).toBe(false);
  });
  test("stable for the same credentials (no diff on a second up), different for another password", () => {
    expect(htpasswdLine("saltpipe", password)).toBe(htpasswdLine("saltpipe", password));
    expect(htpasswdLine("saltpipe", "b".repeat(64))).not.toBe(htpasswdLine("saltpipe", password));
  });
  test("a user name htpasswd cannot hold is refused", () => {
    expect(() => htpasswdLine("a:b", password)).toThrow(/registry.username/);
  });
});
