/**
 * The master's `master.d/saltpipe.conf`: file and pillar roots, the reactor on the webhook and
 * minion-start tags, the engines, and the `saltpipe` settings the reactor, runner and engines
 * read (hook, registry check, deploy, notifications).
 *
 * It renders the values it is given: they come from the validated spec (`parseStackConfig`,
 * infra/config), which is where every rule about them (batch, repository, names, secrets,
 * ports) is checked, once. Only `extra`, which no stack key sets, is checked here.
 */
import { stringify } from "yaml";
import { header } from "./format";
import {
  DEFAULT_HOOK_REFUSED_LOG,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_PILLAR_DIR,
  DEFAULT_SALT_STATES_DIR,
  HOOK_EVENT_TAG,
  MINION_START_EVENT_TAG,
} from "./shared";

const SOURCE = "infra/render/salt-config/master.ts";

/** Deploy lifecycle settings of the master (see salt-states/README.md, "Deploy lifecycle"). */
export interface LifecycleOptions {
  /** `exact:<tag>`, `glob:<pattern>`, `semver:<range>`; empty: every tag of the environment. */
  readonly tagPolicy?: string;
  readonly approval?: { readonly required: boolean; readonly expiresMinutes: number };
  /** argv run from the new image on one minion before traffic moves. */
  readonly preSwitch?: { readonly command: readonly string[]; readonly timeoutSeconds: number };
  readonly notify?: {
    readonly urls: readonly string[];
    /** HMAC-SHA256 key of the notifications (≥ 16 characters when URLs are given). */
    readonly secret: string;
    readonly timeoutSeconds: number;
    readonly retries: number;
  };
  /** Interval of the master's reconcile engine, in seconds (default 30). */
  readonly reconcileSeconds?: number;
}

