import { GroupError, StaleMemberVersionError } from "./group-error.js";

/** How often, and after how long a pause, a change decided on a stale read is decided again. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** The pause before the n-th retry is random in [0, baseDelayMs * 2^(n-1)) ("full jitter"). */
  readonly baseDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

/** Four tries over at most ~70 ms: enough for bursts of concurrent admins, short for the caller. */
export const defaultRetryPolicy: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 10,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * Runs `attempt` (read, decide, apply) until it does not hit a stale member version, pausing
 * a little with jitter in between, so concurrent changes of one group serialize without a
 * lock. After `policy.attempts` stale tries it gives up with GroupError "concurrent-change";
 * every other error ends the loop at once. Each try re-reads, so each decision sees the
 * latest state: a rule that now refuses refuses.
 */
export async function withOptimisticRetry<T>(conversationId: string, policy: RetryPolicy, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof StaleMemberVersionError)) throw err;
      if (i >= policy.attempts) {
        throw new GroupError("concurrent-change", `group ${conversationId} kept changing concurrently; nothing was changed, try again`, { cause: err });
      }
      await policy.sleep(Math.floor(policy.random() * policy.baseDelayMs * 2 ** (i - 1)));
    }
  }
}
