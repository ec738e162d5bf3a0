/**
 * A user's stance toward a peer that the message store has yet to acknowledge: the state
 * stored here when it was queued. One entry per (user, peer); a newer change replaces it.
 */
export interface PendingDirectRelation {
  readonly userId: string;
  readonly peerUserId: string;
  readonly blocking: boolean;
  readonly contact: boolean;
  /** Grows with every queued change (never reused), so "unchanged since" is one comparison and the oldest entry comes first. */
  readonly version: number;
}

/**
 * The transactional outbox of store notifications. Entries are queued by the contacts
 * writes themselves (block, unblock, new contact), in the same transaction as the change,
 * so a change here and the duty to tell the store commit together or not at all.
 */
export interface DirectRelationOutbox {
  /** The pending entry of userId toward peerUserId, if any. */
  pendingDirectRelation(userId: string, peerUserId: string): Promise<PendingDirectRelation | undefined>;
  /** Pending entries with a version above `afterVersion`, oldest first. */
  pendingDirectRelations(afterVersion: number, limit: number): Promise<PendingDirectRelation[]>;
  /**
   * Drops the entry the store acknowledged, unless a newer change replaced it meanwhile:
   * false then, and the pair's newest state is pending. An adapter shared by several
   * replicas also queues the pair again when the newer state was pushed and acknowledged by
   * another replica meanwhile: this older push may have reached the store after it.
   */
  clearDirectRelation(entry: PendingDirectRelation): Promise<boolean>;
}
