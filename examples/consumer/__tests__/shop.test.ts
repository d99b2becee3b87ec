/**
 * The shop program under Pulumi mocks: which resources each kind of hosts gives, and that the app
 * is deployed by digest once the cluster is ready.
 */
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { setHostKeyPreflight } from "saltpipe";
import type { ShopConfig } from "../config";
import { deployShop } from "../shop";

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>;
}
const registered: Registered[] = [];
const ofType = (type: string) => registered.filter((r) => r.type === type);

/** Secret inputs reach the mocks wrapped in Pulumi's secret envelope. */
const isSecret = (value: any) => value?.[specialSigKey] === specialSecretSig;
const reveal = (value: any) => (isSecret(value) ? value.value : value);

/** An ed25519 public key blob (type name + 32 bytes). */
const HOST_KEY = Buffer.concat([
  Buffer.from([0, 0, 0, 11]),
  Buffer.from("ssh-ed25519"),
  Buffer.from([0, 0, 0, 32]),
  Buffer.alloc(32, 7),
]).toString("base64");

// The mocked hosts do not exist: saltpipe must not try a live host-key check.
setHostKeyPreflight(false);

/** What the providers would answer: saltpipe's key commands print a PEM public key. */
function outputs({ type, name, inputs }: Registered): Record<string, unknown> {
  if (type === "command:remote:Command")
    return {
      ...inputs,
      stdout: name.endsWith("-keys")
        ? "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----"
        : "ok",
    };
  if (type === "docker:index/image:Image")
    return {
      ...inputs,
      repoDigest: `${String(inputs.imageName).replace(/:[^:/]+$/, "")}@sha256:${"c0".repeat(32)}`,
    };
  if (type === "aws:ec2/instance:Instance")
    return { ...inputs, publicIp: "198.51.100.7", privateIp: "10.42.1.7" };
  // Host keys: what ssh-keyscan of an existing server prints, and the keys made for EC2 hosts.
  if (type === "command:local:Command") return { ...inputs, stdout: `203.0.113.10 ssh-ed25519 ${HOST_KEY}` };
  if (type === "tls:index/privateKey:PrivateKey")
    return { ...inputs, publicKeyOpenssh: `ssh-ed25519 ${HOST_KEY}\n`, privateKeyOpenssh: "PRIVATE" };
  if (type === "aws:lb/loadBalancer:LoadBalancer") return { ...inputs, dnsName: "shop.elb.example" };
  return inputs;
}

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      const r = { type: args.type, name: args.name, inputs: args.inputs };
      registered.push(r);
      return { id: `${args.name}-id`, state: outputs(r) };
    },
    call: (args) => {
      if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0123456789" };
      throw new Error(`Mock not implemented: ${args.token}`);
    },
  },
  "shop-infra",
  "onprem",
);

const common = {
  repository: "registry.example.com/shop/web",
  registryUser: "shop-ci",
  registryPassword: pulumi.secret("registry-password"),
  baseImage: "registry.example.com/mirror/python:3.12-slim",
  sshPrivateKey: pulumi.secret("PRIVATE-KEY"),
};

const onprem: ShopConfig = {
  ...common,
  stack: "onprem",
  hosts: {
    kind: "existing",
    machines: [
      { name: "salt", os: "ubuntu", address: "203.0.113.10", user: "ops" },
      { name: "web-1", os: "ubuntu", address: "203.0.113.11", user: "ops" },
      { name: "web-2", os: "centos", address: "203.0.113.12", user: "ops" },
    ],
  },
};

const cloud = (stack: string): ShopConfig => ({
  ...common,
  stack,
  hosts: {
    kind: "aws",
    region: "eu-west-1",
    os: "ubuntu",
    minions: 2,
    adminCidrs: ["198.51.100.0/24"],
    sshPublicKey: "ssh-ed25519 AAAAC3Nza shop",
  },
});

async function run(config: ShopConfig) {
  registered.length = 0;
  const shop = deployShop(config);
  await new Promise((resolve) => shop.deployOutput.apply(resolve));
  return shop;
}

describe("shop on our own servers", () => {
  test("saltpipe reaches each server by its address, the SSH key kept secret, and creates no cloud resources", async () => {
    await run(onprem);
    const commands = ofType("command:remote:Command");
    expect(commands.every((c) => isSecret(c.inputs.connection))).toBe(true);
    const hosts = new Set(commands.map((c) => reveal(c.inputs.connection).host));
    expect([...hosts].sort()).toEqual(["203.0.113.10", "203.0.113.11", "203.0.113.12"]);
    expect(registered.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(
      ofType("saltpipe:salt:SaltMinion")
        .map((m) => m.name)
        .sort(),
    ).toEqual(["shop-web-1", "shop-web-2"]);
  });

  test("the app image is built from our Dockerfile and deployed by digest", async () => {
    const shop = await run(onprem);
    const [image] = ofType("docker:index/image:Image");
    expect(image.inputs.build.context).toMatch(/consumer[/\\]app$/);
    expect(image.inputs.build.args).toEqual({ BASE_IMAGE: "registry.example.com/mirror/python:3.12-slim" });
    expect(image.inputs.imageName).toBe("registry.example.com/shop/web:onprem");
    const deploy = registered.find((r) => r.name === "shop-deploy")!;
    expect(deploy.inputs.stdin).toContain(
      `"image": "registry.example.com/shop/web@sha256:${"c0".repeat(32)}"`,
    );
    expect(await new Promise((resolve) => shop.imageDigest.apply(resolve))).toMatch(/@sha256:[0-9a-f]{64}$/);
  });
});

describe("shop on AWS", () => {
  test("saltpipe makes the network, a master and two web servers", async () => {
    await run(cloud("staging"));
    expect(ofType("aws:ec2/vpc:Vpc")).toHaveLength(1);
    expect(
      ofType("aws:ec2/instance:Instance")
        .map((i) => i.name)
        .sort(),
    ).toEqual(["shop-salt", "shop-web-1", "shop-web-2"]);
    const [web] = ofType("aws:ec2/securityGroup:SecurityGroup").filter((g) => g.name === "shop-minion");
    expect(web.inputs.ingress.map((rule: { fromPort: number }) => rule.fromPort).sort()).toEqual([22, 80]);
    expect(ofType("aws:lb/loadBalancer:LoadBalancer")).toHaveLength(1);
  });

  test("only prod instances get termination protection; every root volume is encrypted", async () => {
    for (const [stack, protectedInstances] of [
      ["staging", false],
      ["prod", true],
    ] as const) {
      await run(cloud(stack));
      for (const instance of ofType("aws:ec2/instance:Instance")) {
        expect(instance.inputs.disableApiTermination).toBe(protectedInstances);
        expect(instance.inputs.rootBlockDevice.encrypted).toBe(true);
      }
    }
  });
});
