/**
 * In-place changes of an EC2 instance, in the order terraform-provider-aws
 * (internal/service/ec2/ec2_instance.go, resourceInstanceUpdate) applies them: tags; the
 * instance profile (associate, replace or disassociate); security groups; termination and
 * stop protection; instance type and user data (both need the instance stopped: stop, modify,
 * start); monitoring; metadata options; the root volume (size, type, iops, throughput with
 * ModifyVolume; delete-on-termination on the block device mapping).
 */
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DisassociateIamInstanceProfileCommand,
  ModifyInstanceAttributeCommand,
  ModifyInstanceMetadataOptionsCommand,
  ModifyVolumeCommand,
  MonitorInstancesCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  StartInstancesCommand,
  StopInstancesCommand,
  UnmonitorInstancesCommand,
  type VolumeType,
} from "@aws-sdk/client-ec2";
import { isDeepStrictEqual } from "node:util";
import type { Context } from "../../lib/provider";
import { ec2, send, waitFor } from "../clients";
import { findInstance, rootVolumeId, userData64, type InstanceInputs } from "./instance-read";
import { updateEc2Tags } from "./tags";

const changed = <K extends keyof InstanceInputs>(olds: InstanceInputs, news: InstanceInputs, key: K) =>
  !isDeepStrictEqual(olds[key] ?? undefined, news[key] ?? undefined);

async function updateProfile(id: string, region: string, profile: string | undefined) {
  const client = ec2(region);
  const what = `updating EC2 Instance (${id}) IAM instance profile`;
  const current = (
    await send(
      what,
      client,
      new DescribeIamInstanceProfileAssociationsCommand({ Filters: [{ Name: "instance-id", Values: [id] }] }),
    )
  ).IamInstanceProfileAssociations?.find((a) => a.State === "associated" || a.State === "associating");
  if (!profile) {
    if (current)
      await send(
        what,
        client,
        new DisassociateIamInstanceProfileCommand({ AssociationId: current.AssociationId }),
      );
    return;
  }
  if (current)
    await send(
      what,
      client,
      new ReplaceIamInstanceProfileAssociationCommand({
        AssociationId: current.AssociationId,
        IamInstanceProfile: { Name: profile },
      }),
    );
  else
    await send(
      what,
      client,
      new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Name: profile } }),
    );
}

async function whileStopped(id: string, region: string, change: () => Promise<void>) {
  const client = ec2(region);
  await send(`stopping EC2 Instance (${id})`, client, new StopInstancesCommand({ InstanceIds: [id] }));
  await waitFor(
    `EC2 Instance (${id}) stop`,
    () => findInstance(id, region),
    (i) => i?.State?.Name === "stopped",
    600_000,
  );
  await change();
  await send(`starting EC2 Instance (${id})`, client, new StartInstancesCommand({ InstanceIds: [id] }));
  await waitFor(
    `EC2 Instance (${id}) start`,
    () => findInstance(id, region),
    (i) => i?.State?.Name === "running",
    600_000,
  );
}

async function updateRootVolume(id: string, region: string, olds: InstanceInputs, news: InstanceInputs) {
  const before = olds.rootBlockDevice ?? {};
  const after = news.rootBlockDevice ?? {};
  const client = ec2(region);
  const live = await findInstance(id, region);
  const volumeId = live && rootVolumeId(live);
  if (!live || !volumeId) return;
  const volumeChange = {
    ...(before.volumeSize !== after.volumeSize && after.volumeSize !== undefined
      ? { Size: after.volumeSize }
      : {}),
    ...(before.volumeType !== after.volumeType && after.volumeType !== undefined
      ? { VolumeType: after.volumeType as VolumeType }
      : {}),
    ...(before.iops !== after.iops && after.iops !== undefined ? { Iops: after.iops } : {}),
    ...(before.throughput !== after.throughput && after.throughput !== undefined
      ? { Throughput: after.throughput }
      : {}),
  };
  if (Object.keys(volumeChange).length > 0)
    await send(
      `updating EC2 Instance (${id}) root volume (${volumeId})`,
      client,
      new ModifyVolumeCommand({ VolumeId: volumeId, ...volumeChange }),
    );
  if ((before.deleteOnTermination ?? true) !== (after.deleteOnTermination ?? true))
    await send(
      `updating EC2 Instance (${id}) root block device`,
      client,
      new ModifyInstanceAttributeCommand({
        InstanceId: id,
        BlockDeviceMappings: [
          {
            DeviceName: live.RootDeviceName,
            Ebs: { DeleteOnTermination: after.deleteOnTermination ?? true },
          },
        ],
      }),
    );
}

