import { Worker } from "node:worker_threads";

/**
 * The URL of the module `name` beside `base` (an `import.meta.url`), in the same form as
 * `base`: `name.ts` in the TypeScript sources, `name.js` in the compiled output (dist/), so a
 * worker thread runs the same layout as its parent.
 */
export function siblingModule(name: string, base: string): URL {
  return new URL(`./${name}${base.endsWith(".ts") ? ".ts" : ".js"}`, base);
}

/**
 * Starts a worker thread running the module at `url`. In development the services run from
 * TypeScript source through tsx, and a worker thread does not inherit the parent's loader
 * hooks, so a `.ts` module is loaded through tsx's own API; compiled JavaScript (production)
 * is loaded by node itself, with no loader and no tsx installed.
 */
export function startModuleWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const href = JSON.stringify(url.href);
  return new Worker(`import(${api}).then((tsx) => tsx.tsImport(${href}, ${href}))`, { eval: true, workerData });
}
