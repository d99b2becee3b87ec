import { prodInstancesProtected, stackOf } from "../instances";
import { resourceViolations } from "./harness";

const INSTANCE = "aws:ec2/instance:Instance";

const protectedInstance = {
  instanceType: "t3.small",
  disableApiTermination: true,
  rootBlockDevice: { volumeSize: 20, volumeType: "gp3", encrypted: true },
  tags: { "saltpipe:environment": "prod" },
};

const check = (props: Record<string, unknown>, stack = "prod") =>
  resourceViolations(prodInstancesProtected, { type: INSTANCE, props, stack });

describe("prod-instances-protected", () => {
  test("the stack name comes from the URN", () => {
    expect(stackOf("urn:pulumi:prod::shop::aws:ec2/instance:Instance::web")).toBe("prod");
  });

  test("a prod instance with termination protection and encrypted volumes passes", async () => {
    const ebsBlockDevices = [{ deviceName: "/dev/sdf", encrypted: true }];
    expect(await check({ ...protectedInstance, ebsBlockDevices })).toEqual([]);
  });

  test("a prod instance without termination protection or encryption fails, once per problem", async () => {
    const found = await check({
      ...protectedInstance,
      disableApiTermination: false,
      rootBlockDevice: { volumeSize: 20 },
      ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: false }],
    });
    expect(found).toEqual([
      "prod instance without termination protection: set disableApiTermination: true",
      "prod instance with an unencrypted root volume: set rootBlockDevice.encrypted: true",
      "prod instance with an unencrypted EBS volume /dev/sdf",
    ]);
  });

  test("a prod tag makes an instance prod in any stack; without it, other stacks are not checked", async () => {
    const bare = { instanceType: "t3.small" };
    expect(await check({ ...bare, tags: { Environment: "prod" } }, "shared")).toHaveLength(2);
    expect(await check({ ...bare, tags: { environment: "dev" } }, "dev")).toEqual([]);
    expect(await check(bare, "prod")).toHaveLength(2);
  });

  test("other resource types are not checked", async () => {
    expect(
      await resourceViolations(prodInstancesProtected, { type: "aws:ec2/vpc:Vpc", props: {}, stack: "prod" }),
    ).toEqual([]);
  });
});
