import type { PresenceState } from "./presence-state.js";

/**
 * What watchers have been told of one user, shared by every presence replica (see
 * AnnounceBoard): the rate-limit window is the user's, not a process's.
 */
export interface AnnounceRecord {
  /** The state last sent to watchers; undefined before the first announcement. */
  readonly announced: PresenceState | undefined;
  /** The latest change held until the window ends; undefined when nothing is held. */
  readonly pending: PresenceState | undefined;
  /** When the current window ends (epoch ms); 0 when none was opened. */
  readonly windowEndsAt: number;
}

/** A new record and what follows from writing it. */
export interface WindowStep {
  readonly next: AnnounceRecord;
  /** Announce this now. */
  readonly send?: PresenceState;
  /** The change was held inside a window instead of being sent. */
  readonly held: boolean;
  /** A change is held: end the window at this time (epoch ms). */
  readonly flushAt?: number;
}

export const sameState = (a: PresenceState, b: PresenceState): boolean => a.online === b.online && a.lastSeenAt === b.lastSeenAt;

/**
 * The state the user is in as far as announcements go: the held change, else the announced
 * state; undefined when no record exists (never registered since this record was kept, so
 * any state is news).
 */
export function latestState(record: AnnounceRecord | undefined): PresenceState | undefined {
  return record?.pending ?? record?.announced;
}

/**
 * Takes a change of the user's state into the record. The first change after a quiet period
 * opens a window of `windowMs`: coming online goes out at once; going offline is held for
 * the window, a grace period, so a reconnect within it (a phone changing networks) costs
 * watchers nothing. Inside a window only the latest change is kept, to go out at its end if
 * it differs from what watchers have. A window of 0 sends every change at once.
 */
export function takeChange(record: AnnounceRecord | undefined, state: PresenceState, now: number, windowMs: number): WindowStep {
  const announced = record?.announced;
  if (announced && sameState(announced, state)) {
    // Back to what watchers have: a change held inside a window is dropped; nothing is sent.
    return { next: { announced, pending: undefined, windowEndsAt: record.windowEndsAt }, held: now < record.windowEndsAt };
  }
  if (windowMs <= 0) return { next: { announced: state, pending: undefined, windowEndsAt: 0 }, send: state, held: false };
  if (record && now < record.windowEndsAt) return { next: { ...record, pending: state }, held: true, flushAt: record.windowEndsAt };
  if (state.online) return { next: { announced: state, pending: undefined, windowEndsAt: now + windowMs }, send: state, held: false };
  // Whoever goes offline was online, and watchers last got that (also for a user whose record
  // predates this board, e.g. after an upgrade): the grace window holds the offline against it.
  const online: PresenceState = { userId: state.userId, online: true, lastSeenAt: 0 };
  return { next: { announced: announced ?? online, pending: state, windowEndsAt: now + windowMs }, held: true, flushAt: now + windowMs };
}

/**
 * The end of a window (or a shutdown, which does not wait for it): the held change goes out
 * if it differs from what watchers have, and opens the next window. Undefined when nothing
 * is held.
 */
export function endWindow(record: AnnounceRecord, now: number, windowMs: number): WindowStep | undefined {
  const pending = record.pending;
  if (!pending) return undefined;
  if (record.announced && sameState(pending, record.announced)) return { next: { ...record, pending: undefined }, held: false };
  return { next: { announced: pending, pending: undefined, windowEndsAt: now + windowMs }, send: pending, held: false };
}

/**
 * True while a grace window holds the user's going offline against the online state
 * watchers last got: readers should still see the user online, as pushes do.
 */
export function holdsOffline(record: AnnounceRecord | undefined, now: number): boolean {
  return record !== undefined && record.announced?.online === true && record.pending?.online === false && now < record.windowEndsAt;
}
