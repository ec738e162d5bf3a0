import { requireTransactionalServer } from "@messenger/mongo-setup";
import { MongoClient, type ClientSession } from "mongodb";
import type { AccountRecord, DeviceRecord, RefreshTokenRecord } from "./account-repository.js";
import type { AccountsRepositories } from "./accounts-repositories.js";
import { isDuplicateKey } from "@messenger/mongo-setup";
import { AccountsMongo } from "./mongo-context.js";
import { mongoContactsRepository } from "./mongo-contacts-repository.js";
import { ids, type RefreshTokenDoc, type UserDoc } from "./mongo-documents.js";
import { mongoNotificationsRepository } from "./mongo-notifications-repository.js";
import { accountsNeedTransactions, databaseOf, ensureAccountsSchema } from "./mongo-setup.js";

export interface MongoAccountsOptions {
  /** The database; default: the one the URI names, else "messenger". */
  readonly dbName?: string;
}

const toRecord = (d: UserDoc): AccountRecord => ({ id: d._id, username: d.username, displayName: d.displayName, passwordHash: d.passwordHash, createdAt: d.createdAt });
const tokenRecord = (d: RefreshTokenDoc): RefreshTokenRecord => ({ tokenHash: d._id, userId: d.userId, deviceId: d.deviceId, expiresAt: d.expiresAt });
const tokenDoc = (r: RefreshTokenRecord): RefreshTokenDoc => ({
  _id: r.tokenHash,
  userId: r.userId,
  deviceId: r.deviceId,
  expiresAt: r.expiresAt,
  expireAt: new Date(r.expiresAt),
  usedAt: null,
});

/**
 * The distributed accounts adapter, on a MongoDB replica set or sharded cluster (it uses
 * transactions, which a standalone server does not have, and snapshot reads: MongoDB 5.0+).
 * Every replica of the accounts service opens it on the same database. It creates its
 * collections and indexes at open; sharding them is initMongoAccounts' job. Layout, keys and
 * why: services/accounts/docs/mongodb.md.
 */
export async function openMongoAccountRepository(uri: string, opts: MongoAccountsOptions = {}): Promise<AccountsRepositories> {
  const client = new MongoClient(uri);
  await client.connect();
  try {
    const db = client.db(opts.dbName ?? databaseOf(uri));
    await requireTransactionalServer(client, accountsNeedTransactions);
    await ensureAccountsSchema(client, db, { shard: false });
    return mongoAccountRepository(new AccountsMongo(client, db));
  } catch (err) {
    await client.close();
    throw err;
  }
}

function mongoAccountRepository(m: AccountsMongo): AccountsRepositories {
  /** Revokes every token of the device, in the caller's transaction. */
  const revokeDevice = async (userId: string, deviceId: string, session: ClientSession): Promise<void> => {
    await m.refreshTokens.deleteMany({ userId, deviceId }, { session });
  };
  return {
    ...mongoContactsRepository(m),
    ...mongoNotificationsRepository(m),
    async insertUser(u) {
      // The username's own document is the uniqueness (users are placed by id, so a unique
      // index on their username could not be enforced across shards); both commit together.
      try {
        await m.transaction(async (session) => {
          await m.usernames.insertOne({ _id: u.username, userId: u.id }, { session });
          await m.users.insertOne({ _id: u.id, username: u.username, displayName: u.displayName, passwordHash: u.passwordHash, createdAt: u.createdAt }, { session });
        });
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },
    async userByName(username) {
      const name = await m.usernames.findOne({ _id: username });
      const user = name && (await m.users.findOne({ _id: name.userId }));
      return user ? toRecord(user) : undefined;
    },
    async usersById(userIds) {
      const docs = await m.users.find({ _id: { $in: [...userIds] } }).toArray();
      const byId = new Map(docs.map((d) => [d._id, toRecord(d)]));
      // In the order asked, repeats included, as the SQLite adapter answers.
      return userIds.flatMap((id) => {
        const r = byId.get(id);
        return r ? [r] : [];
      });
    },
    async putRefreshToken(r, put) {
      return m.transaction(async (session) => {
        if (put.newFamily) {
          await revokeDevice(r.userId, r.deviceId, session);
          // Registers the device once (a second login keeps the first time). The $inc is a
          // write every login makes to this document, so two logins of one device at once
          // conflict and the second, run again, revokes the first's token.
          await m.devices.updateOne(
            { _id: ids.device(r.userId, r.deviceId), userId: r.userId },
            { $setOnInsert: { deviceId: r.deviceId, registeredAt: put.now }, $inc: { logins: 1 } },
            { upsert: true, session },
          );
        } else {
          // Links the replaced token to this one: a write to it, so a revocation (a replay, a
          // logout) deleting it concurrently conflicts with this rotation, and whichever runs
          // second sees the other: the revocation deletes the new token too, or the rotation
          // finds its token gone and stores nothing. Used tokens expire by the TTL index.
          const link = await m.refreshTokens.updateOne({ _id: put.replaces, userId: r.userId, deviceId: r.deviceId }, { $set: { rotatedTo: r.tokenHash } }, { session });
          if (link.matchedCount === 0) return false;
        }
        await m.refreshTokens.insertOne(tokenDoc(r), { session });
        return true;
      });
    },
    async takeRefreshToken(hash, now) {
      // One conditional write marks the token used: of two replicas taking it at once, one
      // finds it unused ("fresh"), the other finds it used and revokes the family.
      const fresh = await m.refreshTokens.findOneAndUpdate({ _id: hash, usedAt: null }, { $set: { usedAt: now } }, { returnDocument: "before" });
      if (fresh) return { use: "fresh", record: tokenRecord(fresh) };
      const used = await m.refreshTokens.findOne({ _id: hash });
      if (!used) return undefined;
      await m.transaction((session) => revokeDevice(used.userId, used.deviceId, session));
      return { use: "reused", record: tokenRecord(used) };
    },
    async removeDevice(userId, deviceId) {
      await m.transaction(async (session) => {
        await revokeDevice(userId, deviceId, session);
        const device = await m.devices.findOneAndDelete({ _id: ids.device(userId, deviceId), userId }, { session });
        // A device that logged out is not woken any more: its address goes with it.
        if (device?.push) await m.pushAddresses.deleteOne({ _id: ids.pushAddress(device.push.kind, device.push.address), userId, deviceId }, { session });
      });
    },
    async devicesOf(userIds): Promise<DeviceRecord[]> {
      const docs = await m.devices.find({ userId: { $in: [...userIds] } }, { sort: { userId: 1, deviceId: 1 }, projection: { userId: 1, deviceId: 1, registeredAt: 1 } }).toArray();
      return docs.map((d) => ({ userId: d.userId, deviceId: d.deviceId, registeredAt: d.registeredAt }));
    },
    async close() {
      await m.client.close();
    },
  };
}
