/**
 * Reconnect delay with exponential growth and full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"): spreads a crowd of clients that lost the same gateway.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.floor(random() * ceiling);
}
