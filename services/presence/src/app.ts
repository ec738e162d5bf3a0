import type { Client } from "@connectrpc/connect";
import type { TokenVerifier } from "@messenger/auth";
import type { Bus, SessionRegistry } from "@messenger/bus";
import type { Logger } from "@messenger/logging";
import type { StoreService } from "@messenger/proto/store/v1/store_service";
import type { ServiceRoute } from "@messenger/rpc";
import { PresenceTracker } from "./domain/presence-tracker.js";
import { presenceRoute, sessionRoute } from "./rpc/presence-services.js";

/** The presence service, ready to mount on any transport. */
export interface PresenceApp {
  readonly routes: ServiceRoute[];
  readonly tracker: PresenceTracker;
  close(): Promise<void>;
}

/**
 * Composes presence from the session registry, the bus and the store (for contacts), and
 * sweeps expired sessions every `sweepIntervalMs`.
 */
export function createPresenceApp(deps: {
  registry: SessionRegistry;
  bus: Bus;
  store: Client<typeof StoreService>;
  verifier: TokenVerifier;
  log: Logger;
  sweepIntervalMs: number;
}): PresenceApp {
  const contactsOf = async (userId: string): Promise<string[]> =>
    (await deps.store.listContacts({ userId })).userIds;
  const tracker = new PresenceTracker({ registry: deps.registry, bus: deps.bus, contactsOf, log: deps.log });
  const timer = setInterval(() => {
    tracker.sweep().catch((err: unknown) => deps.log.warn({ err }, "session sweep failed"));
  }, deps.sweepIntervalMs);
  timer.unref();
  return {
    routes: [presenceRoute({ tracker, verifier: deps.verifier, contactsOf }), sessionRoute({ tracker })],
    tracker,
    async close() {
      clearInterval(timer);
    },
  };
}
