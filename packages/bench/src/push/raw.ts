// The push scenario's raw baselines, measured in the same run: the one-process system's
// in-process queue alone, and the no-op push service alone driven by the provider's HTTP client.
import { createMemoryQueue, offlineNotificationCodec, pushWorkerGroup, subjects } from "@messenger/bus";
import { CpuMeter } from "../process-stats.js";
import type { WorkerProcess } from "../worker-host.js";

/**
 * The memory queue as the one-process system wires it (createMemoryQueue, the push worker's
 * consumer group): `count` push candidates of the router's encoding and dedup ids published at
 * once, consumed by a handler that decodes each and does nothing else. Candidates per second,
 * publish of the first → the last one consumed.
 */
export async function rawQueueRate(count: number): Promise<number> {
  const queue = createMemoryQueue();
  const candidates = Array.from({ length: count }, (_, i) => ({
    subject: subjects.offlineNotifications(`user${i}`),
    data: offlineNotificationCodec.encode({ userId: `user${i}`, conversationId: "c".repeat(26), messageId: `m${i}`.padEnd(26, "0"), seq: 1n, senderUserId: "s".repeat(26), liveDeviceIds: [], sentAtMs: BigInt(Date.now()) }),
    dedupId: `m${i}:user${i}`,
  }));
  let consumed = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  await queue.consume(pushWorkerGroup, async (data) => {
    offlineNotificationCodec.decode(data);
    if (++consumed === count) done();
  });
  const t0 = performance.now();
  await Promise.all(candidates.map((c) => queue.publish(c.subject, c.data, c.dedupId)));
  await all;
  const seconds = (performance.now() - t0) / 1000;
  await queue.close();
  return count / seconds;
}

/** One round of the no-op push service driven directly. */
export interface DirectRun {
  readonly rate: number;
  readonly latenciesMs: number[];
  readonly failed: number;
  readonly cpu: Record<string, number>;
}

/**
 * `requests` replays of a request the provider sent, `concurrency` in flight, from the
 * push-direct worker to the no-op service; what the service received is then forgotten.
 */
export async function directRun(deps: { direct: WorkerProcess; sink: WorkerProcess; endpoint: string; sample: { headers: Record<string, string>; body: string }; requests: number; concurrency: number }): Promise<DirectRun> {
  await deps.sink.request("reset");
  const meter = new CpuMeter({ client: deps.direct.pid, "push service": deps.sink.pid });
  const got = await deps.direct.request<{ seconds: number; statuses: Record<string, number>; latenciesMs: number[] }>("run", {
    endpoint: deps.endpoint,
    headers: deps.sample.headers,
    body: deps.sample.body,
    requests: deps.requests,
    concurrency: deps.concurrency,
  });
  const cpu = meter.read();
  const received = (await deps.sink.request<{ count: number }>("count")).count;
  await deps.sink.request("reset");
  const ok = got.statuses["201"] ?? 0;
  return { rate: ok / got.seconds, latenciesMs: got.latenciesMs, failed: deps.requests - ok + Math.abs(received - deps.requests), cpu };
}
