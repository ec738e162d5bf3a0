/** A stored message. Times are epoch milliseconds. */
export interface MessageRecord {
  readonly id: string;
  readonly conversationId: string;
  readonly seq: number;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly sentAt: number;
}

/** A conversation with its members. */
export interface ConversationRecord {
  readonly id: string;
  readonly kind: "direct";
  readonly memberUserIds: readonly string[];
  readonly lastSeq: number;
  readonly lastActivityAt: number;
  readonly createdAt: number;
}

/** One member's delivered/read watermarks (the max over that member's devices). */
export interface ReceiptRecord {
  readonly userId: string;
  readonly deliveredSeq: number;
  readonly readSeq: number;
}

/** One device's own watermarks in a conversation. */
export interface DeviceCursor {
  readonly deliveredSeq: number;
  readonly readSeq: number;
}

/** An inbox row: the conversation as one member sees it. */
export interface InboxEntry {
  readonly conversation: ConversationRecord;
  readonly lastMessage: MessageRecord | undefined;
  readonly readSeq: number;
}

/** Where an inbox page starts: just after this (lastActivityAt, conversationId). */
export interface InboxCursor {
  readonly lastActivityAt: number;
  readonly conversationId: string;
}

/** A conversation that changed for a user, with the change version. */
export interface Change {
  readonly conversationId: string;
  readonly version: number;
}

/** A seq window of a conversation. */
export interface MessageRange {
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly limit: number;
  readonly direction: "forward" | "backward";
}

/** What to append. */
export interface AppendInput {
  readonly conversationId: string;
  readonly senderUserId: string;
  readonly senderDeviceId: string;
  readonly clientMessageId: string;
  readonly text: string;
  readonly now: number;
}

/** One append's outcome; a failed one is not stored. */
export type AppendOutcome =
  | { readonly ok: true; readonly message: MessageRecord; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: string };

/**
 * The history port. Every adapter guarantees:
 * - append assigns seq = lastSeq + 1 atomically with the insert, and a repeat of
 *   (conversation, sender user, sender device, client message id) returns the stored message
 *   with duplicate = true and changes nothing;
 * - every change that a member should sync (a message, a receipt move) gives that member's
 *   row a version higher than every earlier change, so changesSince finds it.
 */
export interface HistoryRepository {
  /** The direct conversation of a pair, created on first use (one per pair, even under races). */
  openDirect(userA: string, userB: string, now: number): Promise<ConversationRecord>;
  getConversation(conversationId: string): Promise<ConversationRecord | undefined>;
  /**
   * Appends in the order given. Once one fails, it and every later one come back not
   * stored, so what is stored keeps the order given.
   */
  append(inputs: readonly AppendInput[]): Promise<AppendOutcome[]>;
  /**
   * Messages with afterSeq < seq < beforeSeq, returned ascending. "forward" takes the
   * `limit` lowest of them, "backward" the `limit` highest.
   */
  listMessages(conversationId: string, range: MessageRange): Promise<MessageRecord[]>;
  /** Moves a device's watermarks forward; recomputes the member's receipt. */
  updateCursor(conversationId: string, userId: string, deviceId: string, deliveredSeq: number, readSeq: number): Promise<{ changed: boolean; receipt: ReceiptRecord }>;
  deviceCursor(conversationId: string, userId: string, deviceId: string): Promise<DeviceCursor>;
  receipts(conversationId: string): Promise<ReceiptRecord[]>;
  /** Newest activity first. */
  listInbox(userId: string, limit: number, after?: InboxCursor): Promise<InboxEntry[]>;
  /** The user's conversations whose version is above `sinceVersion`, ascending by version. */
  changesSince(userId: string, sinceVersion: number, limit: number): Promise<Change[]>;
  /** Users who share at least one conversation with the user. */
  contactsOf(userId: string): Promise<string[]>;
  close(): Promise<void>;
}
