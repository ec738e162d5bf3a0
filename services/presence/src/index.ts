export { createPresenceApp, type PresenceApp } from "./app.js";
export { PresenceTracker, type PresenceState } from "./domain/presence-tracker.js";
