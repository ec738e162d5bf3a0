export { createMemoryBus, type Bus, type Subscription } from "./bus.js";
export { createMemorySessionRegistry, type SessionRecord, type SessionRegistry } from "./session-registry.js";
export { subjects, deliveryCodec } from "./subjects.js";
export { fanOut } from "./fanout.js";
export { createNatsBus } from "./nats-bus.js";
export { createNatsSessionRegistry, registryBuckets } from "./nats-session-registry.js";
