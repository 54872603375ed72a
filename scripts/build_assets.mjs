// Copies the pages' third-party assets from node_modules (installed by `npm ci` from
// package-lock.json) into the Python package, where the services serve them:
// src/healthcode/web/static/dist/ (ignored by git; `make install` runs this).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "src", "healthcode", "web", "static", "dist");

// [package, file in the package, name served]
const ASSETS = [
  ["jsqr", "dist/jsQR.js", "jsQR.js"],
  ["echarts", "dist/echarts.common.min.js", "echarts.min.js"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui.css"],
  ["swagger-ui-dist", "favicon-32x32.png", "swagger-favicon.png"],
];

mkdirSync(out, { recursive: true });
const versions = {};
for (const [pkg, file, name] of ASSETS) {
  const base = join(root, "node_modules", pkg);
  copyFileSync(join(base, file), join(out, name));
  versions[pkg] = JSON.parse(readFileSync(join(base, "package.json"), "utf8")).version;
}
writeFileSync(join(out, "versions.json"), JSON.stringify(versions, null, 2) + "\n");
console.log(`web assets: ${ASSETS.length} files into ${out}`);
