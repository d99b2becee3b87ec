/** `master`, `minions`, `minionOs`, `adminCidrs`, and the addresses and host keys of existing hosts. */
import { parse, problemsOf, validAws } from "./helpers";

describe("hosts: bad values name the key", () => {
  test.each([
    [
      "unknown OS",
      { minions: [{ name: "a", os: "windows" }] },
      'minions[0].os: invalid value "windows" (one of: ubuntu, centos, debian)',
    ],
    ["0 minions", { minions: 0 }, "minions: 0 is out of range (1..500)"],
    ["empty minion list", { minions: [] }, "minions: must list at least 1 minion"],
    [
      "invalid CIDR",
      { adminCidrs: ["10.0.0.300/8"] },
      'adminCidrs[0]: invalid CIDR "10.0.0.300/8" (expected IPv4 like 203.0.113.0/24)',
    ],
    [
      "CIDR with host bits",
      { adminCidrs: ["10.1.2.3/16"] },
      'adminCidrs[0]: CIDR "10.1.2.3/16" has host bits set (did you mean 10.1.0.0/16?)',
    ],
    [
      "SSH open to the world",
      { adminCidrs: ["0.0.0.0/0"] },
      "adminCidrs[0]: 0.0.0.0/0 would open SSH to the whole internet",
    ],
    [
      "duplicate minion names",
      {
        minions: [
          { name: "a", os: "ubuntu" },
          { name: "a", os: "centos" },
        ],
      },
      'minions[1].name: duplicate name "a" (names must be unique, master included)',
    ],
    [
      "minion named like the master",
      { minions: [{ name: "master", os: "ubuntu" }] },
      'minions[0].name: duplicate name "master" (names must be unique, master included)',
    ],
    [
      "bad minion name",
      { minions: [{ name: "Web_1", os: "ubuntu" }] },
      expect.stringMatching(/^minions\[0\]\.name: invalid value "Web_1"/),
    ],
  ])("%s", (_name, override, expected) => {
    expect(problemsOf({ ...validAws(), ...override })).toContainEqual(expected);
  });

  test("aws needs adminCidrs", () => {
    const { adminCidrs: _omit, ...raw } = validAws();
    expect(problemsOf(raw)).toContainEqual(expect.stringMatching(/^adminCidrs: is required on aws/));
  });

  test("centos is refused on the local cloud (its host image is apt-based)", () => {
    expect(problemsOf({ cloud: "local", minions: [{ name: "a", os: "centos" }] }, "local")).toContainEqual(
      expect.stringMatching(/^minions\[0\]\.os: "centos" is not available on the local cloud/),
    );
  });

  test("existing hosts need addresses", () => {
    expect(
      problemsOf({
        cloud: "existing",
        master: { os: "ubuntu", address: "192.0.2.10" },
        minions: [{ name: "a", os: "ubuntu" }],
        registry: { server: "reg.example:5000" },
      }),
    ).toEqual(["minions[0].address: is required"]);
  });
});

describe("existing: addresses and pinned host keys", () => {
  const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEl0ZWRpdG9yLWhvc3Qta2V5LWZvci10ZXN0cy0xMjM0";
  const existing = (master: Record<string, unknown>) => ({
    cloud: "existing",
    master: { os: "debian", address: "10.0.0.10", ...master },
    minions: [{ name: "web-1", os: "debian", address: "10.0.0.11", user: "ops", privateAddress: "web-1" }],
    registry: { server: "registry.example.com" },
  });

  test("a configured host key is pinned as `type base64`; privateAddress is kept", () => {
    const spec = parse(existing({ hostKey: `${HOST_KEY} root@master`, user: "ops" }), "onprem");
    expect(spec.master).toMatchObject({ hostKey: HOST_KEY, user: "ops" });
    expect(spec.minions[0]).toMatchObject({ privateAddress: "web-1", hostKey: undefined });
  });

  test("a host key that is no key, or an RSA key, is refused", () => {
    expect(problemsOf(existing({ hostKey: "not a key" }), "onprem")).toEqual([
      "master.hostKey: is not an SSH public key line such as `ssh-ed25519 AAAA…`",
    ]);
    const rsa = `ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("ssh-rsa")]).toString("base64")}`;
    expect(problemsOf(existing({ hostKey: rsa }), "onprem")[0]).toMatch(
      /^master\.hostKey: is a ssh-rsa key: pin an ssh-ed25519/,
    );
  });

  test("hostKey and privateAddress only apply to existing hosts", () => {
    expect(problemsOf({ ...validAws(), master: { hostKey: HOST_KEY } })).toEqual([
      'master.hostKey: only applies when cloud is "existing"',
    ]);
  });

  test("an external registry may be pulled under another name and over plain HTTP", () => {
    const spec = parse(
      {
        ...existing({}),
        registry: { server: "127.0.0.1:5000", pullServer: "registry:5000", insecure: true },
      },
      "onprem",
    );
    expect(spec.registry).toMatchObject({
      server: "127.0.0.1:5000",
      pullServer: "registry:5000",
      insecure: true,
    });
    expect(problemsOf({ ...validAws(), registry: { insecure: true } })).toEqual([
      'registry.insecure: only applies to kind "external"',
    ]);
  });
});
