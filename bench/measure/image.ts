/**
 * The app image: size, pushed (compressed) size, cold build, rebuild with no change and after a
 * one-line change.
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { PACKAGE_ROOT } from "../../infra/paths";
import { docker } from "../../test/e2e/support/stack";
import { log, RUN_ID } from "../lib/config";
import { type BuildResult, state } from "../lib/results";
import { bytes, ratio, secs, table } from "../lib/stats";

const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";

export async function buildBench(): Promise<BuildResult> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-bench-app-"));
  const tag = `saltpipe-bench-build:${RUN_ID}`;
  try {
    fs.cpSync(path.join(PACKAGE_ROOT, "app"), tmp, {
      recursive: true,
      filter: (src) => !/\/(node_modules|dist|coverage)(\/|$)/.test(src.slice(PACKAGE_ROOT.length)),
    });
    const build = async (...extra: string[]) => {
      const start = Date.now();
      await docker("build", "-q", ...extra, "-t", tag, tmp);
      return Date.now() - start;
    };
    log("image: cold build (--no-cache)");
    const cold = await build("--no-cache");
    const sizeBytes = Number((await docker("image", "inspect", "-f", "{{.Size}}", tag)).trim());
    const noChange = await build();
    const file = path.join(tmp, "src", "config.ts");
    const source = fs.readFileSync(file, "utf8");
    const changed = source.replace('env.APP_VERSION || "0.0.0-dev"', 'env.APP_VERSION || "0.0.0-bench"');
    if (changed === source) throw new Error("the one-line change did not apply to app/src/config.ts");
    fs.writeFileSync(file, changed);
    log("image: rebuild after a one-line change");
    const oneLine = await build();
    return { sizeBytes, cold, noChange, oneLine };
  } finally {
    await docker("rmi", "-f", tag).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Compressed size (layers + config) of a pushed tag, from the manifest on the registry's push
 * instance (it wants the pipeline's credentials for every request).
 */
export function registrySize(registryPort: number, tag: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `http://127.0.0.1:${registryPort}/v2/saltpipe/app/manifests/${tag}`,
      { headers: { Accept: MANIFEST_V2 }, auth: `saltpipe:${password}`, timeout: 5000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => {
          try {
            if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
            const m = JSON.parse(body) as { config: { size: number }; layers: { size: number }[] };
            resolve(m.config.size + m.layers.reduce((sum, l) => sum + l.size, 0));
          } catch (e) {
            reject(new Error(`manifest of ${tag}: ${String(e)}`));
          }
        });
      },
    );
    req.on("error", reject);
  });
}

/** The report's "App image" section. */
export function imageSection(build: BuildResult | undefined, build_error: string | undefined): string[] {
  const out: string[] = [];
  out.push(`\n## App image\n`);
  if (build) {
    out.push(
      table(
        [
          "image size (uncompressed)",
          "pushed size (compressed layers)",
          "cold build `--no-cache`",
          "rebuild, no change",
          "rebuild after a one-line change",
        ],
        [
          [
            bytes(build.sizeBytes),
            bytes(state.compressedBytes),
            `${secs(build.cold)} s`,
            `${secs(build.noChange)} s`,
            `${secs(build.oneLine)} s`,
          ],
        ],
        [0, 1, 2, 3, 4],
      ),
    );
    out.push(`\nRebuild after a one-line change ÷ cold build: ${ratio(build.oneLine, build.cold)}.`);
  } else {
    out.push(`not measured: ${build_error ?? "skipped (BENCH_SKIP_BUILD=1)"}`);
  }
  return out;
}
