import { describe, expect, it } from "vitest";
import type { MessageRecord } from "../storage/history-repository.js";
import { createSegmentCache } from "./segment-cache.js";
import type { SegmentIndexEntry } from "./segment-index.js";
import { textMessage } from "./test-messages.js";

const conversation = "grp_cache";

/** An index entry for messages fromSeq..fromSeq+count-1 (the key is all the cache looks at). */
function entry(fromSeq: number, count: number): SegmentIndexEntry {
  return { conversationId: conversation, fromSeq, toSeq: fromSeq + count - 1, key: `archive/v1/${conversation}/${fromSeq}`, sha256: "", count, bytes: 0, firstSentAt: 0, lastSentAt: 0 };
}

function messagesOf(e: SegmentIndexEntry): MessageRecord[] {
  return Array.from({ length: e.count }, (_, i) => textMessage(conversation, e.fromSeq + i));
}

/** A loader that counts its calls per key and answers from the entry. */
function countingLoader() {
  const loads = new Map<string, number>();
  return {
    loads: (e: SegmentIndexEntry) => loads.get(e.key) ?? 0,
    load: (e: SegmentIndexEntry): Promise<MessageRecord[]> => {
      loads.set(e.key, (loads.get(e.key) ?? 0) + 1);
      return Promise.resolve(messagesOf(e));
    },
  };
}

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("segment cache", () => {
  it("loads a segment once for concurrent readers and serves it from memory after", async () => {
    const gate = deferred<MessageRecord[]>();
    let loads = 0;
    const cache = createSegmentCache(() => {
      loads += 1;
      return gate.promise;
    });
    const a = entry(1, 3);
    const first = cache.messages(a);
    const second = cache.messages(a);
    gate.resolve(messagesOf(a));
    expect(await first).toEqual(messagesOf(a));
    expect(await second).toBe(await first);
    expect(await cache.messages(a)).toBe(await first);
    expect(loads).toBe(1);
  });

  it("keeps no failed load: readers waiting on it get the error, the next read loads again", async () => {
    const gate = deferred<MessageRecord[]>();
    let loads = 0;
    const cache = createSegmentCache((e) => {
      loads += 1;
      return loads === 1 ? gate.promise : Promise.resolve(messagesOf(e));
    });
    const a = entry(1, 2);
    const first = cache.messages(a);
    const second = cache.messages(a);
    gate.reject(new Error("blob store unreachable"));
    await expect(first).rejects.toThrow("blob store unreachable");
    await expect(second).rejects.toThrow("blob store unreachable");
    expect(loads).toBe(1);
    expect(await cache.messages(a)).toEqual(messagesOf(a));
    expect(loads).toBe(2);
  });

  it("holds at most maxMessages, evicting the least recently read segment", async () => {
    const loader = countingLoader();
    const cache = createSegmentCache(loader.load, { maxMessages: 10 });
    const [a, b, c] = [entry(1, 4), entry(5, 4), entry(9, 4)];
    await cache.messages(a);
    await cache.messages(b);
    await cache.messages(a); // a is now the most recent
    await cache.messages(c); // 12 > 10: b goes
    await cache.messages(a);
    await cache.messages(c);
    expect([loader.loads(a), loader.loads(b), loader.loads(c)]).toEqual([1, 1, 1]);
    await cache.messages(b);
    expect(loader.loads(b)).toBe(2);
  });

  it("answers a segment larger than the whole cache without keeping it", async () => {
    const loader = countingLoader();
    const cache = createSegmentCache(loader.load, { maxMessages: 5 });
    const big = entry(1, 8);
    expect(await cache.messages(big)).toHaveLength(8);
    expect(await cache.messages(big)).toHaveLength(8);
    expect(loader.loads(big)).toBe(2);
  });

  it("hands out frozen arrays, so no reader can change what the next one sees", async () => {
    const cache = createSegmentCache(countingLoader().load);
    const messages = await cache.messages(entry(1, 2));
    expect(Object.isFrozen(messages)).toBe(true);
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => createSegmentCache(countingLoader().load, { maxMessages: 0 })).toThrow(RangeError);
  });
});
