/** Files this package ships beside its code (Dockerfiles, Salt states), found from any build layout. */
import * as fs from "fs";
import * as path from "path";

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "salt-states")))
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`saltpipe: cannot find the package root above ${start}`);
  }
}

/** Root of the saltpipe package (holds `salt-states/`, `images/`, `app/`). */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

export const SALT_STATES_DIR = path.join(PACKAGE_ROOT, "salt-states");
export const HOST_IMAGE_DIR = path.join(PACKAGE_ROOT, "images", "host");
export const REGISTRY_IMAGE_DIR = path.join(PACKAGE_ROOT, "images", "registry");
export const LB_IMAGE_DIR = path.join(PACKAGE_ROOT, "images", "lb");
