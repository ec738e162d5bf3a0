import type { MongoCollectionLayout, MongoIndexLayout } from "@messenger/mongo-setup";

/**
 * Where the MongoDB adapter keeps history, in one place: the collections, the shard key of
 * each, and its indexes. The adapter creates the collections and indexes at open
 * (ensureMongoSchema); `npm run mongo-init` does the same and, on a sharded cluster, shards
 * each collection with its key. See services/store/docs/mongodb.md for the reasons.
 */
export const collections = {
  /**
   * Everything addressed by conversation id, as one partition per conversation: its head,
   * members, membership ranges, the direct pair's relation, its messages and their media
   * references and push outbox entries, its archived segments' index and their garbage. One collection,
   * so the send path's transaction (head + sender's member + message) always stays on one
   * shard.
   */
  conversations: "conversations",
  /** The user index (user, conversation) with the conversation's folder for that user. */
  userConversations: "user_conversations",
  /** Each device's own watermarks, by (user, device, conversation). */
  deviceCursors: "device_cursors",
} as const;

export type CollectionName = (typeof collections)[keyof typeof collections];

/** One collection's layout: its shard key (ranged) and the indexes the adapter's queries use. */
export interface CollectionLayout extends MongoCollectionLayout {
  readonly name: CollectionName;
  /**
   * Ranged, not hashed: MongoDB enforces a unique index on a sharded collection only when it
   * is prefixed by a ranged shard key (the idempotency index needs that), and the ids are
   * random after a fixed prefix (dm_ + sha256, grp_ + uuid, u_ + uuid), so new
   * conversations and users spread over the key range without a hot last chunk.
   */
  readonly shardKey: Readonly<Record<string, 1>>;
  readonly indexes: readonly MongoIndexLayout[];
}

const member = { type: "member" } as const;
const message = { type: "message" } as const;

export const layout: readonly CollectionLayout[] = [
  {
    name: collections.conversations,
    shardKey: { conversationId: 1 },
    indexes: [
      // The shard key's own index (a shard key index may not be partial).
      { name: "conversation", key: { conversationId: 1 } },
      // Current members paged by user id; readBy counts on it.
      { name: "members_active_user", key: { conversationId: 1, active: 1, userId: 1 }, partialFilterExpression: member },
      // The receipt summary: min() over current members is the first entry of each.
      { name: "members_active_delivered", key: { conversationId: 1, active: 1, deliveredSeq: 1 }, partialFilterExpression: member },
      { name: "members_active_read", key: { conversationId: 1, active: 1, readSeq: 1 }, partialFilterExpression: member },
      { name: "ranges", key: { conversationId: 1, userId: 1, fromSeq: 1 }, partialFilterExpression: { type: "range" } },
      // One message per seq: (conversation, seq) is also the message's _id.
      { name: "messages_seq", key: { conversationId: 1, seq: 1 }, unique: true, partialFilterExpression: message },
      // Idempotency: a resend of the same client message id finds the stored one, and two
      // racing inserts of it cannot both commit.
      {
        name: "messages_idempotency",
        key: { conversationId: 1, senderUserId: 1, senderDeviceId: 1, clientMessageId: 1 },
        unique: true,
        partialFilterExpression: message,
      },
      // Media references, looked up by media id (the media service's cleanup).
      { name: "media_refs", key: { mediaId: 1, conversationId: 1, seq: 1 }, partialFilterExpression: { type: "media" } },
      // Archived segments by conversation, and the blobs left to delete, oldest first.
      { name: "segments", key: { conversationId: 1, fromSeq: 1 }, unique: true, partialFilterExpression: { type: "segment" } },
      { name: "archive_garbage", key: { since: 1, key: 1 }, partialFilterExpression: { type: "garbage" } },
      // The push outbox relay leases the oldest entries first, across conversations.
      { name: "push_outbox", key: { sentAt: 1, conversationId: 1, seq: 1 }, partialFilterExpression: { type: "outbox" } },
      // The retention passes visit conversations by mode.
      { name: "conversations_retention", key: { retentionMode: 1, conversationId: 1 }, partialFilterExpression: { type: "conversation" } },
    ],
  },
  {
    name: collections.userConversations,
    shardKey: { userId: 1 },
    indexes: [{ name: "user_conversation", key: { userId: 1, conversationId: 1 }, unique: true }],
  },
  {
    name: collections.deviceCursors,
    shardKey: { userId: 1 },
    indexes: [{ name: "user_device_conversation", key: { userId: 1, deviceId: 1, conversationId: 1 }, unique: true }],
  },
];
