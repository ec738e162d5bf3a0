/**
 * Calls `fire` `perSecond` times a second on average, ticking every 2 ms and catching up on
 * what a late tick owes, so a load generator holds an aggregate rate whatever its timer
 * jitter. Stop it with clearInterval.
 */
export function steadyRate(perSecond: number, fire: () => void): NodeJS.Timeout {
  let owed = 0;
  let last = performance.now();
  return setInterval(() => {
    const now = performance.now();
    owed += ((now - last) / 1000) * perSecond;
    last = now;
    for (; owed >= 1; owed--) fire();
  }, 2);
}
