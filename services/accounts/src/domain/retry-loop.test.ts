import { describe, expect, it } from "vitest";
import { ManualTimer } from "./manual-timer.js";
import { RetryLoop } from "./retry-loop.js";

const timing = { intervalMs: 1_000, maxIntervalMs: 5_000 };

/** A loop whose passes fail while `outcomes` says so, recording the failures it reports. */
function loopOf(outcomes: boolean[]) {
  const timer = new ManualTimer();
  const failures: number[] = [];
  let passes = 0;
  const loop = new RetryLoop(
    async () => {
      passes++;
      if (outcomes.shift() === false) throw new Error("store unreachable");
    },
    timing,
    (_err, retryInMs) => failures.push(retryInMs),
    timer.setTimer,
  );
  return { timer, failures, loop, passes: () => passes };
}

describe("RetryLoop", () => {
  it("runs a pass every interval, doubles the wait after each failure up to the most, and goes back to the interval after a success", async () => {
    const { timer, failures, loop, passes } = loopOf([true, false, false, false, false, true, true]);
    expect(timer.waits()).toEqual([]);
    loop.start();
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      waits.push(...timer.waits());
      timer.fire();
      await loop.settled();
    }
    expect(passes()).toBe(7);
    expect(waits).toEqual([1_000, 1_000, 2_000, 4_000, 5_000, 5_000, 1_000]);
    expect(failures).toEqual([2_000, 4_000, 5_000, 5_000]);
    expect(timer.waits()).toEqual([1_000]);
    await loop.stop();
  });

  it("starts no pass after stop, and stop waits for the pass under way", async () => {
    let release = (): void => {};
    let ended = false;
    const timer = new ManualTimer();
    const loop = new RetryLoop(
      async () => {
        await new Promise<void>((resolve) => (release = resolve));
        ended = true;
      },
      timing,
      () => {},
      timer.setTimer,
    );
    loop.start();
    timer.fire();
    const stopped = loop.stop().then(() => ended);
    release();
    expect(await stopped).toBe(true);
    expect(timer.waits()).toEqual([]);
  });

  it("runs one loop however often it is started", async () => {
    const { timer, loop, passes } = loopOf([]);
    loop.start();
    loop.start();
    expect(timer.waits()).toEqual([1_000]);
    timer.fire();
    await loop.settled();
    loop.start();
    expect(passes()).toBe(1);
    expect(timer.waits()).toEqual([1_000]);
    await loop.stop();
  });

  it("runs again when started after stop, from the interval", async () => {
    const { timer, loop, passes } = loopOf([false, false]);
    loop.start();
    timer.fire();
    await loop.settled();
    expect(timer.waits()).toEqual([2_000]);
    await loop.stop();
    expect(timer.waits()).toEqual([]);
    loop.start();
    expect(timer.waits()).toEqual([1_000]);
    timer.fire();
    await loop.settled();
    expect(passes()).toBe(2);
    expect(timer.waits()).toEqual([2_000]);
    await loop.stop();
  });

  it("runs one loop when started again while the pass stopped is still under way", async () => {
    let release = (): void => {};
    const timer = new ManualTimer();
    const loop = new RetryLoop(() => new Promise<void>((resolve) => (release = resolve)), timing, () => {}, timer.setTimer);
    loop.start();
    timer.fire();
    const stopped = loop.stop();
    loop.start();
    release();
    await stopped;
    expect(timer.waits()).toEqual([1_000]);
    await loop.stop();
  });
});
