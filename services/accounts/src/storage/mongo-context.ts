import { isDuplicateKey, snapshotTransactionOptions } from "@messenger/mongo-setup";
import type { ClientSession, Collection, Db, MongoClient } from "mongodb";
import { collections } from "./mongo-layout.js";
import type {
  BlockDoc,
  ContactDoc,
  ContactRequestDoc,
  CounterDoc,
  DeviceDoc,
  MuteDoc,
  OutboxDoc,
  PushAddressDoc,
  RefreshTokenDoc,
  UserDoc,
  UserGuardDoc,
  UsernameDoc,
  UserSettingsDoc,
} from "./mongo-documents.js";

/**
 * The adapter's typed collections, its transactions, snapshot reads and guards.
 * Transactions (snapshotTransactionOptions) act as if alone on a write-write conflict; a
 * decision made on documents a transaction only reads (a count against a limit) is made
 * safe by also writing one document every such transaction writes (guard).
 */
export class AccountsMongo {
  readonly users: Collection<UserDoc>;
  readonly usernames: Collection<UsernameDoc>;
  readonly refreshTokens: Collection<RefreshTokenDoc>;
  readonly devices: Collection<DeviceDoc>;
  readonly pushAddresses: Collection<PushAddressDoc>;
  readonly contacts: Collection<ContactDoc>;
  readonly requests: Collection<ContactRequestDoc>;
  readonly blocks: Collection<BlockDoc>;
  readonly mutes: Collection<MuteDoc>;
  readonly outbox: Collection<OutboxDoc>;
  readonly settings: Collection<UserSettingsDoc>;
  readonly guards: Collection<UserGuardDoc>;
  readonly counters: Collection<CounterDoc>;

  constructor(
    readonly client: MongoClient,
    db: Db,
  ) {
    this.users = db.collection<UserDoc>(collections.users);
    this.usernames = db.collection<UsernameDoc>(collections.usernames);
    this.refreshTokens = db.collection<RefreshTokenDoc>(collections.refreshTokens);
    this.devices = db.collection<DeviceDoc>(collections.devices);
    this.pushAddresses = db.collection<PushAddressDoc>(collections.pushAddresses);
    this.contacts = db.collection<ContactDoc>(collections.contacts);
    this.requests = db.collection<ContactRequestDoc>(collections.contactRequests);
    this.blocks = db.collection<BlockDoc>(collections.blocks);
    this.mutes = db.collection<MuteDoc>(collections.mutedConversations);
    this.outbox = db.collection<OutboxDoc>(collections.directRelationOutbox);
    this.settings = db.collection<UserSettingsDoc>(collections.userSettings);
    this.guards = db.collection<UserGuardDoc>(collections.userGuards);
    this.counters = db.collection<CounterDoc>(collections.counters);
  }

  /**
   * Runs `fn` in one transaction, from the start again on a write conflict. Two racing
   * upserts of one new document may surface as a duplicate key error (E11000) instead: the
   * transaction then runs once more and reads what the other committed. A duplicate that
   * persists (a username taken) is thrown for the caller to read.
   */
  async transaction<T>(fn: (session: ClientSession) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = this.client.startSession();
      try {
        return await session.withTransaction((s) => fn(s), snapshotTransactionOptions);
      } catch (err) {
        if (attempt === 0 && isDuplicateKey(err)) continue;
        throw err;
      } finally {
        await session.endSession();
      }
    }
  }

  /**
   * Runs reads that must agree with each other (as the SQLite adapter's single statements
   * do) on one snapshot: a snapshot session (MongoDB 5.0+) reads every document at the
   * same cluster time. Reads run one after another: a session is not used concurrently.
   */
  async snapshot<T>(fn: (session: ClientSession) => Promise<T>): Promise<T> {
    const session = this.client.startSession({ snapshot: true });
    try {
      return await fn(session);
    } finally {
      await session.endSession();
    }
  }

  /**
   * Writes the user's guard document in the transaction: every write that counts the user's
   * rows against a limit calls it, so two of them for one user conflict and the second
   * counts again with the first's rows in view (snapshot isolation alone would let both
   * pass on the same count). Call it after a refusal is ruled out, so a refusal writes nothing.
   */
  async guard(userId: string, session: ClientSession): Promise<void> {
    await this.guards.updateOne({ _id: userId }, { $inc: { writes: 1 } }, { upsert: true, session });
  }

  /**
   * The next value of a counter that only grows: one atomic $inc, outside any transaction
   * (an aborted transaction leaves a gap, never a reuse), so writers of different users do
   * not conflict on it.
   */
  async next(counter: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const doc = await this.counters.findOneAndUpdate({ _id: counter }, { $inc: { value: 1 } }, { upsert: true, returnDocument: "after" });
        return doc!.value;
      } catch (err) {
        // Two first upserts of the counter: the loser finds it on the second try.
        if (attempt === 0 && isDuplicateKey(err)) continue;
        throw err;
      }
    }
  }
}

