/**
 * Human-readable output of the `saltpipe` command: plain functions from the runners' JSON
 * to text (tables by cli-table3, no colour, aligned columns).
 */
import Table from "cli-table3";

export type Json = Record<string, unknown>;

const BLANK = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: "  ",
};

/** A borderless table: a header row of capitals, then aligned columns. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const t = new Table({
    head: [...head],
    chars: BLANK,
    style: { head: [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
  });
  for (const row of rows) t.push([...row]);
  return t
    .toString()
    .split("\n")
    .map((line) => line.trimEnd())
    .join("\n");
}

/** The 12 hex characters after `sha256:` (what people compare), or "-". */
export function short(digest: unknown): string {
  return typeof digest === "string" && digest ? digest.replace(/^sha256:/, "").slice(0, 12) : "-";
}

/** `2026-12-02 01:02:03Z` from epoch seconds or an ISO string. */
export function when(t: unknown): string {
  const date =
    typeof t === "number" ? new Date(t * 1000) : typeof t === "string" && t ? new Date(t) : undefined;
  if (!date || Number.isNaN(date.getTime())) return "-";
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}

/** "4 min ago" from epoch seconds. */
export function ago(t: unknown, now: number): string {
  if (typeof t !== "number") return "";
  const s = Math.max(0, Math.round(now / 1000 - t));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function text(v: unknown): string {
  if (v === undefined || v === null || v === "") return "-";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function seconds(v: unknown): string {
  return typeof v === "number" ? `${v.toFixed(1)} s` : "-";
}

function list(v: unknown): Json[] {
  return Array.isArray(v) ? (v as Json[]) : [];
}

/** Distinct digests the answering minions serve, when there is more than one. */
export function mixedVersions(minions: readonly Json[]): Map<string, string[]> | undefined {
  const by = new Map<string, string[]>();
  for (const m of minions) {
    if (!m.answered) continue;
    const d = typeof m.digest === "string" && m.serving ? m.digest : "(none)";
    by.set(d, [...(by.get(d) ?? []), String(m.id)]);
  }
  return by.size > 1 ? by : undefined;
}

/** The deploy that made `digest` current (newest first list), for "by whom". */
function madeCurrent(deploys: readonly Json[], digest: unknown): Json | undefined {
  return deploys.find((d) => d.digest === digest && d.result === true);
}

/** `saltpipe status`: the environment, its minions and its last deploys (no audit). */
export function formatStatus(s: Json, stack: string, now = Date.now()): string {
  const deploys = list(s.deploys);
  const minions = list(s.minions);
  const out: string[] = [`environment ${text(s.environment)} (stack ${stack})`];
  if (s.current) {
    const made = madeCurrent(deploys, s.current);
    const who = [text(s.current_by), made?.approver ? `approved by ${String(made.approver)}` : ""]
      .filter((x) => x && x !== "-")
      .join(", ");
    out.push(
      `  current   ${short(s.current)}  tag ${text(s.current_tag)}  since ${when(s.current_since)} ` +
        `(${ago(s.current_since, now)})  by ${who || "-"}`,
      `            ${String(s.current)}`,
    );
  } else {
    out.push("  current   nothing deployed yet (push an image to the stack's registry)");
  }
  const claim = s.claim as Json | null | undefined;
  if (claim && claim.live) {
    out.push(`  deploying ${short(claim.digest)}  ${text(claim.kind)} since ${when(claim.started)}`);
  }
  const approval = s.approval as Json | null | undefined;
  if (approval) {
    out.push(
      `  approval  ${short(approval.digest)}  tag ${text(approval.tag)} waits until ${when(approval.expires)}: ` +
        `saltpipe approve --stack ${stack} ${String(approval.digest)}  (or reject)`,
    );
  } else if (s.approval_required) {
    out.push("  approval  required for every push; none waiting");
  }
  const pending = s.pending as Json | null | undefined;
  if (pending)
    out.push(`  queued    ${short(pending.digest)}  ${text(pending.kind)} (runs after the current deploy)`);
  const mixed = mixedVersions(minions);
  if (mixed) {
    out.push(
      `  MIXED     the minions serve ${mixed.size} versions: ` +
        [...mixed].map(([d, ids]) => `${short(d)} on ${ids.join(", ")}`).join("; "),
    );
  }
  if (minions.length > 0) {
    out.push(
      "",
      table(
        ["MINION", "DIGEST", "CURRENT", "SINCE", "PROXY", "OS", "SALT", "LAST DEPLOY"],
        minions.map((m) => [
          text(m.id),
          m.answered ? short(m.digest) : "(no answer)",
          m.on_current ? "yes" : "no",
          when(m.since),
          text(m.proxy),
          text(m.os),
          text(m.salt),
          text(m.last_result),
        ]),
      ),
    );
  } else {
    out.push("", "no minion answered");
  }
  out.push("", deploys.length ? formatDeploys(deploys.slice(0, 5)) : "no deploys yet");
  return out.join("\n");
}

/** Deploys, newest first. */
export function formatDeploys(deploys: readonly Json[]): string {
  return table(
    ["FINISHED", "DIGEST", "TAG", "KIND", "RESULT", "TOOK", "BY", "REASON"],
    deploys.map((d) => [
      when(d.finished),
      short(d.digest),
      text(d.tag),
      text(d.kind),
      d.result ? "ok" : "failed",
      seconds(d.duration),
      text(d.approver),
      text(d.reason).slice(0, 100),
    ]),
  );
}

const AUDIT_SHOWN = new Set(["at", "ts", "event", "digest", "tag"]);

/** Audit entries, newest first. */
export function formatAudit(entries: readonly Json[]): string {
  return table(
    ["AT", "EVENT", "DIGEST", "TAG", "DETAIL"],
    entries.map((e) => [
      when(e.at ?? e.ts),
      text(e.event),
      short(e.digest),
      text(e.tag),
      Object.entries(e)
        .filter(
          ([k, v]) => !AUDIT_SHOWN.has(k) && v !== "" && v !== null && v !== undefined && k !== "minions",
        )
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
        .join(" ")
        .slice(0, 120),
    ]),
  );
}

/** The answer of rollback / approve / reject. */
export function formatAction(verb: string, r: Json): string {
  const action = text(r.action);
  const digest = `${short(r.digest)}${r.tag ? ` (tag ${String(r.tag)})` : ""}`;
  if (r.result === false) {
    const minions = r.minions as Record<string, Json> | undefined;
    const failed = Object.entries(minions ?? {})
      .filter(([, m]) => !m.result)
      .map(([id, m]) => `  ${id}: ${text(m.comment)}`);
    return [`${verb} failed: ${text(r.error ?? r.reason)}`, ...failed].join("\n");
  }
  if (action === "queued") return `${verb}: ${digest} is queued: ${text(r.reason)}`;
  if (action === "rejected") return `rejected ${digest}${r.reason ? `: ${String(r.reason)}` : ""}`;
  if (action === "superseded") return `${verb}: ${digest} was superseded by a newer deploy`;
  const took = typeof r.duration === "number" ? ` in ${r.duration.toFixed(1)} s` : "";
  const on = Object.keys((r.minions as Json | undefined) ?? {});
  return `${verb}: ${digest} now serves${on.length ? ` on ${on.join(", ")}` : ""}${took}`;
}
