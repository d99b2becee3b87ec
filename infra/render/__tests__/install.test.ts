import { execFileSync } from "child_process";
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
    expect(deb).toContain("apt-get install -y -q salt-master salt-api");
    const rpm = renderSaltInstallScript({ os: "centos", role: "minion", salt: salt() });
    expect(rpm).toContain("dnf install -y -q salt-minion-$SALT_VERSION");
    expect(rpm).toContain("baseurl=https://packages.broadcom.com/artifactory/saltproject-rpm/");
  });

  test("pip installs salt and the master's CherryPy from the chosen source", () => {
    const wheelhouse = renderSaltInstallScript({
      os: "debian",
      role: "master",
      salt: salt({ installMethod: "pip", wheelhouseDir: "/anywhere" }),
    });
    expect(wheelhouse).toContain(
      'pip" install --disable-pip-version-check -q --no-index --find-links /var/cache/saltpipe-wheelhouse/anywhere salt==3008.4 CherryPy',
    );
    const index = renderSaltInstallScript({
      os: "centos",
      role: "minion",
      salt: salt({ installMethod: "pip", pipIndexUrl: "https://pypi.internal/simple" }),
    });
    expect(index).toContain("--index-url https://pypi.internal/simple salt==3008.4");
    expect(index).not.toContain("CherryPy");
    expect(index).toContain("dnf install -y -q python3 python3-pip");
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
    expect(script).toContain("salt-pip install -q 'saltext-dockermod>=0.1.2'");
  });
});
