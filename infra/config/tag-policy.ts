/**
 * Tag policies (`deploy.tagPolicy`), validated at preview with the same grammar the master
 * applies at deploy time (salt-states/lib/saltpipe_core/policy.py):
 *
 * - `exact:<tag>`      only that tag
 * - `glob:<pattern>`   shell-style `*`, `?`, `[...]`
 * - `semver:<range>`   npm-style: `>=1.2.0 <2.0.0`, `^1.4`, `~1.2.3`, `1.x`, `*`, `a || b`
 */

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const GLOB_RE = /^[A-Za-z0-9_.*?[\]!-]{1,128}$/;
const PART = "(?:\\*|x|X|0|[1-9]\\d*)";
const COMPARATOR_RE = new RegExp(
  `^(\\^|~|>=|<=|>|<|=)?v?(${PART})(?:\\.(${PART}))?(?:\\.(${PART}))?(?:-([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

function comparatorProblem(token: string): string | undefined {
  const m = COMPARATOR_RE.exec(token);
  if (!m) return `invalid semver comparator "${token}"`;
  const wild = [m[2], m[3], m[4]].map((p) => p === undefined || ["*", "x", "X"].includes(p));
  if ((wild[0] && !wild[1]) || (wild[1] && !wild[2])) return `invalid semver comparator "${token}"`;
  if (m[5] && wild.some(Boolean))
    return `invalid semver comparator "${token}" (a pre-release needs a full version)`;
  return undefined;
}

/** Why `policy` is invalid, or undefined when it is valid (empty means: no policy). */
export function tagPolicyProblem(policy: string): string | undefined {
  if (policy === "") return undefined;
  const colon = policy.indexOf(":");
  const kind = colon < 0 ? policy : policy.slice(0, colon);
  const value = colon < 0 ? "" : policy.slice(colon + 1);
  const want = "(want exact:<tag>, glob:<pattern> or semver:<range>)";
  if (!["exact", "glob", "semver"].includes(kind) || !value)
    return `invalid tag policy ${JSON.stringify(policy)} ${want}`;
  if (kind === "exact")
    return TAG_RE.test(value) ? undefined : `invalid tag ${JSON.stringify(value)} in exact: (a Docker tag)`;
  if (kind === "glob")
    return GLOB_RE.test(value)
      ? undefined
      : `invalid pattern ${JSON.stringify(value)} in glob: (tag characters and * ? [ ] !)`;
  for (const alternative of value.split("||")) {
    const tokens = alternative
      .trim()
      .replace(/(>=|<=|>|<|=)\s+/g, "$1")
      .split(/\s+/)
      .filter(Boolean);
    if (tokens.length === 0) return `empty alternative in semver range ${JSON.stringify(value)}`;
    for (const token of tokens) {
      const problem = comparatorProblem(token);
      if (problem) return problem;
    }
  }
  return undefined;
}
