/** Per-operating-system facts, in one table (the shape of pulumi-eks's `nodes/ami.ts`). */
import type { OsFamily, OsName } from "../config/spec";

export interface OsInfo {
  readonly family: OsFamily;
  /** Default login user on cloud images. */
  readonly cloudUser: string;
  /** Installs packages non-interactively; package names follow. */
  readonly install: string;
  /** Packages that give a Python 3 able to create virtual environments. */
  readonly pythonPackages: readonly string[];
}

export const OS_INFO: Readonly<Record<OsName, OsInfo>> = {
  ubuntu: {
    family: "Debian",
    cloudUser: "ubuntu",
    install: "DEBIAN_FRONTEND=noninteractive apt-get install -y -q",
    pythonPackages: ["python3", "python3-venv"],
  },
  debian: {
    family: "Debian",
    cloudUser: "admin",
    install: "DEBIAN_FRONTEND=noninteractive apt-get install -y -q",
    pythonPackages: ["python3", "python3-venv"],
  },
  centos: {
    family: "RedHat",
    cloudUser: "ec2-user",
    install: "dnf install -y -q",
    pythonPackages: ["python3", "python3-pip"],
  },
};