export async function updateInstance(
  id: string,
  region: string,
  olds: InstanceInputs,
  news: InstanceInputs,
  ctx: Context,
): Promise<void> {
  const client = ec2(region);
  const attribute = (what: string, input: object) =>
    send(
      `updating EC2 Instance (${id}) ${what}`,
      client,
      new ModifyInstanceAttributeCommand({ InstanceId: id, ...input }),
    );

  await updateEc2Tags("EC2 Instance", id, region, olds.tags, news.tags);
  if (changed(olds, news, "iamInstanceProfile")) await updateProfile(id, region, news.iamInstanceProfile);
  if (changed(olds, news, "vpcSecurityGroupIds") && news.vpcSecurityGroupIds)
    await attribute("security groups", { Groups: news.vpcSecurityGroupIds });
  if (changed(olds, news, "disableApiTermination"))
    await attribute("disableApiTermination", {
      DisableApiTermination: { Value: news.disableApiTermination ?? false },
    });
  if (changed(olds, news, "disableApiStop"))
    await attribute("disableApiStop", { DisableApiStop: { Value: news.disableApiStop ?? false } });

  const typeChanged = changed(olds, news, "instanceType");
  const userDataChanged = changed(olds, news, "userData") || changed(olds, news, "userDataBase64");
  if (typeChanged || userDataChanged) {
    ctx.log(
      "info",
      `stopping ${id} to change its ${[typeChanged && "instance type", userDataChanged && "user data"].filter(Boolean).join(" and ")}`,
    );
    await whileStopped(id, region, async () => {
      if (typeChanged) await attribute("instance type", { InstanceType: { Value: news.instanceType } });
      if (userDataChanged) {
        const text = news.userDataBase64 ?? (news.userData !== undefined ? userData64(news.userData) : "");
        // AWS takes the raw bytes (the SDK base64-encodes them); moto decodes the parameter and
        // then wants base64 again, so the base64 text itself is what moto stores as user data.
        await attribute("user data", { UserData: { Value: Buffer.from(text) } });
      }
    });
  }

  if (changed(olds, news, "monitoring")) {
    if (news.monitoring)
      await send(
        `updating EC2 Instance (${id}) monitoring`,
        client,
        new MonitorInstancesCommand({ InstanceIds: [id] }),
      );
    else
      await send(
        `updating EC2 Instance (${id}) monitoring`,
        client,
        new UnmonitorInstancesCommand({ InstanceIds: [id] }),
      );
  }
  if (changed(olds, news, "metadataOptions") && news.metadataOptions) {
    const m = news.metadataOptions;
    await send(
      `updating EC2 Instance (${id}) metadata options`,
      client,
      new ModifyInstanceMetadataOptionsCommand({
        InstanceId: id,
        HttpEndpoint: m.httpEndpoint as "enabled",
        HttpTokens: m.httpTokens as "required",
        HttpPutResponseHopLimit: m.httpPutResponseHopLimit,
        InstanceMetadataTags: m.instanceMetadataTags as "enabled",
        HttpProtocolIpv6: m.httpProtocolIpv6 as "enabled",
      }),
    );
  }
  if (changed(olds, news, "rootBlockDevice")) await updateRootVolume(id, region, olds, news);
}
