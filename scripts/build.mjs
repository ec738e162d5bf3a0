// `npm run build`: the production build. Every production workspace (the services, the
// packages they import, the operator scripts' imports: productionWorkspaces() of
// scripts/stage-production.mjs) is transpiled, file by file, to JavaScript in its own dist/
// (src/x.ts -> dist/src/x.js, gen/ likewise), and the operator scripts the image runs to
// dist/scripts/ at the root. The test harnesses and the benchmark are not built (a stale dist/
// of theirs is removed). Not bundled: imports stay exactly as written (the sources already
// import with .js), and a workspace's package.json sends `node --conditions=compiled` to
// dist/ while every other resolver (tsx, vitest, tsc) keeps reading the .ts sources.
//
// Tests stay out: *.test.ts, *.contract.ts (suites that import vitest) and test/ folders. The
// build then walks what production runs (each service's main, the operator scripts) and fails
// when it reaches a module that was not built or a package the production install
// (stage-production.mjs: npm ci --omit=dev over the production workspaces) does not have,
// rather than letting the service fail at run time.
//
//   node scripts/build.mjs
import { readdirSync, rmSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { operatorWorkspaces, productionWorkspaces, workspaceManifests } from "./stage-production.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The root scripts the production image runs (the dispatcher's operator commands). */
const operatorScripts = ["mongo-init", "archive", "token-keys", "smoke"];

const skippedDirs = new Set(["node_modules", "dist", "test"]);
const isTestFile = (name) => name.endsWith(".test.ts") || name.endsWith(".contract.ts");

/** The TypeScript files of a workspace that run in production, relative to the root. */
function sources(workspace) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (!skippedDirs.has(e.name) && !e.name.startsWith(".")) walk(path);
      } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") && !isTestFile(e.name)) {
        out.push(path);
      }
    }
  };
  walk(workspace);
  return out;
}

/** "@scope/name/sub" -> ["@scope/name", "./sub"]; "name/sub" -> ["name", "./sub"]. */
function splitBare(spec) {
  const parts = spec.split("/");
  const n = spec.startsWith("@") ? 2 : 1;
  return [parts.slice(0, n).join("/"), [".", ...parts.slice(n)].join("/")];
}

/** The compiled file a workspace's `exports` map gives `subpath` under the "compiled" condition. */
function compiledExport(workspace, manifest, subpath) {
  for (const [key, value] of Object.entries(manifest.exports ?? {})) {
    const target = typeof value === "object" ? value.compiled : undefined;
    if (target === undefined) continue;
    if (key === subpath) return resolve(root, workspace, target);
    const star = key.indexOf("*");
    if (star >= 0 && subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1))) {
      return resolve(root, workspace, target.replace("*", subpath.slice(star, subpath.length - (key.length - star - 1))));
    }
  }
  return undefined;
}

/**
 * Walks the module graph production runs (each service's main and the operator scripts),
 * through relative imports and workspace packages resolved as `--conditions=compiled`
 * resolves them. Problems (the service would fail at run time): a module that was not built
 * (a test file, a wrong path), a package the production install does not have (no
 * production workspace lists it in `dependencies`, or a workspace that is not a production
 * one). Warnings: a package the importing workspace does not list itself, which runs only
 * because npm hoists another workspace's copy.
 */
