import { isDuplicateKey, snapshotTransactionOptions } from "@messenger/mongo-setup";
import type { ClientSession, Collection, Db, MongoClient } from "mongodb";
import { collections } from "./mongo-layout.js";
import type { DeviceCursorDoc, GarbageDoc, HeadDoc, MediaRefDoc, MemberDoc, MessageDoc, OutboxDoc, RangeDoc, RelationDoc, SegmentDoc, UserConversationDoc } from "./mongo-documents.js";
import { noRowsWritten, type RowsWritten } from "./sqlite-writes.js";

/** The kinds of write, as the store's write-cost metric names them. */
export type WriteKind = keyof RowsWritten;

/** Told the documents each committed write wrote, and how many new messages it stored. */
export type OnCommitted = (rows: RowsWritten, messagesStored: number) => void;

/** The adapter's collections (typed views: all but the two per-user ones are one collection) and its transactions. */
export class MongoContext {
  readonly heads: Collection<HeadDoc>;
  readonly members: Collection<MemberDoc>;
  readonly ranges: Collection<RangeDoc>;
  readonly relations: Collection<RelationDoc>;
  readonly messages: Collection<MessageDoc>;
  readonly mediaRefs: Collection<MediaRefDoc>;
  readonly segments: Collection<SegmentDoc>;
  readonly garbage: Collection<GarbageDoc>;
  readonly outbox: Collection<OutboxDoc>;
  readonly userConversations: Collection<UserConversationDoc>;
  readonly deviceCursors: Collection<DeviceCursorDoc>;

  constructor(
    readonly client: MongoClient,
    db: Db,
    readonly largeGroupThreshold: number,
    private readonly onCommitted: OnCommitted,
  ) {
    this.heads = db.collection<HeadDoc>(collections.conversations);
    this.members = db.collection<MemberDoc>(collections.conversations);
    this.ranges = db.collection<RangeDoc>(collections.conversations);
    this.relations = db.collection<RelationDoc>(collections.conversations);
    this.messages = db.collection<MessageDoc>(collections.conversations);
    this.mediaRefs = db.collection<MediaRefDoc>(collections.conversations);
    this.segments = db.collection<SegmentDoc>(collections.conversations);
    this.garbage = db.collection<GarbageDoc>(collections.conversations);
    this.outbox = db.collection<OutboxDoc>(collections.conversations);
    this.userConversations = db.collection<UserConversationDoc>(collections.userConversations);
    this.deviceCursors = db.collection<DeviceCursorDoc>(collections.deviceCursors);
  }

  /**
   * Runs `fn` in one transaction (run again from the start on a write conflict) and counts
   * the documents it wrote once it committed. Every transaction of this adapter touches one
   * conversation's documents only, so on a sharded cluster it is a single-shard transaction.
   * A duplicate key error (two racing inserts of the same _id or client message id) runs it
   * once more: the second run reads what the other one committed.
   */
  async transaction<T>(kind: WriteKind, fn: (session: ClientSession, wrote: (n: number) => void) => Promise<T>, messagesStored: (value: T) => number = () => 0): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let written = 0;
      const session = this.client.startSession();
      try {
        const value = await session.withTransaction(async (s) => {
          written = 0;
          return fn(s, (n) => (written += n));
        }, snapshotTransactionOptions);
        this.committed(kind, written, messagesStored(value));
        return value;
      } catch (err) {
        if (attempt === 0 && isDuplicateKey(err)) continue;
        throw err;
      } finally {
        await session.endSession();
      }
    }
  }

  /** Counts the documents a write outside a transaction wrote. */
  committed(kind: WriteKind, documents: number, messagesStored = 0): void {
    if (documents === 0 && messagesStored === 0) return;
    const rows = noRowsWritten();
    rows[kind] = documents;
    this.onCommitted(rows, messagesStored);
  }
}

