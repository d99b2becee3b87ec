/**
 * Salt install scripts, per OS family and install method. Each script is idempotent:
 * run again with the same inputs, it changes nothing and exits 0.
 */
import type { OsName, SaltSpec } from "../config/spec";
import { OS_INFO } from "./os";
import { lines, shellQuote } from "./shell";

export type SaltRole = "master" | "minion";

/** Where the pip method puts Salt's virtual environment. */
export const PIP_VENV = "/opt/saltpipe/salt";
/** Where an uploaded wheelhouse lands on a host (in a subfolder named like the local one). */
export const REMOTE_WHEELHOUSE = "/var/cache/saltpipe-wheelhouse";

/** The uploaded copy of a local wheelhouse directory. */
export function remoteWheelhouse(localDir: string): string {
  const name = localDir.replace(/\/+$/, "").split("/").pop() || "wheelhouse";
  return `${REMOTE_WHEELHOUSE}/${name}`;
}

const SERVICES: Record<SaltRole, readonly string[]> = {
  master: ["salt-master", "salt-api"],
  minion: ["salt-minion"],
};

/** boto3/botocore for the master's `saltpipe_sqs` engine; the same pins as requirements/salt.txt (unit-tested). */
export const BOTO3_PINS = ["boto3==1.44.8", "botocore==1.44.8"] as const;

/**
 * Python packages a role needs beyond Salt itself: rest_cherrypy for salt-api, boto3 for the
 * SQS engine (onedir: `salt-pip install`, into Salt's own Python).
 */
const ROLE_PACKAGES: Record<SaltRole, readonly string[]> = {
  master: ["CherryPy", ...BOTO3_PINS],
  minion: [],
};

export interface InstallOptions {
  readonly os: OsName;
  readonly role: SaltRole;
  readonly salt: SaltSpec;
}

/** OS packages a role needs: the master's webhook goes through nginx (the hook proxy). */
const ROLE_OS_PACKAGES: Record<SaltRole, readonly string[]> = {
  master: ["nginx"],
  minion: [],
};

function osPackages({ os, role }: InstallOptions): string {
  const packages = ROLE_OS_PACKAGES[role];
  if (packages.length === 0) return "";
  const info = OS_INFO[os];
  const missing = packages.map((p) => `command -v ${p} >/dev/null || missing="$missing ${p}"`);
  return lines(
    'missing=""',
    ...missing,
    'if [ -n "$missing" ]; then',
    info.family === "Debian" ? "  apt-get update -q" : "",
    `  ${info.install} $missing`,
    // Recorded, so destroy removes what saltpipe added and nothing the host already had.
    "  mkdir -p /var/lib/saltpipe",
    "  printf '%s\\n' $missing >> /var/lib/saltpipe/os-packages",
    "fi",
  );
}

export function renderSaltInstallScript(opts: InstallOptions): string {
  const body = lines(
    osPackages(opts),
    opts.salt.installMethod === "pip" ? pipInstall(opts) : onedirInstall(opts),
  );
  return lines(
    "#!/bin/bash",
    `# Installs Salt ${opts.salt.version} (${opts.role}, ${opts.salt.installMethod}) on ${opts.os}. Idempotent.`,
    "set -euo pipefail",
    `SALT_VERSION=${shellQuote(opts.salt.version)}`,
    body,
    `echo "salt ${opts.role} $SALT_VERSION installed"`,
  );
}

function pipSource(salt: SaltSpec): string {
  if (salt.wheelhouseDir)
    return `--no-index --find-links ${shellQuote(remoteWheelhouse(salt.wheelhouseDir))}`;
  if (salt.wheelhouseUrl) return `--no-index --find-links ${shellQuote(salt.wheelhouseUrl)}`;
  if (salt.pipIndexUrl) return `--index-url ${shellQuote(salt.pipIndexUrl)}`;
  return "";
}

