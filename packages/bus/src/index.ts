export { createMemoryBus, type Bus, type Subscription } from "./bus.js";
export { createMemorySessionRegistry, type SessionRecord, type SessionRegistry } from "./session-registry.js";
export { subjects, deliveryCodec, offlineNotificationCodec, offlineStream, pushWorkerGroup } from "./subjects.js";
export { fanOut } from "./fanout.js";
export { createNatsBus } from "./nats-bus.js";
export { createNatsSessionRegistry, registryBuckets, type NatsSessionRegistryOptions } from "./nats-session-registry.js";
export { createMemoryQueue, QueueUnavailableError, RedeliverLaterError, type ConsumeOptions, type DurableQueue, type QueueDelivery, type QueueHandler } from "./durable-queue.js";
export { createJetStreamQueue, type JetStreamQueueOptions, type QueueStream } from "./jetstream-queue.js";
export { ensureBucket, ensureStream, JetStreamSetupError, replicasOf, type JetStreamReplication, type ReplicasRaised } from "./jetstream-replicas.js";
