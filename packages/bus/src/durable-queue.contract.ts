import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RedeliverLaterError, type DurableQueue } from "./durable-queue.js";

const text = (d: Uint8Array): string => new TextDecoder().decode(d);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The one contract of the durable queue port; `open` returns an empty queue. */
export function durableQueueContract(adapter: string, open: () => Promise<DurableQueue>): void {
  describe(`DurableQueue contract: ${adapter}`, () => {
    let q: DurableQueue;
    beforeEach(async () => {
      q = await open();
    });
    afterEach(async () => {
      await q.close();
    });

    it("keeps what is published before anyone consumes, and hands it over in order", async () => {
      for (let i = 0; i < 5; i++) await q.publish("messenger.offline.u1", bytes(`m${i}`));
      const got: string[] = [];
      await q.consume("push", async (d) => void got.push(text(d)));
      await until(() => got.length === 5, "five messages");
      expect(got).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    });

    it("delivers again a message whose handler failed", async () => {
      await q.publish("messenger.offline.u1", bytes("retry me"));
      let attempts = 0;
      const done: string[] = [];
      await q.consume("push", async (d) => {
        attempts++;
        if (attempts === 1) throw new Error("provider down");
        done.push(text(d));
      });
      await until(() => done.length === 1, "the second attempt succeeds");
      expect(attempts).toBe(2);
    });

    it("numbers each delivery of a message: attempt 1 first, one more after each failure", async () => {
      await q.publish("messenger.offline.u1", bytes("poison"));
      await q.publish("messenger.offline.u1", bytes("fine"));
      const seen: string[] = [];
      await q.consume("push", async (d, _subject, { attempt }) => {
        seen.push(`${text(d)}#${attempt}`);
        if (text(d) === "poison" && attempt < 3) throw new Error("cannot send this one");
      });
      await until(() => seen.includes("poison#3") && seen.includes("fine#1"), "the third attempt of the failing message and the other one");
      expect(seen.filter((s) => s.startsWith("poison"))).toEqual(["poison#1", "poison#2", "poison#3"]);
      expect(seen.filter((s) => s.startsWith("fine"))).toEqual(["fine#1"]);
    });

    it("goes on with the next messages while a failed one waits for its RedeliverLaterError delay", async () => {
      await q.publish("messenger.offline.u1", bytes("later"));
      await q.publish("messenger.offline.u1", bytes("now"));
      const seen: { what: string; at: number; attempt: number }[] = [];
      const start = Date.now();
      await q.consume("push", async (d, _subject, { attempt }) => {
        seen.push({ what: text(d), at: Date.now() - start, attempt });
        if (text(d) === "later" && attempt === 1) throw new RedeliverLaterError("provider said Retry-After", 600);
      });
      await until(() => seen.length === 3, "three deliveries");
      expect(seen.map((s) => `${s.what}#${s.attempt}`)).toEqual(["later#1", "now#1", "later#2"]);
      // "now" did not wait behind it; the second "later" waited its delay.
      expect(seen[1]!.at).toBeLessThan(500);
      expect(seen[2]!.at - seen[0]!.at).toBeGreaterThanOrEqual(550);
    });

    it("handles up to `concurrency` messages at once when asked", async () => {
      for (let i = 0; i < 8; i++) await q.publish("messenger.offline.u1", bytes(`c${i}`));
      let running = 0;
      let most = 0;
      let done = 0;
      await q.consume(
        "push",
        async () => {
          most = Math.max(most, ++running);
          await new Promise((r) => setTimeout(r, 50));
          running--;
          done++;
        },
        { concurrency: 4 },
      );
      await until(() => done === 8, "eight handled");
      expect(most).toBe(4);
    });

    it("drops a repeated publish with the same dedup id", async () => {
      await q.publish("messenger.offline.u1", bytes("once"), "id-1");
      await q.publish("messenger.offline.u1", bytes("once"), "id-1");
      await q.publish("messenger.offline.u1", bytes("next"), "id-2");
      const got: string[] = [];
      await q.consume("push", async (d) => void got.push(text(d)));
      // One consumer gets the queue in publish order: a kept duplicate would come before
      // "next", so once "next" is in, everything that could arrive has.
      await until(() => got.includes("next"), "the message published after the duplicate");
      expect(got).toEqual(["once", "next"]);
    });
  });
}
