/** A minion's `minion.d/saltpipe.conf`: its master, its id, its environment and roles. */
import { stringify } from "yaml";
import { checkPort, header } from "./format";

export interface MinionConfigOptions {
  readonly id: string;
  /** Master address as the minion reaches it. */
  readonly master: string;
  readonly masterPort: number;
  readonly publishPort: number;
  readonly environment: string;
  readonly roles: readonly string[];
  readonly rootDir?: string;
  /** Extra minion options merged last (e.g. `test: true` for a dry-run minion). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

const MINION_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Environment and role names: what a grain target can match. */
const ENV_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** A minion's `minion.d/saltpipe.conf`: master address, id, grains environment + roles. */
export function renderMinionConfig(o: MinionConfigOptions): string {
  if (!MINION_ID_RE.test(o.id)) throw new Error(`minion id: invalid ${JSON.stringify(o.id)}`);
  if (!ENV_RE.test(o.environment))
    throw new Error(`environment: invalid name ${JSON.stringify(o.environment)}`);
  if (!o.master) throw new Error("master: address required");
  checkPort("masterPort", o.masterPort);
  checkPort("publishPort", o.publishPort);
  for (const role of o.roles)
    if (!ENV_RE.test(role)) throw new Error(`roles: invalid role ${JSON.stringify(role)}`);
  const config: Record<string, unknown> = {
    ...(o.rootDir ? { root_dir: o.rootDir } : {}),
    id: o.id,
    master: o.master,
    master_port: o.masterPort,
    publish_port: o.publishPort,
    grains: { environment: o.environment, roles: [...o.roles] },
    // The key is pre-seeded; do not wait 10 s between retries while it is being accepted.
    acceptance_wait_time: 2,
    ...(o.extra ?? {}),
  };
  return (
    header(`Salt minion ${o.id}: master address and grains.`, "infra/render/salt-config/minion.ts") +
    stringify(config)
  );
}
