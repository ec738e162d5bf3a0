import type { Logger } from "@messenger/logging";
import type { AnnounceBoard } from "../storage/announce-board.js";
import { endWindow, holdsOffline, latestState, sameState, takeChange, type WindowStep } from "./announce-window.js";
import type { Clock } from "./clock.js";
import type { PresenceState } from "./presence-state.js";

/** Conditional writes tried for one decision before it is given up (and logged). */
const maxAttempts = 20;

/** What the coalescer works with. */
export interface AnnounceCoalescerDeps {
  /** Shared by every presence replica: what watchers have been told of each user. */
  readonly board: AnnounceBoard;
  /** Per-user window (see takeChange); 0 sends every change at once. */
  readonly windowMs: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** Whether the user holds a live session now (every registration completed before the call seen). */
  isOnline(userId: string): Promise<boolean>;
  /** Told once per transition to offline, by the replica that decided it, before it is announced. */
  wentOffline(userId: string, atMs: number): Promise<void>;
  /** Announces one state; must not reject (presence is advisory). */
  send(state: PresenceState): Promise<void>;
}

/**
 * Decides, once across every presence replica, which changes of a user's sessions are news
 * to watchers, and rate-limits them per user (the window rules are in announce-window.ts).
 *
 * Every decision is a compare-and-set on the user's record in the AnnounceBoard: of several
 * replicas taking the same change (two sweeps, an end racing a registration), exactly one
 * writes it and announces; the others re-read and find nothing to do. The winner then reads
 * the sessions again: a change another replica made between its reads, and judged against
 * the record as it was, is taken in the next round. So once changes stop, the record (and
 * what watchers were sent) matches the sessions.
 *
 * A replica that holds a change arms a timer for the window's end; ending it is again a
 * compare-and-set, so a window ended by several replicas goes out once. A window whose
 * replica died is ended by the next replica that takes a change of the user (it arms a
 * timer of its own if the window is not over yet) or, for a held offline, reads the user's
 * presence (heldOffline).
 * Sends for one user leave this process one after another, in decision order; across
 * replicas, a send overtaken by a later decision is dropped (see superseded).
 */
export class AnnounceCoalescer {
  private readonly decisions = new Map<string, Promise<void>>();
  private readonly sends = new Map<string, Promise<void>>();
  private readonly timers = new Map<string, { at: number; cancel: () => void }>();
  private heldCount = 0;
  private closed = false;

  constructor(private readonly deps: AnnounceCoalescerDeps) {}

  /** Changes held back inside a window by this replica (sent later as part of a coalesced state, or never). */
  get held(): number {
    return this.heldCount;
  }

  /**
   * Takes a change of the user's sessions. `online`, when given, is what the caller knows
   * (it registered a session; it found none left); otherwise the registry is asked. Resolves
   * once decided (last seen stored when the user went offline); announcements go on in the
   * background. Never rejects: a failure is logged (presence is advisory).
   */
  changed(userId: string, online?: boolean, atMs?: number): Promise<void> {
    return this.decide(userId, () => this.reconcile(userId, online, atMs));
  }

  /**
   * The users among `userIds` whose going offline a grace window holds: readers should still
   * see them online, as watchers do. A window found ended with a change still held (its
   * replica gone) is ended here. Reads one record per user, all at once: callers bound the
   * batch.
   */
  async heldOffline(userIds: readonly string[]): Promise<Set<string>> {
    const now = this.deps.clock.now();
    const records = await Promise.all(userIds.map((u) => this.deps.board.get(u)));
    const held = new Set<string>();
    userIds.forEach((userId, i) => {
      const record = records[i]?.record;
      if (holdsOffline(record, now)) held.add(userId);
      else if (record?.pending && now >= record.windowEndsAt + this.deps.windowMs && !this.timers.has(userId)) {
        void this.decide(userId, () => this.flush(userId, now, false));
      }
    });
    return held;
  }

  /**
   * True when the board no longer has `state` as what watchers were last told: a later
   * decision (of any replica) replaced it, and its own send carries the newer word. A send
   * asks just before it publishes, so one delayed past a later decision (a slow audience
   * lookup, a window of 0) does not land after it and leave watchers with the older state.
   */
  async superseded(state: PresenceState): Promise<boolean> {
    const announced = (await this.deps.board.get(state.userId))?.record.announced;
    // No record (a bucket emptied by an operator): nothing says it is stale.
    return announced !== undefined && !sameState(announced, state);
  }

  /**
   * Runs `fn` after every send this replica queued for the user, and before any queued
   * later: what else is pushed about a user (a hidden presence) keeps its place among the
   * announcements. Rejects with fn's error; the sends behind it go on.
   */
  inOrder(userId: string, fn: () => Promise<void>): Promise<void> {
    return this.chain(this.sends, userId, fn);
  }

