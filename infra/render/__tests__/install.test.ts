import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULTS, type OsName, type SaltSpec } from "../../config";
import { renderSaltInstallScript, type SaltRole } from "../install";

const salt = (over: Partial<SaltSpec> = {}): SaltSpec => ({
  ...DEFAULTS.salt,
  installMethod: "onedir",
  ...over,
});

const OSES: OsName[] = ["ubuntu", "centos", "debian"];
const ROLES: SaltRole[] = ["master", "minion"];
const cases = OSES.flatMap((os) =>
  ROLES.flatMap((role) => (["onedir", "pip"] as const).map((m) => [os, role, m] as const)),
);

describe("renderSaltInstallScript", () => {
  test.each(cases)("%s %s via %s: valid bash, matching snapshot", (os, role, installMethod) => {
    const script = renderSaltInstallScript({ os, role, salt: salt({ installMethod }) });
    execFileSync("bash", ["-n"], { input: script });
    expect(script).toMatchSnapshot();
  });

  test("onedir pins the exact version per family", () => {
    const deb = renderSaltInstallScript({ os: "ubuntu", role: "master", salt: salt() });
    expect(deb).toContain("Pin: version %s");
    expect(deb).toContain(
      "apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=5 install -y -q salt-master salt-api",
    );
    const rpm = renderSaltInstallScript({ os: "centos", role: "minion", salt: salt() });
    expect(rpm).toContain("dnf install -y -q --setopt=retries=5 salt-minion-$SALT_VERSION");
    expect(rpm).toContain("baseurl=https://packages.broadcom.com/artifactory/saltproject-rpm/");
  });

  test("pip installs salt and the master's CherryPy from the chosen source", () => {
    const wheelhouse = renderSaltInstallScript({
      os: "debian",
      role: "master",
      salt: salt({ installMethod: "pip", wheelhouseDir: "/anywhere" }),
    });
    expect(wheelhouse).toContain(
      'pip" install --disable-pip-version-check -q --retries 5 --timeout 30 --no-index --find-links /var/cache/saltpipe-wheelhouse/anywhere salt==3008.4 CherryPy',
    );
    const index = renderSaltInstallScript({
      os: "centos",
      role: "minion",
      salt: salt({ installMethod: "pip", pipIndexUrl: "https://pypi.internal/simple" }),
    });
    expect(index).toContain("--index-url https://pypi.internal/simple salt==3008.4");
    expect(index).not.toContain("CherryPy");
    expect(index).toContain("dnf install -y -q --setopt=retries=5 python3 python3-pip");
  });

  test("pip writes a systemd unit per daemon of the role", () => {
    const script = renderSaltInstallScript({
      os: "debian",
      role: "master",
      salt: salt({ installMethod: "pip" }),
    });
    expect(script).toContain("cat > /etc/systemd/system/salt-master.service <<'UNIT'");
    expect(script).toContain("ExecStart=/opt/saltpipe/salt/bin/salt-api");
    expect(script).not.toContain("salt-minion.service");
  });

  test("extra packages are shell-quoted", () => {
    const script = renderSaltInstallScript({
      os: "ubuntu",
      role: "minion",
      salt: salt({ extraPackages: ["saltext-dockermod>=0.1.2"] }),
    });
    expect(script).toContain("salt-pip install -q --retries 5 --timeout 30 'saltext-dockermod>=0.1.2'");
  });

  test("every install waits for the instance's first boot, then fetches with bounded retries", () => {
    for (const [os, role, installMethod] of cases) {
      const script = renderSaltInstallScript({ os, role, salt: salt({ installMethod }) });
      const wait = script.indexOf("cloud-init status --wait");
      const firstInstall = script.search(/apt-get|dnf install|pip" install|curl /);
      expect({ os, role, installMethod, waitsFirst: wait > 0 && wait < firstInstall }).toEqual({
        os,
        role,
        installMethod,
        waitsFirst: true,
      });
      for (const line of script.split("\n").filter((l) => /\bapt-get\b/.test(l)))
        expect(line).toContain("-o DPkg::Lock::Timeout=600 -o Acquire::Retries=5");
      for (const line of script.split("\n").filter((l) => /\bcurl\b/.test(l)))
        expect(line).toContain("--retry 5 --retry-all-errors");
    }
  });

  test("the wait runs cloud-init's own wait where it exists, and goes on (with a warning) when it failed", () => {
    const script = renderSaltInstallScript({ os: "ubuntu", role: "minion", salt: salt() });
    const wait = script.slice(script.indexOf("if command -v cloud-init"), script.indexOf("fi\n") + 3);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-cloudinit-"));
    try {
      const fake = (code: number) =>
        fs.writeFileSync(
          path.join(dir, "cloud-init"),
          `#!/bin/sh\necho "$@" >> ${dir}/calls\nexit ${code}\n`,
          {
            mode: 0o755,
          },
        );
      const run = () =>
        spawnSync("bash", ["--norc", "--noprofile", "-euo", "pipefail", "-c", wait], {
          encoding: "utf8",
          env: { PATH: `${dir}:/usr/bin:/bin` },
        });
      fake(0);
      expect(run()).toMatchObject({ status: 0, stderr: "" });
      fake(1);
      expect(run()).toMatchObject({
        status: 0,
        stderr: expect.stringMatching(/cloud-init ended with status 1/),
      });
      expect(fs.readFileSync(path.join(dir, "calls"), "utf8")).toBe("status --wait\nstatus --wait\n");
      fs.rmSync(path.join(dir, "cloud-init"));
      expect(run()).toMatchObject({ status: 0, stderr: "" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
