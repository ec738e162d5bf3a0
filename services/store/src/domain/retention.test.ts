import { describe, expect, it, vi } from "vitest";
import type { ExpiredDeletion } from "../storage/history-repository.js";
import { startPassLoop } from "./pass-loop.js";
import { checkRetention } from "./retention.js";

describe("retention policy checks", () => {
  it("accepts permanent, store-and-forward (no TTL) and a disappearing TTL from 5 minutes to 90 days", () => {
    expect(checkRetention({ mode: "permanent", ttlSeconds: 99 })).toEqual({ mode: "permanent", ttlSeconds: 0 });
    expect(checkRetention({ mode: "disappearing", ttlSeconds: 300 })).toEqual({ mode: "disappearing", ttlSeconds: 300 });
    expect(checkRetention({ mode: "disappearing", ttlSeconds: 90 * 86400 })).toMatchObject({ ttlSeconds: 90 * 86400 });
    for (const ttlSeconds of [0, 299, 90 * 86400 + 1, 1.5]) expect(() => checkRetention({ mode: "disappearing", ttlSeconds })).toThrow(/ttl_seconds/);
    expect(checkRetention({ mode: "store_and_forward", ttlSeconds: 3600 })).toEqual({ mode: "store_and_forward", ttlSeconds: 0 });
  });
});

describe("the pass loop (the retention sweeper, the archiver)", () => {
  it("runs passes back to back while one was cut short by its batch, on one tick of its interval, and reports each", async () => {
    vi.useFakeTimers();
    try {
      const answers: ExpiredDeletion[] = [
        { deleted: 2, conversations: 1, more: true },
        { deleted: 2, conversations: 2, more: true },
        { deleted: 1, conversations: 1, more: false },
      ];
      const asked: [number, number][] = [];
      const pass = async (now: number, limit: number) => {
        asked.push([now, limit]);
        const d = answers.shift() ?? { deleted: 0, conversations: 0, more: false };
        return { ...d, byMode: { disappearing: d.deleted, store_and_forward: 0 } };
      };
      const seen: number[] = [];
      const sweeper = startPassLoop(pass, { intervalMs: 60_000, batch: 2, now: () => 42, events: { swept: (d) => seen.push(d.deleted) }, onError: () => undefined });
      expect(asked).toEqual([]);
      // One tick, then only microtasks: the three passes ran without waiting for another tick.
      await vi.advanceTimersByTimeAsync(60_000);
      expect(asked).toEqual([
        [42, 2],
        [42, 2],
        [42, 2],
      ]);
      expect(seen).toEqual([2, 2, 1]);
      await sweeper.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
