/**
 * Environment: one stack's whole pipeline from its validated spec —
 * hosts → registry → Salt cluster → app image, and the webhook between them.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { LOCAL_SSH_PORT_OFFSET } from "../config/limits";
import type { Spec } from "../config/read";
import type { Host } from "../hosts/host";
import { AwsHosts } from "../hosts/aws";
import { DockerHosts } from "../hosts/docker";
import { existingHosts } from "../hosts/existing";
import { AppImage, type RegistryLogin } from "../image/app-image";
import { sourceRevision } from "../image/git";
import { EcrRegistry } from "../registry/ecr";
import { LOCAL_PUSH_USER, LocalRegistry } from "../registry/local";
import { LocalLoadBalancer } from "../balancer/local";
import { SaltCluster, type MasterSsh } from "../salt/cluster";
import {
  hookTlsOf,
  hookUrl,
  masterFiles,
  minionFiles,
  type RegistryEndpoint,
  type SqsEndpoint,
} from "./salt-files";

export interface EnvironmentArgs {
  readonly spec: Spec;
  /** Directory that relative paths in the spec (app context, wheelhouse) start from. */
  readonly projectDir?: string;
}

export { LOCAL_SSH_PORT_OFFSET };

/** Where hosts and the registry come from, per cloud. */
interface Placement {
  readonly master: Host;
  readonly minions: Host[];
  /** The environment's one entry point, where it has one (the AWS load balancer). */
  readonly appUrl?: pulumi.Output<string>;
  readonly registry: RegistryEndpoint;
  readonly login?: RegistryLogin;
  /**
   * Resources made once the master's hook CA is known (the local registry trusts it);
   * the app image is pushed only after them.
   */
  readonly withHookCa?: (ca: pulumi.Output<string>) => pulumi.Resource[];
}

export class Environment extends pulumi.ComponentResource {
  readonly masterAddress: pulumi.Output<string>;
  /**
   * How operators reach the master over SSH (the status, rollback and approve commands), with
   * its name and pinned host key: the commands refuse a master that presents another key.
   */
  readonly masterSsh: pulumi.Output<MasterSsh>;
  /** The master's SSH private key (a secret): export it too, the `saltpipe` command reads it. */
  readonly masterSshKey: pulumi.Output<string>;
  /** The environment's one entry point: the load balancer (aws, local); undefined where there is none yet. */
  readonly appUrl: pulumi.Output<string | undefined>;
  /** URL the registry posts push notifications to. */
  readonly webhookUrl: pulumi.Output<string>;
  /** Every minion's own proxy (local: on 127.0.0.1 too, for diagnosis; users use `appUrl`). */
  readonly appUrls: pulumi.Output<string[]>;
  /** The CA certificate (PEM, public) a registry must trust to post to the hook over TLS. */
  readonly hookCaCertificate: pulumi.Output<string>;
  readonly registry: pulumi.Output<string>;
  readonly imageName: pulumi.Output<string>;
  readonly imageDigest: pulumi.Output<string>;
  readonly cluster: SaltCluster;

  constructor(name: string, args: EnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:environment:Environment", name, {}, opts);
    const spec = resolvePaths(args.spec, args.projectDir ?? process.cwd());
    const placement = this.place(name, spec);

    this.cluster = new SaltCluster(
      `${name}-salt`,
      {
        master: placement.master,
        minions: placement.minions.map((host, i) => ({
          host,
          files: (masterAddress: string) => minionFiles(spec, spec.minions[i].name, masterAddress),
        })),
        salt: spec.salt,
        masterFiles: masterFiles(spec, placement.registry),
        // Existing servers outlive the stack: destroy takes saltpipe off them again.
        uninstallOnDestroy: spec.cloud === "existing",
        hookTls: hookTlsOf(spec, placement.master),
      },
      { parent: this },
    );
    this.hookCaCertificate = this.cluster.master.hookCaCertificate ?? pulumi.output(spec.hookTls?.ca ?? "");
    const beforePush = placement.withHookCa?.(this.hookCaCertificate) ?? [];

    const revision = sourceRevision(spec.app.context);
    const image = new AppImage(
      `${name}-app`,
      {
        context: spec.app.context,
        repository: placement.registry.pushRepository,
        tag: `${spec.environment}-${revision.commit}`,
        buildArgs: {
          ...spec.app.buildArgs,
          APP_VERSION: revision.commit,
          APP_COMMIT: revision.commit,
          APP_BUILD_TIME: revision.time,
        },
        registry: placement.login,
      },
      // Push only once the reactor listens (and the registry that notifies it runs), so the first push deploys.
      { parent: this, dependsOn: [this.cluster.ready, ...beforePush] },
    );

    this.masterAddress = placement.master.publicAddress;
    this.masterSsh = this.cluster.masterSsh;
    this.masterSshKey = this.cluster.masterSshKey;
    this.appUrl = placement.appUrl ?? pulumi.output(undefined);
    this.webhookUrl = hookUrl(spec, placement.master);
    this.appUrls = pulumi.output(appUrls(spec, placement.minions));
    this.registry = pulumi.output(placement.registry.pushRepository);
    this.imageName = image.imageName;
    this.imageDigest = image.digest;
    this.registerOutputs({
      masterAddress: this.masterAddress,
      masterSsh: this.masterSsh,
      appUrl: this.appUrl,
      masterSshKey: this.masterSshKey,
      webhookUrl: this.webhookUrl,
      appUrls: this.appUrls,
      hookCaCertificate: this.hookCaCertificate,
      registry: this.registry,
      imageName: this.imageName,
      imageDigest: this.imageDigest,
    });
  }

