/** What the message store enforces in the direct conversation of a user and a peer. */
export interface DirectRelationState {
  /** The user blocks the peer: neither may send into the conversation, the peer may not open it. */
  readonly blocking: boolean;
  /** The two are contacts: the conversation sits in both inboxes rather than message requests. */
  readonly contact: boolean;
}

/**
 * The port through which accounts tells the message store, the race-free authority for
 * direct conversations, about blocks and contacts. A call that fails throws; callers let it
 * fail their RPC so that a retry converges.
 */
export interface DirectRelations {
  set(userId: string, peerUserId: string, state: DirectRelationState): Promise<void>;
}
