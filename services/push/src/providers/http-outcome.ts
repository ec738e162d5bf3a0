import type { SendOutcome } from "../domain/push-ports.js";
import { parseRetryAfter } from "./retry-after.js";

/** The usual reading of a push service's HTTP status, which each provider refines by its error codes. */
export function outcomeOfStatus(status: number, reason: string, retryAfter: string | null | undefined, now: number): SendOutcome {
  if (status >= 200 && status < 300) return { outcome: "accepted", status };
  if (status === 404 || status === 410) return { outcome: "gone", status, reason };
  if (status === 429 || status >= 500) return retry(status, reason, parseRetryAfter(retryAfter, now));
  return { outcome: "rejected", status, reason };
}

/** A retry, with the provider's delay when it gave one. */
export function retry(status: number, reason: string, retryAfterMs: number | undefined): SendOutcome {
  return retryAfterMs === undefined ? { outcome: "retry", status, reason } : { outcome: "retry", status, reason, retryAfterMs };
}

/** A request that got no answer (refused, reset, timed out): status 0, try again. */
export function networkFailure(error: unknown): SendOutcome {
  return { outcome: "retry", status: 0, reason: `network: ${describe(error)}` };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** At most `max` characters of a response body, for a reason that goes to logs. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
