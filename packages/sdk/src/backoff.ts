/**
 * Reconnect delay with exponential growth and full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): spreads a crowd of clients that lost the same gateway.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * backoffStep(attempt, baseMs, maxMs));
}

/** The exponential step after `attempt` failures: base, 2×base, … up to maxMs. */
function backoffStep(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
}

/**
 * The wait before repeating a send refused for an outage, after `attempt` earlier refusals in
 * a row: never sooner than the server's hint (`retry_after_ms`), at least half an exponential
 * step (base, 2×base, … up to maxMs) so a failing send is not hammered when the server gives
 * no hint, plus up to half a step of jitter so the clients of one outage come back spread out.
 */
export function resendDelay(attempt: number, hintMs: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = backoffStep(attempt, baseMs, maxMs);
  return Math.floor(Math.max(hintMs, step / 2) + (random() * step) / 2);
}
