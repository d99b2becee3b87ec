/**
 * `saltpipe:deploy`: the rollout (batch, health timeout, drain), the gates (tag policy,
 * approval, pre-switch step), outcome notifications and the reconcile interval.
 */
import * as c from "../checks";
import { DEFAULTS } from "../defaults";
import { APPROVAL_KEYS, DEPLOY_KEYS, NOTIFY_KEYS, PRE_SWITCH_KEYS } from "../keys";
import type { DeploySpec } from "../spec";
import { tagPolicyProblem } from "../tag-policy";

function parseBatch(p: c.Problems, value: unknown, minionCount: number): string {
  const text = value === undefined ? DEFAULTS.deploy.batch : String(value).trim();
  const m = /^(\d+)(%?)$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  if (!m || n < 1 || (m[2] === "%" && n > 100)) {
    p.add(
      "deploy.batch",
      `invalid value ${JSON.stringify(value)} (a count ≥ 1 such as 1, or a percentage 1%..100%)`,
    );
  } else if (m[2] === "" && minionCount > 0 && n > minionCount) {
    p.add("deploy.batch", `${n} is larger than the number of minions (${minionCount})`);
  }
  return text;
}

export function parseDeploy(p: c.Problems, value: unknown, minionCount: number): DeploySpec {
  const d = DEFAULTS.deploy;
  const s = c.object(p, "deploy", value, DEPLOY_KEYS);
  const tagPolicy = c.string(p, "deploy.tagPolicy", s.tagPolicy, { default: d.tagPolicy }).trim();
  const policyProblem = tagPolicyProblem(tagPolicy);
  if (policyProblem) p.add("deploy.tagPolicy", policyProblem);
  const approval = c.object(p, "deploy.approval", s.approval, APPROVAL_KEYS);
  const notify = c.object(p, "deploy.notify", s.notify, NOTIFY_KEYS);
  return {
    batch: parseBatch(p, s.batch, minionCount),
    healthTimeoutSeconds: c.integer(p, "deploy.healthTimeoutSeconds", s.healthTimeoutSeconds, {
      default: d.healthTimeoutSeconds,
      min: 1,
      max: 3600,
    }),
    drainSeconds: c.integer(p, "deploy.drainSeconds", s.drainSeconds, {
      default: d.drainSeconds,
      min: 0,
      max: 3600,
    }),
    keepImages: c.integer(p, "deploy.keepImages", s.keepImages, { default: d.keepImages, min: 1, max: 100 }),
    tagPolicy,
    approval: {
      required: c.boolean(p, "deploy.approval.required", approval.required, d.approval.required),
      expiresMinutes: c.integer(p, "deploy.approval.expiresMinutes", approval.expiresMinutes, {
        default: d.approval.expiresMinutes,
        min: 1,
        max: 60 * 24 * 30,
      }),
    },
    preSwitch: parsePreSwitch(p, s.preSwitch),
    notify: {
      urls: c.stringList(p, "deploy.notify.urls", notify.urls, d.notify.urls).map((url, i) => {
        if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url))
          p.add(`deploy.notify.urls[${i}]`, `invalid URL ${JSON.stringify(url)} (an http(s) URL)`);
        return url;
      }),
      timeoutSeconds: c.integer(p, "deploy.notify.timeoutSeconds", notify.timeoutSeconds, {
        default: d.notify.timeoutSeconds,
        min: 1,
        max: 60,
      }),
      retries: c.integer(p, "deploy.notify.retries", notify.retries, {
        default: d.notify.retries,
        min: 0,
        max: 10,
      }),
    },
    reconcileSeconds: c.integer(p, "deploy.reconcileSeconds", s.reconcileSeconds, {
      default: d.reconcileSeconds,
      min: 5,
      max: 3600,
    }),
  };
}

function parsePreSwitch(p: c.Problems, value: unknown): DeploySpec["preSwitch"] {
  if (value === undefined) return undefined;
  const s = c.object(p, "deploy.preSwitch", value, PRE_SWITCH_KEYS);
  const command = c.stringList(p, "deploy.preSwitch.command", s.command, []);
  if (command.length === 0 && (s.command === undefined || Array.isArray(s.command)))
    p.add("deploy.preSwitch.command", "is required: an argv list such as [npm, run, migrate] (no shell)");
  return {
    command,
    timeoutSeconds: c.integer(p, "deploy.preSwitch.timeoutSeconds", s.timeoutSeconds, {
      default: DEFAULTS.deploy.preSwitchTimeoutSeconds,
      min: 1,
      max: 3600,
    }),
  };
}
