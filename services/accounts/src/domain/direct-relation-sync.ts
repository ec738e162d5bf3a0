import type { DirectRelationOutbox } from "../storage/direct-relation-outbox.js";
import type { DirectRelations } from "./direct-relations.js";
import type { PairLock } from "./pair-lock.js";

/** Pending entries read per step of a flush. */
const flushBatch = 100;

/**
 * Brings the message store to the state committed here, entry by entry of the outbox. An
 * entry is dropped only once the store acknowledged it and only if no newer change replaced
 * it meanwhile; anything else leaves it for the next push. Pushes of one pair run under the
 * pair's lock, the one its changes take, so a newer state never overtakes an older one.
 */
export class DirectRelationSync {
  constructor(
    private readonly outbox: DirectRelationOutbox,
    private readonly store: DirectRelations,
    private readonly lock: PairLock,
  ) {}

  /**
   * Pushes userId's pending entry toward peerUserId, if any, and waits for the store. The
   * caller holds the pair's lock. Throws the store's error; the entry then stays pending.
   */
  async pushHeld(userId: string, peerUserId: string): Promise<void> {
    const entry = await this.outbox.pendingDirectRelation(userId, peerUserId);
    if (!entry) return;
    await this.store.set(entry.userId, entry.peerUserId, { blocking: entry.blocking, contact: entry.contact });
    await this.outbox.clearDirectRelation(entry);
  }

  /**
   * Pushes the pending entries oldest first, each under its pair's lock, until none is
   * left. Stops at the first the store refuses and throws that error: the rest wait for the
   * next flush rather than meet the same outage one by one.
   */
  async flush(): Promise<void> {
    let after = 0;
    for (;;) {
      const batch = await this.outbox.pendingDirectRelations(after, flushBatch);
      for (const entry of batch) {
        await this.lock.run(entry.userId, entry.peerUserId, () => this.pushHeld(entry.userId, entry.peerUserId));
        after = entry.version;
      }
      if (batch.length < flushBatch) return;
    }
  }
}
