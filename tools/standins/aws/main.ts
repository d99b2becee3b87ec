/**
 * Offline stand-in for the `aws` plugin: run by tools/standins/bin/pulumi-resource-aws. It
 * performs the real AWS API calls (AWS SDK for JavaScript v3) for the resource types and
 * functions below, against whatever endpoint the environment names (./config.ts).
 */
import { main } from "@pulumi/pulumi/provider";
import { version } from "@pulumi/aws/package.json";
import { onConfigure } from "../lib/configure";
import { connectEngine } from "../lib/engineLog";
import { AnyResourceType, FunctionType, makeProvider } from "../lib/provider";
import { getAvailabilityZones, getCallerIdentity } from "./account";
import { resolveConfig, setConfig } from "./config";
import { getAmi } from "./ec2/ami";
import { instance } from "./ec2/instance";
import { keyPair } from "./ec2/keyPair";
import { eip, natGateway } from "./ec2/nat";
import { routeTable, routeTableAssociation } from "./ec2/routes";
import { securityGroup } from "./ec2/securityGroup";
import { subnet } from "./ec2/subnet";
import { internetGateway, vpc } from "./ec2/vpc";
import { getAuthorizationToken, lifecyclePolicy, repository } from "./ecr/repository";
import { eventRule, eventTarget } from "./events/rule";
import { instanceProfile, role, rolePolicy } from "./iam/role";
import { callerIdentity } from "./identity";
import { listener } from "./lb/listener";
import { loadBalancer } from "./lb/loadBalancer";
import { targetGroup, targetGroupAttachment } from "./lb/targetGroup";
import { queue, queuePolicy } from "./sqs/queue";

export const resourceTypes: Record<string, AnyResourceType> = {
  "aws:ec2/vpc:Vpc": vpc,
  "aws:ec2/internetGateway:InternetGateway": internetGateway,
  "aws:ec2/routeTable:RouteTable": routeTable,
  "aws:ec2/routeTableAssociation:RouteTableAssociation": routeTableAssociation,
  "aws:ec2/subnet:Subnet": subnet,
  "aws:ec2/eip:Eip": eip,
  "aws:ec2/natGateway:NatGateway": natGateway,
  "aws:ec2/securityGroup:SecurityGroup": securityGroup,
  "aws:ec2/keyPair:KeyPair": keyPair,
  "aws:ec2/instance:Instance": instance,
  "aws:lb/loadBalancer:LoadBalancer": loadBalancer,
  "aws:lb/targetGroup:TargetGroup": targetGroup,
  "aws:lb/listener:Listener": listener,
  "aws:lb/targetGroupAttachment:TargetGroupAttachment": targetGroupAttachment,
  "aws:ecr/repository:Repository": repository,
  "aws:ecr/lifecyclePolicy:LifecyclePolicy": lifecyclePolicy,
  "aws:sqs/queue:Queue": queue,
  "aws:sqs/queuePolicy:QueuePolicy": queuePolicy,
  "aws:cloudwatch/eventRule:EventRule": eventRule,
  "aws:cloudwatch/eventTarget:EventTarget": eventTarget,
  "aws:iam/role:Role": role,
  "aws:iam/rolePolicy:RolePolicy": rolePolicy,
  "aws:iam/instanceProfile:InstanceProfile": instanceProfile,
};

export const functions: Record<string, FunctionType> = {
  "aws:ec2/getAmi:getAmi": getAmi,
  "aws:ecr/getAuthorizationToken:getAuthorizationToken": getAuthorizationToken,
  "aws:index/getCallerIdentity:getCallerIdentity": getCallerIdentity,
  "aws:index/getAvailabilityZones:getAvailabilityZones": getAvailabilityZones,
};

/** Configure: region and credentials, validated as the real provider validates them. */
export async function configure(
  args: Record<string, unknown> | undefined,
  variables: Record<string, string>,
): Promise<void> {
  const resolved = resolveConfig(args, variables);
  setConfig(resolved);
  if (!resolved.skipCredentialsValidation) await callerIdentity();
}

if (require.main === module) {
  connectEngine(process.argv.slice(2));
  onConfigure(configure);
  void main(makeProvider(version, resourceTypes, functions), process.argv.slice(2));
}
