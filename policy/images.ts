/**
 * Containers run images pinned by content: `repository@sha256:<digest>` or an image ID
 * (`sha256:<id>`). A tag can be moved to other content by anyone who can push; a digest cannot.
 *
 * One exception, decided from the dependency graph rather than from names: an image built by this
 * same stack on this machine and never pushed (`docker:index/image:Image` with `skipPush: true`, such
 * as saltpipe's local host and registry images). No registry is involved, so nobody else can swap it,
 * and during a preview its ID is not known yet. This is why the rule is a stack policy: only stack
 * validation sees which resources a property came from (`propertyDependencies`).
 */
import { UnknownValueError, type PolicyResource, type StackValidationPolicy } from "@pulumi/policy";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";

/** `repo@sha256:<64 hex>`, `sha256:<64 hex>` or a bare 64-hex image ID. */
export const PINNED = /^(?:[^\s@]+@)?sha256:[0-9a-f]{64}$|^[0-9a-f]{64}$/;

/** Whether the container's `image` comes from an image this stack builds locally without pushing. */
function builtHereUnpushed(container: PolicyResource): boolean {
  return (container.propertyDependencies.image ?? []).some(
    (source) => source.type === IMAGE && source.props.skipPush === true,
  );
}

export const imagesByDigest: StackValidationPolicy = {
  name: "images-by-digest",
  description: "Containers run images by digest (repo@sha256:…) or image ID, never by a movable tag.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    for (const container of args.resources.filter((r) => r.type === CONTAINER)) {
      if (builtHereUnpushed(container)) continue;
      let image: unknown;
      try {
        image = container.props.image;
      } catch (e) {
        // Not known during a preview; `pulumi up` validates the stack again with the real value.
        if (e instanceof UnknownValueError) continue;
        throw e;
      }
      if (typeof image !== "string" || !PINNED.test(image))
        reportViolation(
          `container runs image "${image}" by tag; use its repo@sha256:… digest`,
          container.urn,
        );
    }
  },
};
