import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread running the module at `url`. The services run from TypeScript
 * source through tsx, and a worker thread does not inherit the parent's loader hooks, so a
 * `.ts` module is loaded through tsx's own API.
 */
export function startModuleWorker(url: URL, workerData: unknown): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const api = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const href = JSON.stringify(url.href);
  return new Worker(`import(${api}).then((tsx) => tsx.tsImport(${href}, ${href}))`, { eval: true, workerData });
}
