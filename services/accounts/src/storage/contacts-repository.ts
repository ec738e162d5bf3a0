import type { DirectRelationOutbox } from "./direct-relation-outbox.js";

/** A user as other users see them. */
export interface UserSummary {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
}

/** Who sees a user's presence and last seen. */
export type PresenceVisibility = "everyone" | "contacts" | "nobody";

/** Where direct conversations opened by non-contacts land. */
export type MessageRequestPolicy = "requests" | "inbox";

/** One user's privacy choices. */
export interface PrivacySettings {
  readonly presenceVisibility: PresenceVisibility;
  readonly messageRequests: MessageRequestPolicy;
}

/** One user's settings on either side of one update. */
export interface PrivacyChange {
  readonly before: PrivacySettings;
  readonly after: PrivacySettings;
}

/** What lies between a user and a peer, seen from the user. */
export interface PairState {
  /** The peer's account. */
  readonly peer: UserSummary;
  readonly contact: boolean;
  /** The user asked the peer, who has not answered yet. */
  readonly asked: boolean;
  /** The peer asked the user, who has not answered yet. */
  readonly askedBy: boolean;
  /** The user blocks the peer. */
  readonly blocking: boolean;
  /** The peer blocks the user. */
  readonly blockedBy: boolean;
}

/** A peer's relation to a user, with the peer's privacy settings, for GetRelations. */
export interface PeerRelation {
  readonly contact: boolean;
  readonly blocking: boolean;
  readonly blockedBy: boolean;
  /** The peer's settings; undefined when the peer never set any (defaults apply). */
  readonly privacy: PrivacySettings | undefined;
}

/** A contact of a user. */
export interface ContactRecord {
  readonly user: UserSummary;
  readonly since: number;
}

/** A pending request, seen from one side: `user` is the other side. */
export interface RequestRecord {
  readonly user: UserSummary;
  readonly sentAt: number;
}

/** A user someone blocks. */
export interface BlockRecord {
  readonly user: UserSummary;
  readonly blockedAt: number;
}

/** Where a newest-first page ends: the time and peer id of its last row. */
export interface TimeCursor {
  readonly at: number;
  readonly peerId: string;
}

/**
 * The contacts store port. Every relation is kept per user (a contact or a request is one
 * row on each side, a block one row on the blocker's side), as on a store sharded by user
 * id. Each write is atomic; deciding what to write is the domain's job. The writes the
 * message store must hear of (blocks, unblocks, new contacts) queue the pair's resulting
 * state in the outbox within the same transaction.
 */
export interface ContactsRepository extends DirectRelationOutbox {
  /** The pair as the user sees it, or undefined when no account has peerId. */
  pairState(userId: string, peerId: string): Promise<PairState | undefined>;
  /** How many contacts the user has. */
  contactCount(userId: string): Promise<number>;
  /**
   * Records userId's request to peerId on both sides, unless userId already has
   * maxOutgoing requests pending: then it writes nothing and returns false.
   */
  putRequest(userId: string, peerId: string, at: number, maxOutgoing: number): Promise<boolean>;
  /** Drops the pending request of fromId to toId on both sides; false when there was none. */
  deleteRequest(fromId: string, toId: string): Promise<boolean>;
  /**
   * Makes a and b contacts on both sides, drops the requests between them and queues both
   * sides' state for the store, unless either already has maxContacts contacts: then it
   * writes nothing and returns false.
   */
  addContact(a: string, b: string, since: number, maxContacts: number): Promise<boolean>;
  /**
   * Ends the contact on both sides and queues both sides' state for the store (replacing
   * entries of the pair still pending); false, writing and queuing nothing, when they were
   * not contacts.
   */
  removeContact(a: string, b: string): Promise<boolean>;
  /**
   * userId blocks peerId (the first block's time is kept), requests both ways are dropped,
   * and userId's state toward peerId is queued for the store (also when the block existed).
   */
  putBlock(userId: string, peerId: string, at: number): Promise<void>;
  /** Lifts userId's block of peerId, if any, and queues userId's state toward peerId for the store. */
  deleteBlock(userId: string, peerId: string): Promise<void>;
  /** Contacts by username, after `afterUsername` when given. */
  listContacts(userId: string, afterUsername: string | undefined, limit: number): Promise<ContactRecord[]>;
  /** Pending requests to (incoming) or from (outgoing) the user, newest first, after `after`. */
  listRequests(userId: string, direction: "incoming" | "outgoing", after: TimeCursor | undefined, limit: number): Promise<RequestRecord[]>;
  /** Users the user blocks, newest block first, after `after`. */
  listBlocked(userId: string, after: TimeCursor | undefined, limit: number): Promise<BlockRecord[]>;
  /** The user's settings; undefined when never set. */
  privacy(userId: string): Promise<PrivacySettings | undefined>;
  /**
   * Changes the named settings in one step (concurrent changes of different settings both
   * land); `defaults` stand for the settings never set. Returns the settings just before and
   * just after it, read in that step: of two concurrent changes, the second's `before` is
   * the first's `after`, so each move is reported once.
   */
  updatePrivacy(userId: string, change: Partial<PrivacySettings>, defaults: PrivacySettings): Promise<PrivacyChange>;
  /** The relation of userId to each peer that has an account (absent peers are left out). */
  peerRelations(userId: string, peerIds: readonly string[]): Promise<Map<string, PeerRelation>>;
  /** The user's contacts that neither block nor are blocked by the user, by id. */
  unblockedContacts(userId: string): Promise<string[]>;
}
