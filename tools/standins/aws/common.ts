/**
 * What every aws resource type shares: the v7 provider's per-resource `region` (defaults to the
 * provider's, a change replaces), `tags`/`tagsAll`, and the real provider's retries of
 * eventual-consistency errors on delete (e.g. `DependencyViolation` while a dependent
 * resource is still going away).
 */
import type { InputSpec } from "../lib/provider";
import { isCode } from "./clients";
import { config } from "./config";

/** Inputs every regional type takes, besides its own. */
export const regional: InputSpec = { region: true };

export interface Regional {
  region?: string;
  tags?: Record<string, string>;
}

/** The region a resource lives in. */
export const regionOf = (inputs: Regional): string => inputs.region ?? config().region;

/** `arn:aws:<service>:<region>:<account>:<resource>`. */
export const arnOf = (service: string, region: string, account: string, resource: string): string =>
  `arn:aws:${service}:${region}:${account}:${resource}`;

/** Run FN, retrying while it fails with one of CODES, for up to TIMEOUT ms (then its error stands). */
export async function retryWhile<T>(codes: string[], fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isCode(err, ...codes) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/** Run a delete, treating the resource's NotFound codes as done (as the real provider does). */
export async function deleteIgnoringNotFound(codes: string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isCode(err, ...codes)) throw err;
  }
}
