import type { HistoryRepository } from "@messenger/store";
import { CpuMeter } from "../process-stats.js";

export const appendBatch = 500;
export const textBytes = 100;
/** Sent times start here and move 1 ms per message, so a cutoff names an exact prefix. */
export const epoch = Date.UTC(2026, 0, 1);
/** The member who reads every page. */
export const reader = "alice";

export interface SeedRun {
  readonly messages: number;
  readonly seconds: number;
  readonly cpu: number;
}

const text = (i: number): string => `message ${i} `.padEnd(textBytes, "x");

/** Appends messages from..to (exclusive) in batches, each message 1 ms after the previous. */
export async function seed(repo: HistoryRepository, conversationId: string, from: number, to: number): Promise<{ run: SeedRun; firstSeq: number }> {
  const meter = new CpuMeter({ bench: process.pid });
  const t0 = performance.now();
  let firstSeq = 0;
  for (let i = from; i < to; i += appendBatch) {
    const inputs = Array.from({ length: Math.min(appendBatch, to - i) }, (_, k) => ({
      conversationId,
      senderUserId: reader,
      senderDeviceId: "phone",
      clientMessageId: `m${i + k}`,
      body: { kind: "text" as const, text: text(i + k) },
      replyToSeq: 0,
      clientSentAt: undefined,
      now: epoch + i + k,
    }));
    const out = await repo.append(inputs);
    const failed = out.find((o) => !o.ok);
    if (failed && !failed.ok) throw new Error(`history bench: seeding refused: ${failed.error}`);
    if (i === from && out[0]?.ok) firstSeq = out[0].message.seq;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { run: { messages: to - from, seconds, cpu: meter.read().bench! }, firstSeq };
}
