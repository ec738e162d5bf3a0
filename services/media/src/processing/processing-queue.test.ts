import { describe, expect, it } from "vitest";
import { ProcessingQueue, ProcessingQueueFullError } from "./processing-queue.js";

/** A promise the test settles by hand, so ordering never rests on timing. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("ProcessingQueue", () => {
  it("runs at most `concurrency` jobs at once and starts a waiting one when a slot frees", async () => {
    const queue = new ProcessingQueue({ concurrency: 2, maxQueued: 5 });
    const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
    const started: number[] = [];
    const runs = gates.map((gate, i) =>
      queue.run(() => {
        started.push(i);
        return gate.promise;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect(queue.active).toBe(2);
    expect(queue.queued).toBe(1);
    gates[0]!.resolve(10);
    expect(await runs[0]).toBe(10);
    await microtasksUntil(() => started.length === 3);
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.resolve(11);
    gates[2]!.resolve(12);
    expect(await Promise.all(runs)).toEqual([10, 11, 12]);
    expect(queue.active).toBe(0);
    expect(queue.queued).toBe(0);
  });

  it("refuses a job at once with ProcessingQueueFullError when maxQueued jobs are already waiting", async () => {
    const queue = new ProcessingQueue({ concurrency: 1, maxQueued: 2 });
    const gate = deferred<void>();
    const accepted = [queue.run(() => gate.promise), queue.run(() => gate.promise), queue.run(() => gate.promise)];
    let ran = false;
    const refused = queue.run(async () => {
      ran = true;
    });
    let outcome: unknown = "still waiting";
    void refused.then(
      () => (outcome = "ran"),
      (error: unknown) => (outcome = error),
    );
    await microtasksUntil(() => outcome !== "still waiting");
    expect(outcome).toBeInstanceOf(ProcessingQueueFullError);
    expect(queue.queued).toBe(2);
    gate.resolve();
    await Promise.all(accepted);
    expect(ran).toBe(false);
  });

  it("a failing job frees its slot for the next one", async () => {
    const queue = new ProcessingQueue({ concurrency: 1, maxQueued: 1 });
    const failing = deferred<string>();
    const first = queue.run(() => failing.promise);
    const second = queue.run(async () => "second ran");
    failing.reject(new Error("boom"));
    await expect(first).rejects.toThrow("boom");
    await expect(second).resolves.toBe("second ran");
  });
});

/** Lets queued microtasks run until `done` holds; bounded so a bug fails instead of hanging. */
async function microtasksUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !done(); i++) await Promise.resolve();
  expect(done()).toBe(true);
}
