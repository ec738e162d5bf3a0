import type { MongoCollectionLayout, MongoIndexLayout } from "@messenger/mongo-setup";

/**
 * Where the MongoDB adapter keeps accounts, in one place: the collections, the shard key of
 * each and its indexes. The adapter creates collections and indexes at open
 * (ensureAccountsSchema); initMongoAccounts does the same and, through a mongos, shards each
 * collection on its key. Every name starts with `accounts.` (as GridFS's `fs.files`), so
 * accounts can share a database with the store and media. Reasons:
 * services/accounts/docs/mongodb.md.
 */
export const collections = {
  users: "accounts.users",
  /** username -> user id: the one place a username is unique (users are placed by id). */
  usernames: "accounts.usernames",
  /** By token hash, the one thing a refresh presents. */
  refreshTokens: "accounts.refresh_tokens",
  /** Registered devices, each with its push registration inside. */
  devices: "accounts.devices",
  /** Push address (kind + endpoint or token) -> the one device that holds it. */
  pushAddresses: "accounts.push_addresses",
  contacts: "accounts.contacts",
  contactRequests: "accounts.contact_requests",
  blocks: "accounts.blocks",
  mutedConversations: "accounts.muted_conversations",
  directRelationOutbox: "accounts.direct_relation_outbox",
  /** Per user: privacy and notification settings (absent: defaults). */
  userSettings: "accounts.user_settings",
  /** Per user: a document every limit-checking write also writes, so such writes of one user conflict. */
  userGuards: "accounts.user_guards",
  /** The outbox's version counter. */
  counters: "accounts.counters",
} as const;

export type AccountsCollectionName = (typeof collections)[keyof typeof collections];

/** One collection's layout: its shard key (ranged; none: left unsharded) and the indexes its queries use. */
export interface AccountsCollectionLayout extends MongoCollectionLayout {
  readonly name: AccountsCollectionName;
  /**
   * Ranged, not hashed: MongoDB enforces a unique index on a sharded collection only when the
   * shard key prefixes it, and every key here is random after a fixed prefix (u_ + uuid,
   * sha256 hex) or spread over the alphabet (usernames), so no last chunk runs hot.
   */
  readonly shardKey: Readonly<Record<string, 1>> | undefined;
  readonly indexes: readonly MongoIndexLayout[];
}

const byId = { _id: 1 } as const;
const byUser = { userId: 1 } as const;

export const layout: readonly AccountsCollectionLayout[] = [
  { name: collections.users, shardKey: byId, indexes: [] },
  { name: collections.usernames, shardKey: byId, indexes: [] },
  {
    name: collections.refreshTokens,
    shardKey: byId,
    indexes: [
      // Revoking a device's family (login, logout, a replay) finds its tokens here.
      { name: "user_device", key: { userId: 1, deviceId: 1 } },
      // Used tokens are kept until they expire, to recognise a replay; then MongoDB drops them.
      { name: "expiry", key: { expireAt: 1 }, expireAfterSeconds: 0 },
    ],
  },
  {
    name: collections.devices,
    shardKey: byUser,
    indexes: [{ name: "user_device", key: { userId: 1, deviceId: 1 }, unique: true }],
  },
  { name: collections.pushAddresses, shardKey: byId, indexes: [] },
  {
    name: collections.contacts,
    shardKey: byUser,
    // A page of contacts by username is a range of this index, never a sort.
    indexes: [{ name: "user_username", key: { userId: 1, peerUsername: 1, peerId: 1 } }],
  },
  {
    name: collections.contactRequests,
    shardKey: byUser,
    indexes: [{ name: "user_direction_newest", key: { userId: 1, outgoing: 1, sentAt: 1, peerId: 1 } }],
  },
  {
    name: collections.blocks,
    shardKey: byUser,
    indexes: [{ name: "user_newest", key: { userId: 1, blockedAt: 1, peerId: 1 } }],
  },
  {
    name: collections.mutedConversations,
    shardKey: byUser,
    indexes: [{ name: "user_conversation", key: { userId: 1, conversationId: 1 }, unique: true }],
  },
  {
    name: collections.directRelationOutbox,
    shardKey: byUser,
    indexes: [
      { name: "user_peer", key: { userId: 1, peerUserId: 1 }, unique: true },
      // The retry loop reads the pending entries oldest first, across users (every shard, off any user's path).
      { name: "pending_version", key: { version: 1 }, partialFilterExpression: { pending: true } },
      // An acknowledged entry is kept a day, so that a late acknowledgement of an older version is recognised.
      { name: "acknowledged", key: { acknowledgedAt: 1 }, expireAfterSeconds: 86_400 },
    ],
  },
  { name: collections.userSettings, shardKey: byId, indexes: [] },
  { name: collections.userGuards, shardKey: byId, indexes: [] },
  // One small document, written outside any transaction: nothing to shard.
  { name: collections.counters, shardKey: undefined, indexes: [] },
];
