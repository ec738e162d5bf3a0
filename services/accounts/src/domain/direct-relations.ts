/** What the message store enforces in the direct conversation of a user and a peer. */
export interface DirectRelationState {
  /** The user blocks the peer: neither may send into the conversation, the peer may not open it. */
  readonly blocking: boolean;
  /** The two are contacts: the conversation sits in both inboxes rather than message requests. */
  readonly contact: boolean;
}

/**
 * The port through which accounts tells the message store, the race-free authority for
 * direct conversations, about blocks and contacts. A call that fails throws; the state it
 * carried stays in the outbox and is pushed again. Setting the same state twice is harmless.
 */
export interface DirectRelations {
  set(userId: string, peerUserId: string, state: DirectRelationState): Promise<void>;
}