function pipInstall({ os, role, salt }: InstallOptions): string {
  const info = OS_INFO[os];
  const packages = [`salt==${salt.version}`, ...ROLE_PACKAGES[role], ...salt.extraPackages]
    .map(shellQuote)
    .join(" ");
  const stamp = [packages, pipSource(salt)].filter(Boolean).join(" ");
  return lines(
    `VENV=${PIP_VENV}`,
    `STAMP=${shellQuote(stamp)}`,
    // The stamp records what was installed, so an unchanged install is a no-op.
    `if [ "$(cat "$VENV/.saltpipe-installed" 2>/dev/null)" != "$STAMP" ]; then`,
    `  if ! python3 -m venv --help >/dev/null 2>&1; then`,
    info.family === "Debian" ? "    apt-get update -q" : "",
    `    ${info.install} ${info.pythonPackages.join(" ")}`,
    "  fi",
    `  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"`,
    `  "$VENV/bin/pip" install --disable-pip-version-check -q ${[pipSource(salt), packages].filter(Boolean).join(" ")}`,
    `  echo "$STAMP" > "$VENV/.saltpipe-installed"`,
    "fi",
    // Put the entry points on PATH, as the packages would.
    `for bin in "$VENV"/bin/salt*; do ln -sf "$bin" /usr/local/bin/; done`,
    ...SERVICES[role].map((service) => systemdUnit(service)),
    "systemctl daemon-reload",
  );
}

/** A unit for a pip-installed daemon (the packages ship their own). */
function systemdUnit(service: string): string {
  const unit = [
    "[Unit]",
    `Description=${service} (saltpipe, pip install)`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    `ExecStart=${PIP_VENV}/bin/${service}`,
    "Restart=on-failure",
    "RestartSec=2",
    "LimitNOFILE=100000",
    "KillMode=process",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ].join("\n");
  return lines(`cat > /etc/systemd/system/${service}.service <<'UNIT'`, unit, "UNIT");
}

const DEB_SOURCES = lines(
  "Types: deb",
  "URIs: https://packages.broadcom.com/artifactory/saltproject-deb",
  "Signed-By: /etc/apt/keyrings/salt-archive-keyring.pgp",
  "Suites: stable",
  "Components: main",
);

const RPM_REPO = lines(
  "[salt-repo]",
  "name=Salt repo for RHEL/CentOS",
  "baseurl=https://packages.broadcom.com/artifactory/saltproject-rpm/",
  "enabled=1",
  "gpgcheck=1",
  "gpgkey=https://packages.broadcom.com/artifactory/api/security/keypair/SaltProjectKey/public",
);

const KEY_URL = "https://packages.broadcom.com/artifactory/api/security/keypair/SaltProjectKey/public";

function onedirInstall({ os, role, salt }: InstallOptions): string {
  const info = OS_INFO[os];
  const services = SERVICES[role];
  const extras = [...ROLE_PACKAGES[role], ...salt.extraPackages].map(shellQuote).join(" ");
  const repo =
    info.family === "Debian"
      ? lines(
          "mkdir -m 755 -p /etc/apt/keyrings",
          `[ -s /etc/apt/keyrings/salt-archive-keyring.pgp ] || curl -fsSL ${KEY_URL} | gpg --dearmor > /etc/apt/keyrings/salt-archive-keyring.pgp`,
          `cat > /etc/apt/sources.list.d/salt.sources <<'SOURCES'`,
          DEB_SOURCES.trimEnd(),
          "SOURCES",
          // Pin the exact version so an unattended upgrade cannot move Salt under us.
          `printf 'Package: salt-*\\nPin: version %s\\nPin-Priority: 1001\\n' "$SALT_VERSION" > /etc/apt/preferences.d/salt-pin-1001`,
          "apt-get update -q",
          `${info.install} ${services.join(" ")}`,
        )
      : lines(
          `cat > /etc/yum.repos.d/salt.repo <<'REPO'`,
          RPM_REPO.trimEnd(),
          "REPO",
          `${info.install} ${services.map((s) => `${s}-$SALT_VERSION`).join(" ")}`,
        );
  const stamp = `${services.join(" ")} ${extras}`;
  return lines(
    `STAMP="$SALT_VERSION "${shellQuote(stamp)}`,
    `if [ "$(cat /etc/salt/.saltpipe-installed 2>/dev/null)" != "$STAMP" ]; then`,
    repo,
    extras ? `salt-pip install -q ${extras}` : "",
    "mkdir -p /etc/salt",
    `echo "$STAMP" > /etc/salt/.saltpipe-installed`,
    "fi",
  );
}