function checkProductionGraph(outputs, manifests, production) {
  const built = new Set(outputs.keys());
  const byName = new Map([...manifests].map(([w, m]) => [m.name, w]));
  // The production install links the production workspaces at the top of node_modules and
  // hoists their dependencies there; the other workspaces' folders are not in the tree.
  const installed = new Set(production.flatMap((w) => [manifests.get(w).name, ...Object.keys(manifests.get(w).dependencies ?? {})]));
  const ownerOf = (file) => [...manifests.keys()].find((w) => file.startsWith(resolve(root, w) + sep));
  const entries = [
    ...[...manifests.keys()].filter((w) => w.startsWith("services")).map((w) => resolve(root, w, "dist/src/main.js")).filter((f) => built.has(f)),
    ...operatorScripts.map((s) => resolve(root, "dist/scripts", `${s}.js`)),
  ];
  const problems = [];
  const undeclared = new Set();
  const seen = new Set();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const owner = ownerOf(file);
    const allowed = owner ? new Set(Object.keys(manifests.get(owner).dependencies ?? {})) : installed;
    const from = relative(root, file);
    for (const { path: spec } of outputs.get(file)) {
      if (isBuiltin(spec)) continue;
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (built.has(target)) queue.push(target);
        else problems.push(`${from} imports ${spec}, which is not built (a test file, or no such module)`);
        continue;
      }
      const [pkg, subpath] = splitBare(spec);
      if (!installed.has(pkg)) {
        problems.push(
          byName.has(pkg)
            ? `${from} imports ${spec}, which is not a production workspace (a service or a dependency of one): list it in the importing workspace's dependencies, or, for an operator script, in operatorWorkspaces (scripts/stage-production.mjs; now: ${operatorWorkspaces.join(", ") || "none"})`
            : `${from} imports ${spec}, which a production install (npm ci --omit=dev) does not have: no production workspace lists ${pkg} in its dependencies`,
        );
        continue;
      }
      if (!allowed.has(pkg)) undeclared.add(`${manifests.get(owner).name} imports ${pkg} without listing it in its dependencies (it resolves only through npm hoisting)`);
      const workspace = byName.get(pkg);
      if (workspace === undefined) continue;
      const target = compiledExport(workspace, manifests.get(workspace), subpath);
      if (target !== undefined && built.has(target)) queue.push(target);
      else problems.push(`${from} imports ${spec}, which has no built "compiled" export`);
    }
  }
  return { problems, undeclared: [...undeclared].sort() };
}

const started = performance.now();
const manifests = workspaceManifests();
const production = productionWorkspaces(manifests);
const entryPoints = [];
for (const w of manifests.keys()) {
  rmSync(join(root, w, "dist"), { recursive: true, force: true });
  if (!production.includes(w)) continue;
  for (const file of sources(w)) entryPoints.push({ in: file, out: join(w, "dist", relative(w, file)).replace(/\.ts$/, "") });
}
rmSync(join(root, "dist"), { recursive: true, force: true });
for (const s of operatorScripts) entryPoints.push({ in: join("scripts", `${s}.ts`), out: join("dist", "scripts", s) });

const result = await build({
  absWorkingDir: root,
  entryPoints,
  outdir: ".",
  bundle: false,
  platform: "node",
  format: "esm",
  // The oldest Node.js the root package.json's engines allow.
  target: "node22",
  // esbuild reads tsconfig.json (as tsx does), so the emitted code matches what development runs.
  tsconfig: "tsconfig.json",
  // Maps without the sources: a stack trace maps back to TypeScript lines with
  // NODE_OPTIONS="--conditions=compiled --enable-source-maps" or in a debugger.
  sourcemap: "linked",
  sourcesContent: false,
  logLevel: "warning",
  write: true,
  metafile: true,
});

// What each compiled module imports, as esbuild parsed it (static and dynamic imports).
const outputs = new Map(
  Object.entries(result.metafile.outputs)
    .filter(([f]) => f.endsWith(".js"))
    .map(([f, o]) => [resolve(root, f), o.imports]),
);
const { problems, undeclared } = checkProductionGraph(outputs, manifests, production);
if (undeclared.length > 0) console.warn(`build: warning:\n  ${undeclared.join("\n  ")}`);
if (problems.length > 0) {
  console.error(`build: the production code is not self-contained:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`build: ${outputs.size} modules of ${production.length} production workspaces in ${Math.round(performance.now() - started)} ms (their dist/ folders, dist/scripts/)`);
