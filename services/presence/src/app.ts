import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { Bus, SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { RelationsService } from "@messenger/proto/accounts/v1/relations_service";
import type { ServiceRoute } from "@messenger/rpc";
import type { Clock } from "./domain/clock.js";
import { PresenceTracker } from "./domain/presence-tracker.js";
import { audienceRoute, presenceRoute, sessionRoute } from "./rpc/presence-services.js";
import type { AnnounceBoard } from "./storage/announce-board.js";
import type { LastSeenStore } from "./storage/last-seen-store.js";

/** The presence service, ready to mount on any transport. */
export interface PresenceApp {
  readonly routes: ServiceRoute[];
  readonly tracker: PresenceTracker;
  /** Stops the sweep and the announcement timers; the registry, bus and last-seen store stay open (the caller owns them). */
  close(): Promise<void>;
}

/** What createPresenceApp is built from. */
export interface PresenceAppDeps {
  readonly registry: SessionRegistry;
  readonly bus: Bus;
  /** Accounts' internal RelationsService: who hears whose presence, who may see whom. */
  readonly relations: Client<typeof RelationsService>;
  readonly lastSeen: LastSeenStore;
  readonly verifier: TokenVerifier;
  readonly log: Logger;
  readonly sweepIntervalMs: number;
  /** Per-user announcement window (see PresenceTracker); 0 announces every change. */
  readonly announceWindowMs: number;
  /**
   * What watchers have been told of each user, shared by every replica (createNatsAnnounceBoard);
   * defaults to one in memory, right for a single process only. The caller owns it.
   */
  readonly board?: AnnounceBoard;
  /** Defaults to the system clock; tests pass a manual one. */
  readonly clock?: Clock;
}

/**
 * Composes presence from the session registry, the bus, accounts' relations and the
 * last-seen store, and sweeps expired sessions every `sweepIntervalMs`.
 */
export function createPresenceApp(deps: PresenceAppDeps): PresenceApp {
  const tracker = new PresenceTracker({
    registry: deps.registry,
    bus: deps.bus,
    relations: deps.relations,
    lastSeen: deps.lastSeen,
    log: deps.log,
    announceWindowMs: deps.announceWindowMs,
    ...(deps.board ? { board: deps.board } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  // One sweep at a time: a slow one (a dead gateway's thousands of sessions) is not overlapped
  // by the next tick.
  let sweeping: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = tracker
      .sweep()
      .then(() => undefined)
      .catch((err: unknown) => deps.log.warn({ err }, "session sweep failed"))
      .finally(() => (sweeping = undefined));
  }, deps.sweepIntervalMs);
  timer.unref();
  return {
    routes: [presenceRoute({ tracker, verifier: deps.verifier }), sessionRoute({ tracker }), audienceRoute({ tracker })],
    tracker,
    async close() {
      clearInterval(timer);
      // A sweep under way still offers what it found; the close then sends it.
      await sweeping;
      await tracker.close();
    },
  };
}
