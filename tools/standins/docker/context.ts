/**
 * The digest of a build context, as pulumi-docker computes it in `check` (`build.contextDigest`):
 * every file the build would see (after .dockerignore) by path, mode and content, plus the
 * Dockerfile. A change to any of them changes the digest, which makes the image update.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** .dockerignore semantics: last matching pattern wins, "!" re-includes, a matched directory covers its contents. */
export function ignoreMatcher(patterns: string[]): {
  ignored(rel: string): boolean;
  mayReinclude(dir: string): boolean;
} {
  const rules = patterns
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith("#"))
    .map((p) => {
      const negate = p.startsWith("!");
      const body = path.posix.normalize(p.replace(/^!/, "").replace(/^\/+/, "")).replace(/\/+$/, "");
      const source = body
        .split(/(\*\*\/?|\*|\?)/)
        .map((t) =>
          t.startsWith("**")
            ? ".*"
            : t === "*"
              ? "[^/]*"
              : t === "?"
                ? "[^/]"
                : t.replace(/[.+^${}()|[\]\\]/g, "\\$&"),
        )
        .join("");
      return { negate, body, re: new RegExp(`^${source}(/.*)?$`) };
    });
  return {
    ignored: (rel) => rules.reduce((ignored, r) => (r.re.test(rel) ? !r.negate : ignored), false),
    mayReinclude: (dir) =>
      rules.some((r) => r.negate && (r.body.startsWith(`${dir}/`) || /^[^/]*[*?[]/.test(r.body))),
  };
}

export function contextDigest(context: string, dockerfile: string): string {
  const ignoreFile = [`${dockerfile}.dockerignore`, path.join(context, ".dockerignore")].find((f) =>
    fs.existsSync(f),
  );
  const matcher = ignoreMatcher(ignoreFile ? fs.readFileSync(ignoreFile, "utf8").split("\n") : []);
  const hash = createHash("sha256");
  const add = (name: string, file: string) => {
    const st = fs.lstatSync(file);
    const content = st.isSymbolicLink() ? fs.readlinkSync(file) : fs.readFileSync(file);
    hash.update(`${name}\0${st.mode}\0${createHash("sha256").update(content).digest("hex")}\0`);
  };
  add("Dockerfile", dockerfile);
  const walk = (rel: string) => {
    for (const entry of fs
      .readdirSync(path.join(context, rel), { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!matcher.ignored(child) || matcher.mayReinclude(child)) walk(child);
      } else if (!matcher.ignored(child)) {
        add(child, path.join(context, child));
      }
    }
  };
  walk("");
  return hash.digest("hex");
}
