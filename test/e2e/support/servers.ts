/**
 * "Your own servers" for the `existing` cloud, made by the test itself and outside Pulumi:
 * containers of the project's host image (systemd, sshd, their own Docker engine), each with a
 * non-root user that has password-less sudo and no root SSH login, as on EC2 images; and a
 * registry container that notifies the master's hook.
 */
import * as fs from "fs";
import * as path from "path";
import { PACKAGE_ROOT } from "../../../infra/paths";
import { REGISTRY_HOOK_CA_PATH, renderRegistryConfig } from "../../../infra/render/registry";
import { mustRun, run, waitFor } from "./run";
import { docker } from "./stack";

/** Run flags of a host container: exactly those of infra/hosts/docker.ts (FACTS.md). */
const SYSTEMD_FLAGS = [
  "--cap-add",
  "SYS_ADMIN",
  "--cap-add",
  "NET_ADMIN",
  "--security-opt",
  "seccomp=unconfined",
  "--security-opt",
  "apparmor=unconfined",
  "--tmpfs",
  "/run",
  "--tmpfs",
  "/run/lock",
  "-v",
  "/sys/fs/cgroup:/sys/fs/cgroup:rw",
  "-e",
  "container=docker",
];

export const SERVER_USER = "ops";
/** A file of the user's own, which destroy must leave alone. */
export const PLANTED_FILE = `/home/${SERVER_USER}/notes.txt`;
export const PLANTED_TEXT = "my own notes, not saltpipe files\n";

export interface Server {
  readonly name: string;
  readonly container: string;
  readonly sshPort: number;
  readonly appPort?: number;
}

/** The Debian package of sudo, fetched once into the cache (the base host image has none). */
async function sudoPackage(): Promise<string> {
  const dir = path.join(
    process.env.SALTPIPE_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache/saltpipe"),
    "debs",
  );
  fs.mkdirSync(dir, { recursive: true });
  const find = () => fs.readdirSync(dir).find((f) => /^sudo_.*\.deb$/.test(f));
  if (!find()) {
    const got = await run("bash", ["-c", `cd ${dir} && apt-get download sudo`], { timeoutMs: 5 * 60_000 });
    if (!find())
      throw new Error(
        `could not fetch the sudo package with apt-get download (install apt sources): ${got.stderr}`,
      );
  }
  return path.join(dir, find()!);
}

export class Servers {
  readonly network: string;
  readonly image: string;
  readonly registryContainer: string;

  constructor(readonly prefix: string) {
    this.network = `${prefix}-net`;
    this.image = `${prefix}-host:latest`;
    this.registryContainer = `${prefix}-registry`;
  }

