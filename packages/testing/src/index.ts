/**
 * Test harness that depends on no service: a real nats-server on a free port, the system as
 * child processes (one process, or a local cluster), and polling. Tests that run the
 * system inside their own process use @messenger/test-system.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` with `what`. */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  for (;;) {
    if (await predicate()) return;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Settles as `work` does, or rejects naming `what` when it takes longer than `timeoutMs`. */
export async function within<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms: ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The gRPC status a call ends with, by name ("OK", "NotFound", "PermissionDenied", …). */
export async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}

export { spawnSystem, type SystemProcess } from "./system-process.js";
export { runFrameFuzz, type FuzzReport, type FuzzTarget } from "./frame-fuzz.js";
export { testLimitsEnv } from "./test-limits.js";
export { freePort } from "./free-port.js";
export { startNatsServer, natsServerBinary, type NatsServer } from "./nats-server.js";
export { startCluster, type ClusterOptions, type LocalCluster, type ServiceName, type ServiceProcess } from "./cluster.js";
