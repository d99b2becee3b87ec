/**
 * The documentation's house rules: a README that stays a front page, Markdown that reads in any
 * viewer (no line over 400 characters), reference docs in the present tense without dates, and
 * no relative link that leads nowhere. Each failure names the file and the line.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS } from "../../infra/config/keys";

const ROOT = path.resolve(__dirname, "..", "..");
const README_MAX_LINES = 150;
const LINE_MAX_CHARS = 400;
const MONTHS =
  "Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?";
const DATE_PATTERNS: readonly RegExp[] = [
  /\b20\d\d-\d\d-\d\d\b/,
  new RegExp(`\\b(?:${MONTHS})\\.? (?:\\d{1,2}(?:st|nd|rd|th)?,? )?20\\d\\d\\b`),
  new RegExp(`\\b\\d{1,2} (?:${MONTHS}) 20\\d\\d\\b`),
];

function read(file: string): string[] {
  return fs.readFileSync(path.join(ROOT, file), "utf8").split("\n");
}

/** Tracked Markdown files, as git sees them (a fresh clone's set). */
function trackedMarkdown(): string[] {
  return execFileSync("git", ["ls-files", "-z", "--", "*.md"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)));
}

/** The reference docs: every Markdown file directly in docs/ (docs/api/ is generated). */
function referenceDocs(): string[] {
  const dir = path.join(ROOT, "docs");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => path.posix.join("docs", f));
}

/**
 * The lines of a Markdown file with code taken out (fenced blocks emptied, inline code spans
 * blanked), so that an example such as `[x](y)` inside code is not read as a link.
 */
function proseLines(lines: readonly string[]): string[] {
  let fence: string | undefined;
  return lines.map((line) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      return "";
    }
    if (marker !== undefined) {
      fence = marker;
      return "";
    }
    return line.replace(/(`+)[^`]*?\1/g, "");
  });
}

/** Relative link targets of one line: `[text](target)` and `![alt](target)`, anchors aside. */
function relativeLinks(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const target = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#") || target.startsWith("/")) continue;
    out.push(decodeURI(target.replace(/[#?].*$/, "")));
  }
  return out;
}

describe("documentation", () => {
  test(`README.md has at most ${README_MAX_LINES} lines`, () => {
    const lines = read("README.md");
    const count = lines[lines.length - 1] === "" ? lines.length - 1 : lines.length;
    expect(
      count <= README_MAX_LINES ? [] : [`README.md: ${count} lines (at most ${README_MAX_LINES})`],
    ).toEqual([]);
  });

  test(`no tracked Markdown file has a line over ${LINE_MAX_CHARS} characters`, () => {
    const files = trackedMarkdown();
    expect(files).toContain("README.md");
    const problems: string[] = [];
    for (const file of files)
      read(file).forEach((line, i) => {
        const length = [...line].length;
        if (length > LINE_MAX_CHARS) problems.push(`${file}:${i + 1}: ${length} characters`);
      });
    expect(problems).toEqual([]);
  });

  test("docs/ holds reference docs without dates", () => {
    const docs = referenceDocs();
    expect(docs.length).toBeGreaterThan(0);
    const problems: string[] = [];
    for (const file of docs)
      read(file).forEach((line, i) => {
        const hit = DATE_PATTERNS.map((re) => re.exec(line)?.[0]).find((d) => d !== undefined);
        if (hit !== undefined) problems.push(`${file}:${i + 1}: a date ("${hit}")`);
      });
    expect(problems).toEqual([]);
  });

  test("docs/configuration.md documents every key the validator accepts, and no key it refuses", () => {
    const text = fs.readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
    const documented = new Set(
      [...text.matchAll(/`([A-Za-z][A-Za-z0-9]*(?:\[\])?(?:\.[A-Za-z][A-Za-z0-9]*(?:\[\])?)*)`/g)].map(
        (m) => m[1],
      ),
    );
    expect(
      CONFIG_KEYS.filter((key) => !documented.has(key)).map(
        (key) => `saltpipe:${key} is accepted but not in docs/configuration.md`,
      ),
    ).toEqual([]);
    // A key shown in a key column (the first cell of a table row) must be one the validator knows.
    const keyCells = [...text.matchAll(/^\| `([a-z][A-Za-z0-9.[\]]*)` /gm)].map((m) => m[1]);
    expect(keyCells.length).toBeGreaterThan(50);
    const known = new Set(CONFIG_KEYS);
    const secrets = ["webhookSecret", "sshPrivateKey", "registryPassword", "notifySecret", "hookTlsKey"];
    expect(keyCells.filter((key) => !known.has(key) && !secrets.includes(key))).toEqual([]);
  });

  test("every relative link in README.md and docs/*.md leads to a file that exists", () => {
    const problems: string[] = [];
    for (const file of ["README.md", ...referenceDocs()])
      proseLines(read(file)).forEach((line, i) => {
        for (const target of relativeLinks(line)) {
          const resolved = path.join(ROOT, path.dirname(file), target);
          if (target === "" || !fs.existsSync(resolved))
            problems.push(`${file}:${i + 1}: link to "${target}", which does not exist`);
        }
      });
    expect(problems).toEqual([]);
  });
});

describe("the link reader", () => {
  test("finds relative links and images, and leaves out URLs, anchors and code", () => {
    const lines = proseLines([
      "See [the config](docs/configuration.md#secrets), ![plot](bench/results/latest.svg).",
      "[site](https://example.com) [top](#top) `[code](nowhere.md)`",
      "```",
      "[in a fence](nowhere.md)",
      "```",
    ]);
    expect(lines.flatMap(relativeLinks)).toEqual(["docs/configuration.md", "bench/results/latest.svg"]);
  });

  test("reads dates in the forms the docs must not hold", () => {
    const dated = ["measured 2026-12-07", "in December 2026", "on Dec 7, 2026", "on 7 December 2026"];
    const undated = ["batch 50%", "TLS 1.2", "semver:^1.4", "port 2026"];
    const isDated = (s: string) => DATE_PATTERNS.some((re) => re.test(s));
    expect(dated.filter((s) => !isDated(s))).toEqual([]);
    expect(undated.filter(isDated)).toEqual([]);
  });
});
