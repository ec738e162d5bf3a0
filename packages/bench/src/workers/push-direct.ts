// The push scenario's baseline: the no-op push service driven directly, without the system,
// by the HTTP client the Web Push provider uses (the global fetch, its default undici pool,
// the same method, headers, body and per-request timeout as web-push-provider.ts), replaying
// one request the provider really sent. `concurrency` requests in flight: 1 is the worker's
// shape in the one-process system (one candidate at a time), more is what the peer can take.
import { serveWorker } from "../worker-host.js";

serveWorker({
  async run(a) {
    const { endpoint, headers, body, requests, concurrency } = a as { endpoint: string; headers: Record<string, string>; body: string; requests: number; concurrency: number };
    const bytes = new Uint8Array(Buffer.from(body, "base64"));
    const latenciesMs: number[] = [];
    const statuses: Record<string, number> = {};
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < requests) {
          next++;
          const s = performance.now();
          let status: string;
          try {
            const response = await fetch(endpoint, { method: "POST", headers, body: bytes, signal: AbortSignal.timeout(10_000) });
            await response.text();
            status = String(response.status);
          } catch (err) {
            status = err instanceof Error ? err.name : "error";
          }
          latenciesMs.push(performance.now() - s);
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
    return { seconds: (performance.now() - t0) / 1000, statuses, latenciesMs };
  },
});