  /** Resolves when every decision and send started so far has finished. */
  async idle(): Promise<void> {
    while (this.decisions.size > 0 || this.sends.size > 0) await Promise.all([...this.decisions.values(), ...this.sends.values()]);
  }

  /**
   * Stops the timers and ends every window this replica holds a change in at once (a
   * shutdown must not leave watchers with a state that is no longer true); later changes go
   * out without a window. Wait for idle() after it.
   */
  close(): void {
    this.closed = true;
    const now = this.deps.clock.now();
    const users = [...this.timers.keys()];
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    for (const userId of users) void this.decide(userId, () => this.flush(userId, now, true));
  }

  private async reconcile(userId: string, known: boolean | undefined, atMs: number | undefined): Promise<void> {
    let online = known;
    let at = atMs;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.deps.board.get(userId);
      online ??= await this.deps.isOnline(userId);
      const now = this.deps.clock.now();
      const record = current?.record;
      if (latestState(record)?.online === online) {
        // Nothing new, but a change is held and no timer here ends its window: the replica
        // that holds it may have died, and nobody else would send it (GetPresence reads no
        // record of a user online), leaving watchers with the state before it. End the
        // window now if it is over, else arm a timer for it; a live holder ending it too
        // is one compare-and-set against another, so it still goes out once.
        if (record?.pending && !this.timers.has(userId)) await this.flush(userId, now, false);
        return;
      }
      const state: PresenceState = online ? { userId, online: true, lastSeenAt: 0 } : { userId, online: false, lastSeenAt: at ?? now };
      const step = takeChange(record, state, now, this.deps.windowMs);
      if (await this.deps.board.swap(userId, step.next, current?.revision ?? 0)) {
        if (!state.online) await this.deps.wentOffline(userId, state.lastSeenAt);
        this.apply(userId, step);
        at = undefined;
      }
      // Won: check the sessions again (see the class comment). Lost: another replica wrote
      // first; re-read both.
      online = undefined;
    }
    this.deps.log.warn({ userId }, "presence change not decided: too many concurrent writers");
  }

  /** Ends the user's window at `now` (at once when `force`): the held change goes out if it is still news. */
  private async flush(userId: string, now: number, force: boolean): Promise<void> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const current = await this.deps.board.get(userId);
      const record = current?.record;
      if (!current || !record?.pending) return;
      if (!force && now < record.windowEndsAt) {
        this.arm(userId, record.windowEndsAt);
        return;
      }
      // An offline held while a session came back through a replica that has not taken it
      // into the record yet: the sessions decide, so no watcher is told a false offline.
      const pending = !record.pending.online && (await this.deps.isOnline(userId)) ? { userId, online: true, lastSeenAt: 0 } : record.pending;
      const step = endWindow({ ...record, pending }, now, this.deps.windowMs);
      if (!step) return;
      if (await this.deps.board.swap(userId, step.next, current.revision)) {
        this.apply(userId, step);
        return;
      }
    }
    this.deps.log.warn({ userId }, "presence window not ended: too many concurrent writers");
  }

  private apply(userId: string, step: WindowStep): void {
    if (step.held) this.heldCount++;
    const send = step.send;
    if (send) void this.chain(this.sends, userId, () => this.deps.send(send)).catch((err: unknown) => this.deps.log.warn({ err, userId }, "presence announcement failed"));
    if (step.flushAt !== undefined) this.arm(userId, step.flushAt);
  }

  private arm(userId: string, at: number): void {
    if (this.closed) {
      // After close there is no window left to wait for: what is held goes out now.
      const now = this.deps.clock.now();
      void this.decide(userId, () => this.flush(userId, now, true));
      return;
    }
    const armed = this.timers.get(userId);
    if (armed && armed.at <= at) return;
    armed?.cancel();
    const cancel = this.deps.clock.setTimer(() => {
      this.timers.delete(userId);
      const firedAt = this.deps.clock.now();
      void this.decide(userId, () => this.flush(userId, firedAt, false));
    }, at - this.deps.clock.now());
    this.timers.set(userId, { at, cancel });
  }

  /** One decision at a time per user in this process (fewer lost races); a failure is logged and ends only that decision. */
  private decide(userId: string, fn: () => Promise<void>): Promise<void> {
    return this.chain(this.decisions, userId, fn).catch((err: unknown) => this.deps.log.warn({ err, userId }, "presence change not decided"));
  }

  private chain(tails: Map<string, Promise<void>>, userId: string, fn: () => Promise<void>): Promise<void> {
    const run = (tails.get(userId) ?? Promise.resolve()).then(fn);
    // The tail never rejects: one failed step must not stall those queued behind it.
    const tail = run.catch(() => undefined);
    tails.set(userId, tail);
    void tail.finally(() => {
      if (tails.get(userId) === tail) tails.delete(userId);
    });
    return run;
  }
}
