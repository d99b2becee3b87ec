/**
 * AppImage: builds the app and pushes it, tagged with the git commit and the stack.
 * Downstream code uses `repoDigest` (repo@sha256:…), never the tag: a tag can move,
 * a digest cannot.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

export interface RegistryLogin {
  readonly server: pulumi.Input<string>;
  readonly username?: pulumi.Input<string>;
  readonly password?: pulumi.Input<string>;
}

export interface AppImageArgs {
  /** Build context directory. */
  readonly context: string;
  /** Dockerfile path (default: `<context>/Dockerfile`). */
  readonly dockerfile?: string;
  /** Repository to push to, with its registry host (e.g. 127.0.0.1:5000/team/app). */
  readonly repository: pulumi.Input<string>;
  /** Image tag, e.g. `<commit>-<stack>`. */
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, pulumi.Input<string>>>;
  readonly registry?: RegistryLogin;
  /** Images to reuse layers from (e.g. the previous push) in CI. */
  readonly cacheFrom?: pulumi.Input<string>[];
}

const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export class AppImage extends pulumi.ComponentResource {
  /** repository:tag that was pushed. */
  readonly imageName: pulumi.Output<string>;
  /** repository@sha256:… of the pushed manifest. */
  readonly repoDigest: pulumi.Output<string>;
  /** sha256:… alone. */
  readonly digest: pulumi.Output<string>;
  readonly image: docker.Image;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("saltpipe:image:AppImage", name, {}, opts);
    if (!TAG_PATTERN.test(args.tag)) {
      throw new pulumi.ResourceError(
        `AppImage: invalid tag "${args.tag}" (letters, digits, _ . -; at most 128)`,
        this,
      );
    }
    this.image = new docker.Image(
      `${name}-image`,
      {
        imageName: pulumi.interpolate`${args.repository}:${args.tag}`,
        build: {
          context: args.context,
          dockerfile: args.dockerfile ?? path.join(args.context, "Dockerfile"),
          args: { ...args.buildArgs },
          platform: "linux/amd64",
          cacheFrom: args.cacheFrom ? { images: args.cacheFrom } : undefined,
        },
        registry: args.registry
          ? {
              server: args.registry.server,
              username: args.registry.username,
              password: args.registry.password,
            }
          : undefined,
      },
      { parent: this },
    );
    this.imageName = this.image.imageName;
    this.repoDigest = this.image.repoDigest;
    this.digest = this.repoDigest.apply((ref) => {
      const at = ref.lastIndexOf("@");
      if (at < 0) throw new Error(`AppImage ${name}: pushed image has no digest (got "${ref}")`);
      return ref.slice(at + 1);
    });
    this.registerOutputs({ imageName: this.imageName, repoDigest: this.repoDigest, digest: this.digest });
  }
}
