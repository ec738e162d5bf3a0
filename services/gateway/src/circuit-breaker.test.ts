import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.js";

function breaker(random = 0.5) {
  let now = 1_000;
  const b = new CircuitBreaker({ baseMs: 250, maxMs: 5_000 }, () => now, () => random);
  return { b, advance: (ms: number) => (now += ms), now: () => now };
}

const started = (p: ReturnType<CircuitBreaker["tryCall"]>): number => {
  if (!p.ok) throw new Error("refused");
  return p.startedAt;
};

describe("CircuitBreaker", () => {
  it("lets every call through while closed, and hints the base period for a send that failed anyway", () => {
    const { b } = breaker();
    expect(b.tryCall().ok).toBe(true);
    expect(b.tryCall().ok).toBe(true);
    expect(b.isOpen).toBe(false);
    expect(b.retryAfterMs()).toBe(Math.round(250 + 250 / 4));
  });

  it("after an outage answers at once for the open period, then lets one probe through", () => {
    const { b, advance } = breaker();
    b.failed(started(b.tryCall()));
    expect(b.isOpen).toBe(true);
    expect(b.tryCall().ok).toBe(false);
    // The rest of the period, spread over half a period more.
    expect(b.retryAfterMs()).toBe(Math.round(250 + 250 / 4));
    advance(250);
    const probe = b.tryCall();
    expect(probe.ok).toBe(true);
    expect(b.tryCall().ok).toBe(false);
    // While the probe is out the rest is unknown: at least the base period.
    expect(b.retryAfterMs()).toBeGreaterThanOrEqual(250);
    b.succeeded();
    expect(b.isOpen).toBe(false);
    expect(b.tryCall().ok).toBe(true);
  });

  it("doubles the open period with each failed probe, up to the bound, and the hint with it", () => {
    const { b, advance } = breaker();
    const periods: number[] = [];
    b.failed(started(b.tryCall()));
    for (let i = 0; i < 8; i++) {
      let waited = 0;
      let probe = b.tryCall();
      for (; !probe.ok; probe = b.tryCall()) {
        advance(10);
        waited += 10;
      }
      periods.push(waited);
      b.failed(probe.startedAt);
    }
    expect(periods).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000]);
    expect(b.retryAfterMs()).toBe(5_000);
  });

  it("jitters the periods so gateways that lost the same peer do not probe in step", () => {
    const openFor = (random: number): number => {
      const { b, advance } = breaker(random);
      b.failed(started(b.tryCall()));
      let waited = 0;
      for (; !b.tryCall().ok; waited++) advance(1);
      return waited;
    };
    expect(openFor(0)).toBe(188);
    expect(openFor(0.999)).toBe(312);
  });

  it("counts one outage once, however many calls it broke", () => {
    const { b, advance } = breaker();
    const before = [started(b.tryCall()), started(b.tryCall()), started(b.tryCall())];
    advance(5);
    for (const at of before) b.failed(at);
    advance(250);
    expect(b.tryCall().ok).toBe(true);
  });

  it("does not stay shut behind a probe that never settles", () => {
    const { b, advance } = breaker();
    b.failed(started(b.tryCall()));
    advance(250);
    expect(b.tryCall().ok).toBe(true);
    advance(4_999);
    expect(b.tryCall().ok).toBe(false);
    advance(2);
    expect(b.tryCall().ok).toBe(true);
  });
});
