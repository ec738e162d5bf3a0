import { describe, expect, it } from "vitest";
import { GroupError, StaleMemberVersionError } from "./group-error.js";
import { withOptimisticRetry, type RetryPolicy } from "./optimistic-retry.js";

function policy(pauses: number[]): RetryPolicy {
  return { attempts: 4, baseDelayMs: 10, random: () => 0.5, sleep: async (ms) => void pauses.push(ms) };
}

describe("withOptimisticRetry", () => {
  it("tries again after a stale member version, pausing with growing jitter, until it succeeds", async () => {
    const pauses: number[] = [];
    let tries = 0;
    const result = await withOptimisticRetry("grp_1", policy(pauses), async () => {
      if (++tries < 3) throw new StaleMemberVersionError("grp_1");
      return "done";
    });
    expect(result).toBe("done");
    expect(tries).toBe(3);
    expect(pauses).toEqual([5, 10]);
  });

  it("gives up with ABORTED (concurrent-change) after the last try", async () => {
    let tries = 0;
    const err = await withOptimisticRetry("grp_1", policy([]), async () => {
      tries++;
      throw new StaleMemberVersionError("grp_1");
    }).catch((e: unknown) => e);
    expect(tries).toBe(4);
    expect(err).toBeInstanceOf(GroupError);
    expect((err as GroupError).reason).toBe("concurrent-change");
  });

  it("does not retry any other error", async () => {
    let tries = 0;
    const refusal = new GroupError("forbidden", "no");
    await expect(
      withOptimisticRetry("grp_1", policy([]), async () => {
        tries++;
        throw refusal;
      }),
    ).rejects.toBe(refusal);
    expect(tries).toBe(1);
  });
});