  /** Containers, networks and volumes of this prefix (left by an interrupted run, or now). */
  async leftovers(): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
    const list = async (...args: string[]) =>
      (await docker(...args)).split("\n").filter((n) => n.startsWith(`${this.prefix}-`));
    return {
      containers: await list("ps", "-a", "--format", "{{.Names}}"),
      networks: await list("network", "ls", "--format", "{{.Name}}"),
      volumes: await list("volume", "ls", "--format", "{{.Name}}"),
    };
  }

  async removeAll(): Promise<void> {
    const left = await this.leftovers();
    if (left.containers.length) await docker("rm", "-f", ...left.containers);
    if (left.networks.length) await docker("network", "rm", ...left.networks);
    if (left.volumes.length) await docker("volume", "rm", "-f", ...left.volumes);
  }

  /** The project's host and registry images, built from the cached base images. */
  async buildImages(): Promise<void> {
    for (const flavour of ["host", "registry"])
      await mustRun("bash", ["scripts/base-image.sh", flavour], { timeoutMs: 20 * 60_000 });
    await docker(
      "build",
      "-q",
      "-t",
      this.image,
      "--build-arg",
      "BASE_IMAGE=saltpipe/debian-host:bookworm",
      path.join(PACKAGE_ROOT, "images/host"),
    );
    await docker(
      "build",
      "-q",
      "-t",
      `${this.prefix}-registry:latest`,
      "--build-arg",
      "BASE_IMAGE=saltpipe/debian-registry:bookworm",
      path.join(PACKAGE_ROOT, "images/registry"),
    );
    await docker("network", "create", this.network);
  }

  /** A server: systemd, sshd with root login refused, user `ops` with password-less sudo and our key. */
  async start(server: Server, publicKey: string): Promise<void> {
    const volume = `${server.container}-docker`;
    await docker(
      "run",
      "-d",
      "--name",
      server.container,
      "--hostname",
      server.name,
      "--network",
      this.network,
      "--network-alias",
      server.name,
      ...SYSTEMD_FLAGS,
      "-v",
      `${volume}:/var/lib/docker`,
      "-p",
      `127.0.0.1:${server.sshPort}:22`,
      ...(server.appPort ? ["-p", `127.0.0.1:${server.appPort}:80`] : []),
      this.image,
      "/sbin/init",
    );
    await waitFor(`systemd in ${server.container}`, 120_000, async () => {
      const state = await run("/usr/bin/docker", [
        "exec",
        server.container,
        "systemctl",
        "is-system-running",
      ]);
      return /running|degraded/.test(state.stdout) ? true : undefined;
    });
    const deb = await sudoPackage();
    await docker("cp", deb, `${server.container}:/tmp/sudo.deb`);
    const setup = [
      "set -euo pipefail",
      "dpkg -i /tmp/sudo.deb >/dev/null && rm /tmp/sudo.deb",
      `useradd -m -s /bin/bash ${SERVER_USER}`,
      `echo '${SERVER_USER} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-${SERVER_USER} && chmod 0440 /etc/sudoers.d/90-${SERVER_USER}`,
      `install -d -m 0700 -o ${SERVER_USER} -g ${SERVER_USER} /home/${SERVER_USER}/.ssh`,
      `printf '%s\\n' '${publicKey}' > /home/${SERVER_USER}/.ssh/authorized_keys`,
      `chown ${SERVER_USER}: /home/${SERVER_USER}/.ssh/authorized_keys && chmod 0600 /home/${SERVER_USER}/.ssh/authorized_keys`,
      `printf '%s' '${PLANTED_TEXT}' > ${PLANTED_FILE} && chown ${SERVER_USER}: ${PLANTED_FILE}`,
      // As on EC2 images: no root login over SSH at all (an earlier file wins in sshd_config.d).
      "echo 'PermitRootLogin no' > /etc/ssh/sshd_config.d/00-no-root.conf",
      "rm -f /root/.ssh/authorized_keys",
      "systemctl restart ssh",
    ].join("\n");
    await docker("exec", server.container, "bash", "-c", setup);
  }

  /** The registry the stack pushes to (127.0.0.1:port) and its hosts pull from (registry:5000). */
  async startRegistry(port: number, notifyUrl: string, token: string, hookCa: string): Promise<void> {
    const config = path.join(fs.mkdtempSync("/tmp/saltpipe-exist-"), "config.yml");
    fs.writeFileSync(config, renderRegistryConfig({ notifyUrl, token }), { mode: 0o644 });
    // The hook's CA is the registry's only trust anchor (Go reads SSL_CERT_FILE instead of the system's).
    const ca = path.join(path.dirname(config), "hook-ca.pem");
    fs.writeFileSync(ca, hookCa, { mode: 0o644 });
    await docker(
      "create",
      "--name",
      this.registryContainer,
      "--network",
      this.network,
      "--network-alias",
      "registry",
      "-p",
      `127.0.0.1:${port}:5000`,
      "-e",
      `SSL_CERT_FILE=${REGISTRY_HOOK_CA_PATH}`,
      `${this.prefix}-registry:latest`,
    );
    await docker("cp", config, `${this.registryContainer}:/etc/docker/registry/config.yml`);
    await docker("cp", ca, `${this.registryContainer}:${REGISTRY_HOOK_CA_PATH}`);
    fs.rmSync(path.dirname(config), { recursive: true, force: true });
    await docker("start", this.registryContainer);
  }

  exec(server: Server, script: string): Promise<string> {
    return docker("exec", server.container, "bash", "-c", script);
  }

  /** How many SSH sessions sshd accepted so far (publickey logins in its journal). */
  async acceptedLogins(server: Server): Promise<number> {
    const out = await run("/usr/bin/docker", [
      "exec",
      server.container,
      "bash",
      "-c",
      "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true",
    ]);
    return Number(out.stdout.trim() || "0");
  }

  /** A new SSH host key, as a rebuilt (or impersonated) server would present. */
  async changeHostKey(server: Server): Promise<void> {
    await this.exec(
      server,
      "mkdir -p /root/host-keys && cp -a /etc/ssh/ssh_host_* /root/host-keys/ && rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh",
    );
  }

  /** The server's original host key back. */
  async restoreHostKey(server: Server): Promise<void> {
    await this.exec(
      server,
      "cp -a /root/host-keys/ssh_host_* /etc/ssh/ && rm -rf /root/host-keys && systemctl restart ssh",
    );
  }
}
