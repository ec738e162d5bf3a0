import type { Clock } from "./clock.js";
import type { PresenceState } from "./presence-state.js";

interface Window {
  /** The state sent when this window opened. */
  readonly announced: PresenceState;
  /** The latest change seen since, if any. */
  pending: PresenceState | undefined;
  readonly cancel: () => void;
}

const sameState = (a: PresenceState, b: PresenceState): boolean => a.online === b.online && a.lastSeenAt === b.lastSeenAt;

/**
 * Rate-limits announcements per user. The first change after a quiet period opens a window
 * of `windowMs`: coming online goes out at once; going offline is held for the window, a
 * grace period, so a reconnect within it (a phone changing networks) costs watchers nothing.
 * Changes inside a window are held, and when it ends only the latest one is sent, and only
 * if it differs from what watchers last got (which opens the next window). So a user
 * flapping any number of times costs each watcher at most two announcements per window, and
 * the last one is always the true final state. Sends for one user run one after another,
 * so watchers never see an older state last.
 */
export class AnnounceCoalescer {
  private readonly windows = new Map<string, Window>();
  private readonly tails = new Map<string, Promise<void>>();
  private heldCount = 0;
  private closed = false;

  constructor(
    private readonly deps: {
      windowMs: number;
      clock: Clock;
      /** Announces one state; must not reject (presence is advisory). */
      send: (state: PresenceState) => Promise<void>;
    },
  ) {}

  /** Changes held back inside a window (sent later as part of a coalesced state, or never). */
  get held(): number {
    return this.heldCount;
  }

  /**
   * True while a grace window holds this user's going offline against the online state
   * watchers last got: readers should still see the user online, as pushes do.
   */
  holdsOffline(userId: string): boolean {
    const w = this.windows.get(userId);
    return w !== undefined && w.announced.online && w.pending !== undefined && !w.pending.online;
  }

  /**
   * Runs `fn` after every send already queued for the user, and before any queued later:
   * what else is pushed about a user (a hidden presence) keeps its place among the
   * announcements.
   */
  inOrder(userId: string, fn: () => Promise<void>): Promise<void> {
    return this.chain(userId, fn);
  }

  /** Takes a change; resolves once it has been sent if it goes out now, at once otherwise. */
  offer(state: PresenceState): Promise<void> {
    // After close nothing is held: there is no window left to send it at the end of.
    if (this.closed) return this.enqueue(state);
    const window = this.windows.get(state.userId);
    if (window) {
      window.pending = state;
      this.heldCount++;
      return Promise.resolve();
    }
    if (this.deps.windowMs <= 0) return this.enqueue(state);
    if (!state.online) {
      // Whoever goes offline was online, and watchers last got that: the grace window holds
      // the offline state against it.
      this.heldCount++;
      this.windows.set(state.userId, this.window({ userId: state.userId, online: true, lastSeenAt: 0 }, state));
      return Promise.resolve();
    }
    return this.open(state);
  }

  /** Resolves when every send started so far has finished. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }

  /**
   * Stops the timers and sends every held change that differs from what watchers last got
   * at once (a shutdown must not leave them with a state that is no longer true); wait for
   * idle() after it.
   */
  close(): void {
    this.closed = true;
    const windows = [...this.windows.values()];
    this.windows.clear();
    for (const w of windows) {
      w.cancel();
      if (w.pending && !sameState(w.pending, w.announced)) void this.enqueue(w.pending);
    }
  }

  private open(state: PresenceState): Promise<void> {
    this.windows.set(state.userId, this.window(state, undefined));
    return this.enqueue(state);
  }

  private window(announced: PresenceState, pending: PresenceState | undefined): Window {
    return { announced, pending, cancel: this.deps.clock.setTimer(() => this.windowEnded(announced.userId), this.deps.windowMs) };
  }

  private windowEnded(userId: string): void {
    const window = this.windows.get(userId);
    if (!window) return;
    this.windows.delete(userId);
    const latest = window.pending;
    if (latest && !sameState(latest, window.announced)) void this.open(latest);
  }

  private enqueue(state: PresenceState): Promise<void> {
    return this.chain(state.userId, () => this.deps.send(state));
  }

  private chain(userId: string, fn: () => Promise<void>): Promise<void> {
    // fn reports its own failures; the catch only keeps one broken step from stalling the
    // ones queued behind it.
    const next = (this.tails.get(userId) ?? Promise.resolve()).then(fn).catch(() => undefined);
    this.tails.set(userId, next);
    void next.finally(() => {
      if (this.tails.get(userId) === next) this.tails.delete(userId);
    });
    return next;
  }
}
