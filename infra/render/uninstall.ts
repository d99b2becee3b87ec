/**
 * What `pulumi destroy` runs on a host that outlives the stack (an existing server): it
 * removes what saltpipe put there — Salt's services, units, config, keys, caches and venv,
 * the OS packages saltpipe itself installed, the app's containers, the proxy and hook-proxy
 * config, the registry credentials — and nothing else: the host, its users and their files
 * stay. Tolerant: every step succeeds when there is nothing to remove.
 */
import type { OsName, SaltSpec } from "../config/spec";
import { PIP_VENV, REMOTE_WHEELHOUSE, type SaltRole } from "./install";
import { OS_INFO } from "./os";
import { lines } from "./shell";

/** Where install scripts record the OS packages they had to add (removed again on destroy). */
export const INSTALLED_PACKAGES_FILE = "/var/lib/saltpipe/os-packages";

const SERVICES: Record<SaltRole, readonly string[]> = {
  master: ["salt-master", "salt-api"],
  minion: ["salt-minion"],
};

/** Config files saltpipe writes outside Salt's own directories, per role. */
const ROLE_FILES: Record<SaltRole, readonly string[]> = {
  // /etc/saltpipe: the hook's TLS certificate and key (made on the master, or from stack config).
  master: ["/etc/nginx/conf.d/saltpipe-hook.conf", "/srv/saltpipe", "/etc/saltpipe"],
  minion: ["/etc/nginx/conf.d/saltpipe-*.conf", "/etc/nginx/saltpipe", "/etc/saltpipe"],
};

export interface UninstallOptions {
  readonly os: OsName;
  readonly role: SaltRole;
  readonly salt: Pick<SaltSpec, "installMethod">;
}

export function renderUninstallScript(opts: UninstallOptions): string {
  const info = OS_INFO[opts.os];
  const services = SERVICES[opts.role];
  const remove =
    info.family === "Debian" ? "DEBIAN_FRONTEND=noninteractive apt-get purge -y -q" : "dnf remove -y -q";
  const onedir =
    opts.salt.installMethod === "onedir"
      ? lines(
          `${remove} salt-common salt-master salt-minion salt-api 2>/dev/null || true`,
          "rm -f /etc/apt/sources.list.d/salt.sources /etc/apt/keyrings/salt-archive-keyring.pgp /etc/apt/preferences.d/salt-pin-1001 /etc/yum.repos.d/salt.repo",
        )
      : "";
  return lines(
    "#!/bin/bash",
    `# Removes what saltpipe installed for the ${opts.role} (destroy). The host and its users' files stay.`,
    "set -uo pipefail",
    ...services.map((s) => `systemctl disable --now ${s} >/dev/null 2>&1 || true`),
    opts.role === "minion"
      ? lines(
          "# The app's containers (label saltpipe.app) and the images they ran.",
          "if command -v docker >/dev/null && docker info >/dev/null 2>&1; then",
          "  images=$(docker ps -a --filter label=saltpipe.app --format '{{.Image}}' | sort -u)",
          "  ids=$(docker ps -aq --filter label=saltpipe.app; docker ps -aq --filter label=saltpipe.preswitch)",
          '  [ -n "$ids" ] && docker rm -f $ids >/dev/null',
          '  [ -n "$images" ] && docker rmi $images >/dev/null 2>&1',
          "fi",
        )
      : "",
    ...ROLE_FILES[opts.role].map((path) => `rm -rf ${path}`),
    "if systemctl is-active --quiet nginx; then nginx -t -q 2>/dev/null && systemctl reload nginx; fi",
    onedir,
    ...services.map((s) => `rm -f /etc/systemd/system/${s}.service`),
    "systemctl daemon-reload",
    `for bin in /usr/local/bin/salt*; do [ "$(readlink "$bin")" = "${PIP_VENV}/bin/$(basename "$bin")" ] && rm -f "$bin"; done`,
    `rm -rf /opt/saltpipe ${REMOTE_WHEELHOUSE} /etc/salt /var/cache/salt /var/log/salt /var/run/salt /run/salt`,
    `if [ -s ${INSTALLED_PACKAGES_FILE} ]; then`,
    `  ${remove} $(sort -u ${INSTALLED_PACKAGES_FILE}) >/dev/null 2>&1 || true`,
    "fi",
    "rm -rf /var/lib/saltpipe",
    `echo "saltpipe ${opts.role} removed"`,
  );
}
