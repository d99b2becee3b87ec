/** Per-operating-system facts, in one table (the shape of pulumi-eks's `nodes/ami.ts`). */
import type { OsFamily, OsName } from "../config/spec";

export interface OsInfo {
  readonly family: OsFamily;
  /** Default login user on cloud images. */
  readonly cloudUser: string;
  /** Installs packages non-interactively; package names follow. */
  readonly install: string;
  /** Refreshes the package index before an install ("" where `install` does it itself). */
  readonly refresh: string;
  /** Packages that give a Python 3 able to create virtual environments. */
  readonly pythonPackages: readonly string[];
}

/**
 * A fresh cloud instance runs cloud-init and unattended-upgrades, which hold dpkg's lock for
 * minutes: apt waits for the lock (bounded) instead of failing at once, and retries fetches.
 * dnf waits for its lock by itself; `retries` bounds its fetch retries.
 */
const APT_OPTIONS = "-o DPkg::Lock::Timeout=600 -o Acquire::Retries=5";

export const OS_INFO: Readonly<Record<OsName, OsInfo>> = {
  ubuntu: {
    family: "Debian",
    cloudUser: "ubuntu",
    install: `DEBIAN_FRONTEND=noninteractive apt-get ${APT_OPTIONS} install -y -q`,
    refresh: `apt-get ${APT_OPTIONS} update -q`,
    pythonPackages: ["python3", "python3-venv"],
  },
  debian: {
    family: "Debian",
    cloudUser: "admin",
    install: `DEBIAN_FRONTEND=noninteractive apt-get ${APT_OPTIONS} install -y -q`,
    refresh: `apt-get ${APT_OPTIONS} update -q`,
    pythonPackages: ["python3", "python3-venv"],
  },
  centos: {
    family: "RedHat",
    cloudUser: "ec2-user",
    install: "dnf install -y -q --setopt=retries=5",
    refresh: "",
    pythonPackages: ["python3", "python3-pip"],
  },
};
