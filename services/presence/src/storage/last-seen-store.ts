/**
 * The last-seen port: when each user's last session ended, kept outside the presence
 * process so that a restart (or another presence replica) still answers with it.
 */
export interface LastSeenStore {
  /** The last-seen time (epoch ms) of each given user that has one; users never seen are absent. */
  get(userIds: readonly string[]): Promise<Map<string, number>>;
  /**
   * Records that `userId` was last seen at `atMs`. Never moves a time backwards: a write
   * older than the stored one (a late sweep, another replica) leaves the newer time.
   */
  put(userId: string, atMs: number): Promise<void>;
  /** Releases what the store opened; the data stays. */
  close(): Promise<void>;
}