  private place(name: string, spec: Spec): Placement {
    switch (spec.cloud) {
      case "local":
        return this.placeLocal(name, spec);
      case "aws":
        return this.placeAws(name, spec);
      case "existing":
        return this.placeExisting(name, spec);
    }
  }

  private placeLocal(name: string, spec: Spec): Placement {
    const local = spec.local!;
    const hosts = new DockerHosts(
      `${name}-hosts`,
      {
        namePrefix: local.namePrefix,
        baseImage: local.baseImage,
        machines: [
          { name: spec.master.name, os: spec.master.os },
          ...spec.minions.map((m, i) => ({
            name: m.name,
            os: m.os,
            publish: [{ internal: spec.app.proxyPort, external: local.appPortBase + i }],
          })),
        ],
        sshPublicKey: spec.sshPublicKey,
        sshPrivateKey: spec.secrets.sshPrivateKey,
        sshPortBase: local.appPortBase + LOCAL_SSH_PORT_OFFSET,
      },
      { parent: this },
    );
    const [master, ...minions] = hosts.hosts;
    const lb = new LocalLoadBalancer(
      `${name}-lb`,
      {
        namePrefix: local.namePrefix,
        networkName: hosts.networkName,
        baseImage: local.lbBaseImage,
        port: local.lbPort,
        servers: spec.minions.map((m) => ({ name: m.name, host: m.name, port: spec.app.proxyPort })),
        healthPath: spec.app.healthPath,
        dependsOn: minions.flatMap((m) => [...m.dependsOn]),
      },
      { parent: this },
    );
    // Only the pipeline pushes (validation makes registryPassword required on local).
    const pushCredentials = {
      username: spec.registry.username ?? LOCAL_PUSH_USER,
      password: spec.secrets.registryPassword!,
    };
    const args = {
      namePrefix: local.namePrefix,
      networkName: hosts.networkName,
      baseImage: local.registryBaseImage,
      port: spec.registry.port,
      pushCredentials,
    };
    // With the SQS transport (an emulator) the registry stays silent: events come from the queue.
    const notifies = spec.events.transport === "hook";
    return {
      master,
      minions,
      registry: {
        pushRepository: `${LocalRegistry.pushHostOf(args.port)}/${spec.registry.repository}`,
        pullRepository: `${LocalRegistry.pullHost}/${spec.registry.repository}`,
        insecure: true,
        sqs: sqsOffAws(spec),
      },
      login: { server: LocalRegistry.pushHostOf(args.port), ...pushCredentials },
      appUrl: pulumi.output(lb.url),
      withHookCa: (hookCa) =>
        new LocalRegistry(
          `${name}-registry`,
          {
            ...args,
            notify: notifies
              ? { url: hookUrl(spec, master), token: spec.secrets.webhookSecret, hookCa }
              : undefined,
          },
          { parent: this },
        ).containers,
    };
  }