export interface MasterConfigOptions {
  /** Environment this master deploys (grain `environment` of its minions). */
  readonly environment: string;
  /** Address the master's publish/return ports bind to (default `0.0.0.0`). */
  readonly interface?: string;
  readonly publishPort: number;
  readonly retPort: number;
  /** Shared secret of the registry notifications (bearer token and HMAC key); ≥ 16 chars. */
  readonly webhookSecret: string;
  /** Repository whose pushes deploy (e.g. `saltpipe/app`). */
  readonly repository: string;
  /**
   * Python regex a pushed tag must match to be this environment's (default
   * {@link defaultTagPattern}: `<environment>` or `<environment>-<anything>`).
   */
  readonly tagPattern?: string;
  /** Rolling batch, as the validator gives it (`DeploySpec.batch`): `"1"`, `"2"`, `"50%"`. */
  readonly batch: string;
  /** Role grain of the minions that run the app (default `app`). */
  readonly role?: string;
  /** Seconds the rollout waits for one batch's state run (default 300). */
  readonly deployTimeoutSeconds?: number;
  readonly maxBodyBytes?: number;
  /** Where `salt-states/` lives on the master (default {@link DEFAULT_SALT_STATES_DIR}). */
  readonly statesDir?: string;
  /** Where the generated pillar lives (default {@link DEFAULT_PILLAR_DIR}). */
  readonly pillarDir?: string;
  /** Salt `root_dir` (tests point it into a temporary directory). */
  readonly rootDir?: string;
  /** Tag policy, approval gate, pre-switch step, notifications, reconcile interval. */
  readonly lifecycle?: LifecycleOptions;
  /**
   * Minion ids that run the app: the only ones that get the pillar (with the registry
   * password) and deploys. Targeting is by id (proven by the minion's key), not by grain.
   */
  readonly appMinions?: readonly string[];
  /** How the master verifies a push with the registry before any minion job. */
  readonly registry?: RegistryCheckOptions;
  /** The hook proxy's refusal log ({@link DEFAULT_HOOK_REFUSED_LOG}). */
  readonly refusedLog?: string;
  /** Event timestamps further than this past the master's clock are refused (default 300). */
  readonly maxClockSkewSeconds?: number;
  /**
   * Test harness only (the real-Salt suite): state runs are plans (`test=True`) and count as
   * deployed. Never on a host: deploys otherwise always run with `test=False`.
   */
  readonly planOnly?: boolean;
  /** Extra master options, merged last (e.g. `log_level`). Cannot turn on auto_accept/open_mode. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/**
 * The registry the master asks before a deploy (`saltpipe_core/registry.py`):
 * `http` = the Docker Registry HTTP API v2 at `url` (anonymous, or Basic with
 * username/password); `ecr` = the ECR API with the master's instance role (its client is
 * registered by the AWS event path).
 */
export interface RegistryCheckOptions {
  readonly kind: "http" | "ecr";
  readonly url?: string;
  readonly username?: string;
  readonly password?: string;
  readonly region?: string;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Any Docker tag: with a tag policy, the runner (not the reactor) decides, and records why. */
export const ANY_TAG_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\\Z";

/** Tags of an environment: `dev`, `dev-<anything>` (e.g. `dev-1a2b3c4`, the git sha). */
export function defaultTagPattern(environment: string): string {
  return `^${escapeRegex(environment)}(-[A-Za-z0-9_.-]+)?\\Z`;
}

const FORBIDDEN_EXTRA = [
  "auto_accept",
  "open_mode",
  "autosign_file",
  "autosign_grains_dir",
  "autoreject_file",
  // Would hand the whole master config (webhook secret, notify secret) to every minion as pillar.
  "pillar_opts",
];

/** The master's `master.d/saltpipe.conf`: roots, reactor, runner, hook settings. */
export function renderMasterConfig(o: MasterConfigOptions): string {
  for (const key of Object.keys(o.extra ?? {})) {
    if (key === "pillar_opts")
      throw new Error(
        "extra: pillar_opts may not be set (it would give every minion the master config and its secrets)",
      );
    if (FORBIDDEN_EXTRA.includes(key)) throw new Error(`extra: ${key} may not be set (keys are pre-seeded)`);
  }
  const states = o.statesDir ?? DEFAULT_SALT_STATES_DIR;
  const pillar = o.pillarDir ?? DEFAULT_PILLAR_DIR;
  const life = o.lifecycle ?? {};
  const notify = life.notify;
  const config: Record<string, unknown> = {
    ...(o.rootDir ? { root_dir: o.rootDir } : {}),
    interface: o.interface ?? "0.0.0.0",
    publish_port: o.publishPort,
    ret_port: o.retPort,
    // Keys are pre-seeded by the pipeline; nothing is accepted automatically.
    auto_accept: false,
    open_mode: false,
    file_roots: { base: [`${states}/salt`, states] },
    pillar_roots: { base: [`${states}/pillar`, pillar] },
    runner_dirs: [`${states}/salt/_runners`],
    engines_dirs: [`${states}/salt/_engines`],
    reactor: [
      { [HOOK_EVENT_TAG]: [`${states}/reactor/registry.sls`] },
      { [MINION_START_EVENT_TAG]: [`${states}/reactor/minion-start.sls`] },
    ],
    // Start-up reconciliation and the periodic drift / expiry / outbox check; and the
    // operator command's requests (no Salt process per `saltpipe rollback|status|…`).
    engines: [
      { saltpipe_reconcile: { interval: life.reconcileSeconds ?? 30, startup_wait: 60 } },
      { saltpipe_operator: {} },
    ],
    saltpipe: {
      environment: o.environment,
      minions: [...(o.appMinions ?? [])],
      hook: {
        secret: o.webhookSecret,
        repository: o.repository,
        tag_pattern: o.tagPattern ?? (life.tagPolicy ? ANY_TAG_PATTERN : defaultTagPattern(o.environment)),
        max_body_bytes: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        refused_log: o.refusedLog ?? DEFAULT_HOOK_REFUSED_LOG,
      },
      registry: registryCheck(o.registry),
      deploy: {
        batch: o.batch,
        max_clock_skew: o.maxClockSkewSeconds ?? 300,
        ...(o.planOnly ? { plan_only: true } : {}),
        role: o.role ?? "app",
        timeout: o.deployTimeoutSeconds ?? 300,
        tag_policy: life.tagPolicy ?? "",
        approval: {
          required: life.approval?.required ?? false,
          expires_minutes: life.approval?.expiresMinutes ?? 60,
        },
        ...(life.preSwitch
          ? { pre_switch: { command: [...life.preSwitch.command], timeout: life.preSwitch.timeoutSeconds } }
          : {}),
      },
      notify: {
        urls: [...(notify?.urls ?? [])],
        secret: notify?.secret ?? "",
        timeout: notify?.timeoutSeconds ?? 5,
        retries: notify?.retries ?? 3,
      },
    },
    ...(o.extra ?? {}),
  };
  return (
    header(
      "Salt master: file/pillar roots, reactor, saltpipe hook and deploy settings (holds a secret).",
      SOURCE,
    ) + stringify(config)
  );
}

function registryCheck(r: RegistryCheckOptions | undefined): Record<string, unknown> {
  if (!r) return { kind: "" };
  return {
    kind: r.kind,
    ...(r.url ? { url: r.url } : {}),
    ...(r.username ? { username: r.username, password: r.password ?? "" } : {}),
    ...(r.region ? { region: r.region } : {}),
    timeout: 5,
  };
}
