import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";

/**
 * True when a conditional KV write (create, update, or delete with `previousSeq`) failed
 * because the key changed since the revision it named: another writer won. A key whose
 * history was purged counts as changed (its last sequence is 0).
 */
export const lostRace = (err: unknown): boolean =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
