// Assembles the production tree from a build (`npm run build`): the root package.json and
// package-lock.json, every workspace's package.json and dist/, bin/ (the dispatcher) and
// dist/scripts/ (the operator commands), then installs only the production dependencies
// there (npm ci --omit=dev: native modules built for the Node.js that runs it). No
// TypeScript source, no test, no build or test tool. The Dockerfile and
// tests/production/compiled-cluster.test.ts both make their tree with this script.
//
//   node scripts/stage-production.mjs OUT
//   cd OUT && NODE_OPTIONS=--conditions=compiled node bin/messenger.mjs <command>
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, globSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const [outArg, ...rest] = process.argv.slice(2);
if (outArg === undefined || rest.length > 0) {
  console.error("usage: node scripts/stage-production.mjs OUT   (OUT: a new or empty directory)");
  process.exit(2);
}
const out = resolve(outArg);
if (existsSync(out) && readdirSync(out).length > 0) {
  console.error(`stage-production: ${out} is not empty; give a new or empty directory`);
  process.exit(2);
}

const workspaces = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
  .workspaces.flatMap((g) => globSync(g, { cwd: root }))
  .filter((w) => existsSync(join(root, w, "package.json")))
  .sort();
const unbuilt = [...workspaces.filter((w) => !existsSync(join(root, w, "dist"))), ...(existsSync(join(root, "dist", "scripts")) ? [] : ["dist/scripts"])];
if (unbuilt.length > 0) {
  console.error(`stage-production: not built (run npm run build first): ${unbuilt.join(", ")}`);
  process.exit(1);
}

mkdirSync(out, { recursive: true });
const copy = (path) => cpSync(join(root, path), join(out, path), { recursive: true });
copy("package.json");
copy("package-lock.json");
copy("bin");
copy(join("dist", "scripts"));
for (const w of workspaces) {
  copy(join(w, "package.json"));
  copy(join(w, "dist"));
}
console.log(`stage-production: ${workspaces.length} workspaces, bin/ and dist/scripts/ copied to ${out}; installing production dependencies (npm ci --omit=dev) ...`);
execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: out, stdio: "inherit" });
// The native modules must load here, not at a service's first write: an npm that skipped
// their install scripts leaves better-sqlite3 unbuilt.
const nativeCheck = 'import Database from "better-sqlite3"; new Database(":memory:").close(); await import("sharp");';
try {
  execFileSync(process.execPath, ["--input-type=module", "--eval", nativeCheck], { cwd: out, stdio: ["ignore", "ignore", "pipe"] });
} catch (err) {
  console.error(`stage-production: the native modules do not load in ${out}:\n${err.stderr ?? err}`);
  process.exit(1);
}
console.log(`stage-production: ${out} is ready: NODE_OPTIONS=--conditions=compiled node ${join(out, "bin", "messenger.mjs")} <command>`);
