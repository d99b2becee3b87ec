/**
 * CONFIG_KEYS is the list the configuration reference is checked against: these tests prove it
 * is the list the validator accepts, section by section (an unknown key's problem names the
 * known keys from the same lists).
 */
import { stackConfig } from "../../../test/unit/fixtures";
import { CONFIG_KEYS, CONFIG_SECTIONS } from "../keys";
import { problemsOf, validAws } from "./helpers";

type Raw = Record<string, unknown>;

function isObject(value: unknown): value is Raw {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function merge(base: Raw, extra: Raw): Raw {
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(extra))
    out[key] = isObject(value) && isObject(out[key]) ? merge(out[key] as Raw, value) : value;
  return out;
}

/** A stack whose only unknown key is `bogusKey` in `section`, and the path its problem names. */
function withUnknownKey(section: string): { raw: Raw; stack: string; path: string } {
  const stack = section === "local" || section === "hookTls" ? "local" : "dev";
  const base = stack === "local" ? stackConfig("local") : validAws();
  if (section === "") return { raw: { ...base, bogusKey: 1 }, stack, path: "bogusKey" };
  if (section === "minions[]")
    return {
      raw: { ...base, minions: [{ name: "web-1", os: "ubuntu", bogusKey: 1 }] },
      stack,
      path: "minions[0].bogusKey",
    };
  const nested = section
    .split(".")
    .reverse()
    .reduce<Raw>((inner, key) => ({ [key]: inner }), { bogusKey: 1 });
  return { raw: merge(base, nested), stack, path: `${section}.bogusKey` };
}

test.each(CONFIG_SECTIONS.map(([section, keys]) => [section || "(top level)", section, keys] as const))(
  "%s: the validator knows exactly the listed keys",
  (_name, section, keys) => {
    const { raw, stack, path } = withUnknownKey(section);
    expect(problemsOf(raw, stack)).toContainEqual(`${path}: unknown key (known: ${keys.join(", ")})`);
  },
);

test("every accepted key once, in dotted form", () => {
  expect(new Set(CONFIG_KEYS).size).toBe(CONFIG_KEYS.length);
  for (const key of CONFIG_KEYS) expect(key).toMatch(/^[a-z][A-Za-z]*(\[\])?(\.[a-z][A-Za-z]*(\[\])?)*$/);
  expect(CONFIG_KEYS).toEqual(
    expect.arrayContaining([
      "cloud",
      "deploy.batch",
      "deploy.notify.urls",
      "minions[].roles",
      "aws.region",
      "aws.amis.ubuntu",
      "events.sqs.queueUrl",
      "hookTls.certificate",
      "webhookSecret",
    ]),
  );
});

test("every object-valued key has its section's keys listed", () => {
  const sections = new Set(CONFIG_SECTIONS.map(([section]) => section));
  for (const key of ["master", "salt", "deploy", "app", "registry", "aws", "local", "events", "hookTls"])
    expect(sections).toContain(key);
  expect(sections).toContain("minions[]");
});
