/**
 * Prod EC2 instances have termination protection and encrypted volumes. An instance is prod when its
 * stack is `prod` (read from its URN) or when it is tagged `environment` / `saltpipe:environment` = `prod`.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";

const INSTANCE = "aws:ec2/instance:Instance";
const PROD = "prod";

/** `urn:pulumi:<stack>::<project>::<type>::<name>` → `<stack>`. */
export function stackOf(urn: string): string {
  return urn.split("::")[0].split(":")[2] ?? "";
}

/** Whether a resource belongs to prod: its stack (URN) or its environment tag. */
export function isProd(urn: string, tags: Record<string, string> | undefined): boolean {
  const tagged = Object.entries(tags ?? {}).some(
    ([key, value]) => /^(saltpipe:)?environment$/i.test(key) && value === PROD,
  );
  return tagged || stackOf(urn) === PROD;
}

export const prodInstancesProtected: ResourceValidationPolicy = {
  name: "prod-instances-protected",
  description: "Prod instances have termination protection (disableApiTermination) and encrypted volumes.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== INSTANCE || !isProd(args.urn, args.props.tags)) return;
    const props = args.props;
    if (props.disableApiTermination !== true)
      reportViolation("prod instance without termination protection: set disableApiTermination: true");
    if (props.rootBlockDevice?.encrypted !== true)
      reportViolation("prod instance with an unencrypted root volume: set rootBlockDevice.encrypted: true");
    for (const device of (props.ebsBlockDevices ?? []) as { deviceName?: string; encrypted?: boolean }[]) {
      if (device.encrypted !== true)
        reportViolation(`prod instance with an unencrypted EBS volume ${device.deviceName ?? ""}`.trim());
    }
  },
};
