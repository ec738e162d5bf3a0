/** Bounds that every request is checked against at the edge of the store. */
export const limits = {
  maxTextChars: 16_384,
  maxClientMessageIdChars: 64,
  maxIdChars: 128,
  /** Messages per AppendMessages call (a gateway sends at most its session's pipeline). */
  maxSendBatch: 256,
  media: {
    maxMediaIdChars: 128,
    maxMimeTypeChars: 127,
    maxSizeBytes: 100 * 1024 * 1024,
    maxDimension: 65_535,
    maxThumbnailBytes: 8 * 1024,
    maxFileNameChars: 255,
  },
  ciphertext: {
    maxBytes: 65_536,
    maxAlgorithmChars: 64,
    maxSenderKeyIdChars: 128,
  },
  group: {
    maxTitleChars: 128,
    maxDescriptionChars: 1_024,
    /** Users named in one group change (create or add); the group size limit is the groups service's. */
    maxUsersPerChange: 10_000,
  },
  defaultPageSize: 50,
  maxMessagePageSize: 500,
  maxInboxPageSize: 200,
  defaultMemberPageSize: 100,
  maxMemberPageSize: 500,
  /** Conversations per sync page (an unchanged one costs a few bytes of the answer). */
  syncConversationsPerPage: 500,
  defaultSyncMaxMessages: 500,
  defaultSyncMaxReplay: 1_000,
  /** The most a caller may ask of one sync page. */
  maxSyncMessages: 2_000,
  maxSyncReplay: 10_000,
  /**
   * Above this many current members a group is "large": no per-message push, no per-member
   * receipts in sync or inbox, members pull. The store's default; configurable.
   */
  defaultLargeGroupThreshold: 256,
} as const;
