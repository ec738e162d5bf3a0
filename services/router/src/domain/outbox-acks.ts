import type { OutboxKey, PushOutbox } from "./ports.js";

/** Most keys per AckPushOutbox call (the store's bound). */
const maxKeysPerAck = 1_000;

interface Waiting {
  readonly keys: readonly OutboxKey[];
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Acknowledges push outbox entries to the store in batches: acks made while one call is
 * under way go together in the next, so a busy router costs the store one delete write per
 * batch, not one per message (the same group commit as the store's own writer). A failed
 * call leaves its entries in the outbox: the relay sends their notifications again, and the
 * queue drops the repeats.
 */
export class OutboxAcks {
  private waiting: Waiting[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly outbox: Pick<PushOutbox, "ack">) {}

  /** Resolves once the store deleted the entries. */
  ack(keys: readonly OutboxKey[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push({ keys, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves once every ack asked for so far was answered. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Acks asked for in the same turn share the first call.
    await Promise.resolve();
    while (this.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (this.waiting.length > 0 && (batch.length === 0 || size + this.waiting[0]!.keys.length <= maxKeysPerAck)) {
        const w = this.waiting.shift()!;
        batch.push(w);
        size += w.keys.length;
      }
      const keys = batch.flatMap((w) => w.keys);
      try {
        for (let i = 0; i < keys.length; i += maxKeysPerAck) await this.outbox.ack(keys.slice(i, i + maxKeysPerAck));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.running = undefined;
  }
}
