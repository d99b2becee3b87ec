import { imagesByDigest } from "../images";
import { UNKNOWN, stackViolations, type StackResource } from "./harness";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/image:Image";
const DIGEST = "ab".repeat(32);

const container = (image: string, fromResource?: number): StackResource => ({
  type: CONTAINER,
  name: "web",
  props: { image, name: "web" },
  propertyDependencies: fromResource === undefined ? undefined : { image: [fromResource] },
});

describe("images-by-digest", () => {
  test.each([
    ["a registry digest", `registry.example.com/shop@sha256:${DIGEST}`],
    ["a tag and a digest", `registry.example.com/shop:v1@sha256:${DIGEST}`],
    ["an image ID", `sha256:${DIGEST}`],
    ["a bare image ID", DIGEST],
  ])("a container running %s passes", async (_what, image) => {
    expect(await stackViolations(imagesByDigest, [container(image)])).toEqual([]);
  });

  test.each([
    ["a tag", "registry.example.com/shop:v1"],
    ["latest", "nginx:latest"],
    ["no tag at all", "nginx"],
    ["a short digest", "nginx@sha256:abc"],
  ])("a container running %s fails", async (_what, image) => {
    expect(await stackViolations(imagesByDigest, [container(image)])).toEqual([
      `urn:pulumi:dev::shop::${CONTAINER}::web: container runs image "${image}" by tag; use its repo@sha256:… digest`,
    ]);
  });

  test("an image this stack builds and never pushes may be run by its local name", async () => {
    const hostImage = { type: IMAGE, props: { imageName: "saltpipe-local-host:latest", skipPush: true } };
    expect(
      await stackViolations(imagesByDigest, [hostImage, container("saltpipe-local-host:latest", 0)]),
    ).toEqual([]);
    // …also while its ID is still unknown in a preview.
    expect(await stackViolations(imagesByDigest, [hostImage, container(UNKNOWN, 0)])).toEqual([]);
  });

  test("a pushed image of this stack gets no exception: its tag is still movable", async () => {
    const pushed = { type: IMAGE, props: { imageName: "registry.example.com/shop:v1" } };
    expect(
      await stackViolations(imagesByDigest, [pushed, container("registry.example.com/shop:v1", 0)]),
    ).toHaveLength(1);
  });

  test("an image not known until the update is checked by `up`, not the preview", async () => {
    expect(await stackViolations(imagesByDigest, [container(UNKNOWN)])).toEqual([]);
  });
});
