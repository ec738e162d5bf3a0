import { Code, ConnectError } from "@connectrpc/connect";
import type { DirectRelationOutbox } from "../storage/direct-relation-outbox.js";
import type { DirectRelations } from "./direct-relations.js";
import type { PairLock } from "./pair-lock.js";

/** Pending entries read per step of a flush. */
const flushBatch = 100;

/** The store's statuses that say "try again later" rather than "not this entry". */
const transientCodes: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted, Code.Unknown, Code.Internal]);

/**
 * Whether a failed push is the store's state (down, slow, busy, failing inside) rather than
 * a verdict on the entry: the entries behind it would meet the same. The store adapter
 * passes the store's ConnectError through as it is (Block answers with the store's status),
 * so its code is read here; anything that is not one (a broken connection, a local fault)
 * counts as transient.
 */
export function isTransientPushFailure(err: unknown): boolean {
  return !(err instanceof ConnectError) || transientCodes.has(err.code);
}

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
   * left. A transient failure (isTransientPushFailure) stops the pass and is thrown: the
   * rest wait for the next flush rather than meet the same outage one by one. Any other
   * refusal concerns that entry alone: it stays pending, the pass goes on with the rest (one
   * entry the store keeps refusing must not hold back every later block), and the first
   * such refusal is thrown once the pass is over, so that the caller logs it.
   */
  async flush(): Promise<void> {
    let after = 0;
    const refusals: unknown[] = [];
    for (;;) {
      const batch = await this.outbox.pendingDirectRelations(after, flushBatch);
      for (const entry of batch) {
        try {
          await this.lock.run(entry.userId, entry.peerUserId, () => this.pushHeld(entry.userId, entry.peerUserId));
        } catch (err) {
          if (isTransientPushFailure(err)) throw err;
          refusals.push(err);
        }
        after = entry.version;
      }
      if (batch.length < flushBatch) break;
    }
    if (refusals.length > 0) throw refusals[0];
  }
}