  private placeAws(name: string, spec: Spec): Placement {
    const awsSpec = spec.aws!;
    const provider = new aws.Provider(
      `${name}-aws`,
      { region: awsSpec.region as aws.Region },
      { parent: this },
    );
    const inAws = { parent: this, providers: { aws: provider } };
    const tags = { "saltpipe:stack": spec.stack, "saltpipe:environment": spec.environment };
    const ecr = new EcrRegistry(
      `${name}-registry`,
      {
        namePrefix: `saltpipe-${spec.stack}`,
        repository: spec.registry.repository,
        keepImages: spec.registry.keepImages,
        minions: spec.minions.map((m) => m.name),
        tags,
      },
      inAws,
    );
    const hosts = new AwsHosts(
      `${name}-hosts`,
      {
        namePrefix: `saltpipe-${spec.stack}`,
        aws: awsSpec,
        adminCidrs: spec.adminCidrs,
        machines: [
          {
            name: spec.master.name,
            os: spec.master.os,
            role: "master",
            instanceType: spec.master.instanceType ?? awsSpec.masterInstanceType,
          },
          ...spec.minions.map((m) => ({
            name: m.name,
            os: m.os,
            role: "minion" as const,
            instanceType: m.instanceType ?? awsSpec.minionInstanceType,
          })),
        ],
        sshPublicKey: spec.sshPublicKey,
        sshPrivateKey: spec.secrets.sshPrivateKey,
        saltPorts: [spec.salt.publishPort, spec.salt.retPort],
        appPort: spec.app.proxyPort,
        loadBalancer: {
          healthPath: spec.app.healthPath,
          // In-flight requests to a deregistered minion finish at least as long as a deploy drains.
          drainSeconds: spec.deploy.drainSeconds,
          certificateArn: awsSpec.certificateArn,
        },
        masterInstanceProfile: ecr.masterInstanceProfile.name,
        minionInstanceProfiles: Object.fromEntries(
          Object.entries(ecr.minionInstanceProfiles).map(([minion, profile]) => [minion, profile.name]),
        ),
        tags,
      },
      inAws,
    );
    const [master, ...minions] = hosts.hosts;
    return {
      master,
      minions,
      appUrl: hosts.appUrl,
      registry: {
        pushRepository: ecr.repositoryUrl,
        pullRepository: ecr.repositoryUrl,
        insecure: false,
        sqs: {
          queueUrl: ecr.queueUrl,
          region: awsSpec.region,
          account: ecr.repository.registryId,
          waitSeconds: spec.events.sqs?.waitSeconds,
        },
        credentialHelper: "ecr-login",
      },
      login: ecr.login,
    };
  }

  private placeExisting(name: string, spec: Spec): Placement {
    const machines = [spec.master, ...spec.minions].map((m) => ({
      name: m.name,
      os: m.os,
      address: m.address!,
      privateAddress: m.privateAddress,
      user: m.user,
      port: m.port,
      hostKey: m.hostKey,
    }));
    const [master, ...minions] = existingHosts(machines, spec.secrets.sshPrivateKey, {
      parent: this,
      name: `${name}-hosts`,
    });
    const repository = `${spec.registry.server}/${spec.registry.repository}`;
    const pullRepository = `${spec.registry.pullServer ?? spec.registry.server}/${spec.registry.repository}`;
    return {
      master,
      minions,
      registry: {
        pushRepository: repository,
        pullRepository,
        insecure: spec.registry.insecure,
        sqs: sqsOffAws(spec),
      },
      login: spec.registry.username
        ? {
            server: spec.registry.server!,
            username: spec.registry.username,
            password: spec.secrets.registryPassword,
          }
        : undefined,
    };
  }
}

/** The SQS transport off AWS (an emulator such as moto): everything comes from `events.sqs`. */
function sqsOffAws(spec: Spec): SqsEndpoint | undefined {
  const sqs = spec.events.sqs;
  if (spec.events.transport !== "sqs" || !sqs) return undefined;
  return {
    queueUrl: sqs.queueUrl!,
    region: sqs.region!,
    account: sqs.account!,
    endpointUrl: sqs.endpointUrl,
    metadataEndpoint: sqs.metadataEndpoint,
    waitSeconds: sqs.waitSeconds,
  };
}

function resolvePaths(spec: Spec, projectDir: string): Spec {
  const context = path.resolve(projectDir, spec.app.context);
  const wheelhouseDir = spec.salt.wheelhouseDir && path.resolve(projectDir, spec.salt.wheelhouseDir);
  return { ...spec, app: { ...spec.app, context }, salt: { ...spec.salt, wheelhouseDir } };
}

function appUrls(spec: Spec, minions: readonly Host[]): pulumi.Output<string>[] {
  if (spec.cloud === "local") {
    return minions.map((_, i) => pulumi.output(`http://127.0.0.1:${spec.local!.appPortBase + i}/`));
  }
  const port = spec.app.proxyPort === 80 ? "" : `:${spec.app.proxyPort}`;
  return minions.map((m) => pulumi.interpolate`http://${m.publicAddress}${port}/`);
}
