/** Human-readable rendering of `saltpipe.status`. Unknown fields are shown as JSON, never dropped. */

type Json = Record<string, unknown>;

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => (r[col] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((cell, col) => (cell ?? "").padEnd(widths[col]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const short = (digest: unknown) =>
  typeof digest === "string" ? digest.replace(/^sha256:/, "").slice(0, 12) : "-";
const when = (t: unknown) =>
  typeof t === "number" ? new Date(t * 1000).toISOString().replace(".000", "") : String(t ?? "-");
const text = (v: unknown) =>
  v === undefined || v === null || v === "" ? "-" : typeof v === "object" ? JSON.stringify(v) : String(v);

export function formatStatus(status: unknown): string {
  if (typeof status !== "object" || status === null) return JSON.stringify(status, null, 2);
  const s = status as Json;
  const out: string[] = [
    `environment ${text(s.environment)}: current ${short(s.current)} (${text(s.current)})`,
  ];
  const minions = Array.isArray(s.minions) ? (s.minions as Json[]) : [];
  if (minions.length > 0) {
    out.push(
      "",
      table([
        ["MINION", "OS", "SALT", "DIGEST", "SINCE", "PROXY", "LAST DEPLOY"],
        ...minions.map((m) => [
          text(m.id),
          text(m.os),
          text(m.salt),
          short(m.digest),
          when(m.since),
          text(m.proxy),
          text(m.last_result),
        ]),
      ]),
    );
  }
  const deploys = Array.isArray(s.deploys) ? (s.deploys as Json[]) : [];
  if (deploys.length > 0) {
    out.push(
      "",
      table([
        ["FINISHED", "DIGEST", "TAG", "RESULT", "SECONDS", "REASON"],
        ...deploys.map((d) => [
          when(d.finished),
          short(d.digest),
          text(d.tag),
          text(d.result),
          text(d.duration),
          text(d.reason),
        ]),
      ]),
    );
  }
  const rest = Object.fromEntries(
    Object.entries(s).filter(
      ([k]) => !["environment", "current", "current_tag", "current_since", "minions", "deploys"].includes(k),
    ),
  );
  if (Object.keys(rest).length > 0) out.push("", JSON.stringify(rest, null, 2));
  return out.join("\n");
}
