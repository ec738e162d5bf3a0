export { createPresenceApp, type PresenceApp, type PresenceAppDeps } from "./app.js";
export { PresenceTracker, type PresenceCounters, type PresenceTrackerDeps, type RelationsClient } from "./domain/presence-tracker.js";
export { presenceToProto, type PresenceState } from "./domain/presence-state.js";
export { systemClock, type Clock } from "./domain/clock.js";
export type { LastSeenStore } from "./storage/last-seen-store.js";
export { openSqliteLastSeenStore } from "./storage/sqlite-last-seen-store.js";
export { createNatsLastSeenStore, lastSeenBucket } from "./storage/nats-last-seen-store.js";
