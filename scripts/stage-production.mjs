// Assembles the production tree: what the image holds, nothing more. One script for the
// Dockerfile and tests/production/compiled-cluster.test.ts, in two halves the image builds in
// separate stages so a source edit does not re-run the install (which compiles better-sqlite3):
//
//   --manifests-only OUT  the root package.json and package-lock.json and the production
//                         workspaces' package.json, then `npm ci --omit=dev` there (native
//                         modules built for the Node.js that runs it, their build leftovers
//                         removed). Reads manifests only: the image runs it before any
//                         source is copied in.
//   --code-only OUT       after `npm run build`: bin/ (the dispatcher), dist/scripts/ (the
//                         operator commands) and the production workspaces' dist/.
//   (neither)             both into OUT: a runnable tree.
//
// The production workspaces are the services, the workspaces the operator scripts import
// (operatorWorkspaces below) and every workspace they depend on; the test harnesses and the
// benchmark stay out with their dependencies (npm ci leaves a workspace whose folder is
// absent uninstalled, and the lock still matches). No TypeScript source, no test, no build
// or test tool.
//
//   node scripts/stage-production.mjs [--manifests-only | --code-only] OUT
//   cd OUT && NODE_OPTIONS=--conditions=compiled node bin/messenger.mjs <command>
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, globSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Workspaces the root's operator scripts (build.mjs's operatorScripts) import that no service
 * depends on. build.mjs fails when production code reaches a workspace outside
 * productionWorkspaces(), so a new import shows up there, not in a running container.
 */
export const operatorWorkspaces = ["@messenger/sdk"];

/** Every workspace folder (relative to the root, sorted) with its package.json, from the root's globs. */
export function workspaceManifests() {
  const globs = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
  return new Map(
    globs
      .flatMap((g) => globSync(g, { cwd: root }))
      .filter((w) => existsSync(join(root, w, "package.json")))
      .sort()
      .map((w) => [w, JSON.parse(readFileSync(join(root, w, "package.json"), "utf8"))]),
  );
}

/**
 * The workspaces production runs (folders, sorted): every service, the operatorWorkspaces,
 * and every workspace those list in `dependencies`, transitively. Read from the manifests
 * alone, so the image's dependency stage computes the same set as its build stage.
 */
export function productionWorkspaces(manifests = workspaceManifests()) {
  const byName = new Map([...manifests].map(([w, m]) => [m.name, w]));
  const unknown = operatorWorkspaces.filter((name) => !byName.has(name));
  if (unknown.length > 0) throw new Error(`stage-production: operatorWorkspaces names no workspace: ${unknown.join(", ")}`);
  const queue = [...[...manifests.keys()].filter((w) => w.startsWith("services/")), ...operatorWorkspaces.map((name) => byName.get(name))];
  const reached = new Set();
  while (queue.length > 0) {
    const w = queue.pop();
    if (reached.has(w)) continue;
    reached.add(w);
    for (const dep of Object.keys(manifests.get(w).dependencies ?? {})) if (byName.has(dep)) queue.push(byName.get(dep));
  }
  return [...reached].sort();
}

/**
 * Removes what compiling better-sqlite3 from source leaves beside its addon (about 26 MB):
 * only build/Release/better_sqlite3.node loads (through `bindings`); the object files, the
 * static SQLite library, the Makefiles, the test extension, the vendored SQLite sources
 * (deps/) and the C++ sources (src/) do not. The native check below proves it still loads.
 */
function pruneNativeBuild(out) {
  const pkg = join(out, "node_modules", "better-sqlite3");
  const release = join(pkg, "build", "Release");
  if (!existsSync(join(release, "better_sqlite3.node"))) return;
  for (const e of readdirSync(join(pkg, "build"))) if (e !== "Release") rmSync(join(pkg, "build", e), { recursive: true, force: true });
  for (const e of readdirSync(release)) if (e !== "better_sqlite3.node") rmSync(join(release, e), { recursive: true, force: true });
  for (const e of ["deps", "src"]) rmSync(join(pkg, e), { recursive: true, force: true });
}

/** The root and production manifests into `out`, then the production install. */
function stageManifests(out, workspaces) {
  const copy = (path) => cpSync(join(root, path), join(out, path), { recursive: true });
  copy("package.json");
  copy("package-lock.json");
  for (const w of workspaces) copy(join(w, "package.json"));
  console.log(`stage-production: manifests of ${workspaces.length} workspaces copied to ${out}; installing production dependencies (npm ci --omit=dev) ...`);
  // JOBS: node-gyp compiles SQLite and the binding in parallel, on every core (unless set).
  const env = { ...process.env, JOBS: process.env.JOBS ?? "max" };
  execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: out, stdio: "inherit", env });
  pruneNativeBuild(out);
  // The native modules must load here, not at a service's first write: an npm that skipped
  // their install scripts leaves better-sqlite3 unbuilt, and the pruning must have kept the addon.
  const nativeCheck = 'import Database from "better-sqlite3"; new Database(":memory:").close(); await import("sharp");';
  try {
    execFileSync(process.execPath, ["--input-type=module", "--eval", nativeCheck], { cwd: out, stdio: ["ignore", "ignore", "pipe"] });
  } catch (err) {
    throw new Error(`stage-production: the native modules do not load in ${out}:\n${err.stderr ?? err}`);
  }
}

/** The dispatcher, the operator scripts and the production workspaces' build output into `out`. */
function stageCode(out, workspaces) {
  const unbuilt = [...workspaces.map((w) => join(w, "dist")), join("dist", "scripts")].filter((d) => !existsSync(join(root, d)));
  if (unbuilt.length > 0) throw new Error(`stage-production: not built (run npm run build first): ${unbuilt.join(", ")}`);
  const copy = (path) => cpSync(join(root, path), join(out, path), { recursive: true });
  copy("bin");
  copy(join("dist", "scripts"));
  for (const w of workspaces) copy(join(w, "dist"));
  console.log(`stage-production: bin/, dist/scripts/ and ${workspaces.length} workspaces' dist/ copied to ${out}`);
}

function main(argv) {
  const modes = new Set(["--manifests-only", "--code-only"]);
  const mode = modes.has(argv[0]) ? argv[0] : undefined;
  const [outArg, ...rest] = mode === undefined ? argv : argv.slice(1);
  if (outArg === undefined || outArg.startsWith("--") || rest.length > 0) {
    console.error("usage: node scripts/stage-production.mjs [--manifests-only | --code-only] OUT   (OUT: a new or empty directory)");
    return 2;
  }
  const out = resolve(outArg);
  if (existsSync(out) && readdirSync(out).length > 0) {
    console.error(`stage-production: ${out} is not empty; give a new or empty directory`);
    return 2;
  }
  const workspaces = productionWorkspaces();
  try {
    mkdirSync(out, { recursive: true });
    if (mode !== "--code-only") stageManifests(out, workspaces);
    if (mode !== "--manifests-only") stageCode(out, workspaces);
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    return 1;
  }
  if (mode === undefined) console.log(`stage-production: ${out} is ready: NODE_OPTIONS=--conditions=compiled node ${join(out, "bin", "messenger.mjs")} <command>`);
  return 0;
}

// build.mjs imports productionWorkspaces(); only a run of this file stages anything.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
