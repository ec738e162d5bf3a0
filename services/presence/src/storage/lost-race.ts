import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";

/** True when a conditional KV write failed because another writer changed the key first. */
export const lostRace = (err: unknown): boolean =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
