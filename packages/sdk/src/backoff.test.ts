import { describe, expect, it } from "vitest";
import { backoffDelay, resendDelay } from "./backoff.js";

describe("backoff", () => {
  it("reconnects after a full-jitter exponential delay, capped", () => {
    expect(backoffDelay(0, 250, 30_000, () => 0.5)).toBe(125);
    expect(backoffDelay(3, 250, 30_000, () => 0.999)).toBe(1_998);
    expect(backoffDelay(30, 250, 30_000, () => 0.5)).toBe(15_000);
  });

  it("repeats a refused send never sooner than the server's hint, backing off exponentially with jitter", () => {
    // No hint: half a step at least, up to a whole step.
    expect([0, 1, 2, 3].map((a) => resendDelay(a, 0, 300, 5_000, () => 0))).toEqual([150, 300, 600, 1_200]);
    expect([0, 1, 2, 3].map((a) => resendDelay(a, 0, 300, 5_000, () => 0.999))).toEqual([299, 599, 1_199, 2_398]);
    expect(resendDelay(20, 0, 300, 5_000, () => 0.999)).toBe(4_997);
    // A hint is a floor, and jitter goes on top of it.
    expect(resendDelay(0, 4_000, 300, 5_000, () => 0)).toBe(4_000);
    expect(resendDelay(0, 4_000, 300, 5_000, () => 0.5)).toBe(4_075);
    for (let a = 0; a < 10; a++) expect(resendDelay(a, 2_500, 300, 5_000)).toBeGreaterThanOrEqual(2_500);
  });
});
