/** Bounds that every request is checked against at the edge of the store. */
export const limits = {
  maxTextChars: 16_384,
  maxClientMessageIdChars: 64,
  /** Messages per AppendMessages call (a gateway sends at most its session's pipeline). */
  maxSendBatch: 256,
  defaultPageSize: 50,
  maxMessagePageSize: 500,
  maxInboxPageSize: 200,
  /** Conversations examined per sync page. */
  syncChangesPerPage: 100,
} as const;
