import type { ClientSession, Filter } from "mongodb";
import type { ContactsRepository, PeerRelation, PrivacySettings, TimeCursor, UserSummary } from "./contacts-repository.js";
import type { AccountsMongo } from "./mongo-context.js";
import { mongoDirectRelationOutbox } from "./mongo-direct-relation-outbox.js";
import { ids, type BlockDoc, type ContactRequestDoc } from "./mongo-documents.js";
import { privacyOf } from "./stored-privacy.js";

/** The first page of a newest-first list starts after a cursor later than any row. */
const start: TimeCursor = { at: Number.MAX_SAFE_INTEGER, peerId: "" };

/** Rows strictly before the cursor in (time, peer id) descending order. */
function before<T extends ContactRequestDoc | BlockDoc>(field: "sentAt" | "blockedAt", c: TimeCursor): Filter<T> {
  const or: Filter<T>[] = [{ [field]: { $lt: c.at } } as Filter<T>, { [field]: c.at, peerId: { $lt: c.peerId } } as Filter<T>];
  return { $or: or } as Filter<T>;
}

/**
 * The contacts adapter on MongoDB. Rows are per user as in the SQLite adapter (a contact or a
 * request is a document on each side, a block one on the blocker's side), placed by user id;
 * a write of a pair is one transaction over both users' documents (on a sharded cluster, a
 * transaction across at most two shards). Each SQLite transaction is one MongoDB
 * transaction here; the limits are counted inside it, with the user's guard written
 * (AccountsMongo.guard) so two replicas adding at once cannot both pass on the same count.
 */
export function mongoContactsRepository(m: AccountsMongo): ContactsRepository {
  const outbox = mongoDirectRelationOutbox(m);

  /** The users among `userIds`, as summaries by id. */
  const summaries = async (userIds: readonly string[], session?: ClientSession): Promise<Map<string, UserSummary>> => {
    const docs = await m.users.find({ _id: { $in: [...userIds] } }, { projection: { username: 1, displayName: 1 }, ...(session ? { session } : {}) }).toArray();
    return new Map(docs.map((d) => [d._id, { id: d._id, username: d.username, displayName: d.displayName }]));
  };
  /** Rows joined to their peer's account (a row whose peer has none is left out, as the SQLite join does). */
  const withPeers = async <R extends { peerId: string }, T>(rows: readonly R[], make: (row: R, peer: UserSummary) => T): Promise<T[]> => {
    const peers = await summaries(rows.map((r) => r.peerId));
    return rows.flatMap((r) => {
      const peer = peers.get(r.peerId);
      return peer ? [make(r, peer)] : [];
    });
  };
  const dropRequestsBetween = async (a: string, b: string, session: ClientSession): Promise<void> => {
    await m.requests.deleteOne({ _id: ids.pair(a, b), userId: a }, { session });
    await m.requests.deleteOne({ _id: ids.pair(b, a), userId: b }, { session });
  };
  /** The rows userId has about each peer, as the set of those peers. */
  const peersWithRow = async (coll: typeof m.contacts | typeof m.blocks, userId: string, peerIds: readonly string[], session: ClientSession): Promise<Set<string>> => {
    const docs = await coll.find({ _id: { $in: peerIds.map((p) => ids.pair(userId, p)) }, userId }, { projection: { peerId: 1 }, session }).toArray();
    return new Set(docs.map((d) => d.peerId));
  };
  /** The peers that block userId. */
  const blockersAmong = async (userId: string, peerIds: readonly string[], session: ClientSession): Promise<Set<string>> => {
    const docs = await m.blocks.find({ _id: { $in: peerIds.map((p) => ids.pair(p, userId)) }, userId: { $in: [...peerIds] } }, { projection: { userId: 1 }, session }).toArray();
    return new Set(docs.map((d) => d.userId));
  };

  return {
    async pairState(user, peer) {
      return m.snapshot(async (session) => {
        const peerAccount = (await summaries([peer], session)).get(peer);
        if (!peerAccount) return undefined;
        const pair = { _id: ids.pair(user, peer), userId: user };
        const contact = await m.contacts.findOne(pair, { session, projection: { _id: 1 } });
        const request = await m.requests.findOne(pair, { session, projection: { outgoing: 1 } });
        const blocking = await m.blocks.findOne(pair, { session, projection: { _id: 1 } });
        const blockedBy = await m.blocks.findOne({ _id: ids.pair(peer, user), userId: peer }, { session, projection: { _id: 1 } });
        return {
          peer: peerAccount,
          contact: contact !== null,
          asked: request?.outgoing === true,
          askedBy: request?.outgoing === false,
          blocking: blocking !== null,
          blockedBy: blockedBy !== null,
        };
      });
    },
    async contactCount(user) {
      return m.contacts.countDocuments({ userId: user });
    },
    async putRequest(user, peer, at, maxOutgoing) {
      return m.transaction(async (session) => {
        if ((await m.requests.countDocuments({ userId: user, outgoing: true }, { session })) >= maxOutgoing) return false;
        await m.guard(user, session);
        // A request already there either way fails the insert (E11000), as the SQLite insert does.
        await m.requests.insertOne({ _id: ids.pair(user, peer), userId: user, peerId: peer, outgoing: true, sentAt: at }, { session });
        await m.requests.insertOne({ _id: ids.pair(peer, user), userId: peer, peerId: user, outgoing: false, sentAt: at }, { session });
        return true;
      });
    },
    async deleteRequest(from, to) {
      return m.transaction(async (session) => {
        const asked = await m.requests.deleteOne({ _id: ids.pair(from, to), userId: from, outgoing: true }, { session });
        if (asked.deletedCount === 0) return false;
        await m.requests.deleteOne({ _id: ids.pair(to, from), userId: to, outgoing: false }, { session });
        return true;
      });
    },
    async addContact(a, b, since, maxContacts) {
      return m.transaction(async (session) => {
        for (const user of [a, b]) {
          if ((await m.contacts.countDocuments({ userId: user }, { session })) >= maxContacts) return false;
        }
        await m.guard(a, session);
        await m.guard(b, session);
        await dropRequestsBetween(a, b, session);
        const accounts = await summaries([a, b], session);
        for (const [user, peer] of [
          [a, b],
          [b, a],
        ] as const) {
          const peerAccount = accounts.get(peer);
          // As the SQLite insert from `users`: no row toward an account that does not exist; an existing row keeps its time.
          if (!peerAccount) continue;
          await m.contacts.updateOne(
            { _id: ids.pair(user, peer), userId: user },
            { $setOnInsert: { peerId: peer, peerUsername: peerAccount.username, since } },
            { upsert: true, session },
          );
        }
        await outbox.queue(a, b, session);
        await outbox.queue(b, a, session);
        return true;
      });
    },
    async removeContact(a, b) {
      return m.transaction(async (session) => {
        const ab = await m.contacts.deleteOne({ _id: ids.pair(a, b), userId: a }, { session });
        const ba = await m.contacts.deleteOne({ _id: ids.pair(b, a), userId: b }, { session });
        // Nothing changed, so the store has nothing to hear (see the SQLite adapter).
        if (ab.deletedCount + ba.deletedCount === 0) return false;
        await outbox.queue(a, b, session);
        await outbox.queue(b, a, session);
        return true;
      });
    },
    async putBlock(user, peer, at) {
      await m.transaction(async (session) => {
        await m.blocks.updateOne({ _id: ids.pair(user, peer), userId: user }, { $setOnInsert: { peerId: peer, blockedAt: at } }, { upsert: true, session });
        await dropRequestsBetween(user, peer, session);
        await outbox.queue(user, peer, session);
      });
    },
    async deleteBlock(user, peer) {
      await m.transaction(async (session) => {
        await m.blocks.deleteOne({ _id: ids.pair(user, peer), userId: user }, { session });
        await outbox.queue(user, peer, session);
      });
    },
    async listContacts(user, afterUsername, limit) {
      const rows = await m.contacts.find({ userId: user, peerUsername: { $gt: afterUsername ?? "" } }, { sort: { peerUsername: 1 }, limit }).toArray();
      return withPeers(rows, (r, peer) => ({ user: peer, since: r.since }));
    },
    async listRequests(user, direction, after, limit) {
      const rows = await m.requests
        .find({ userId: user, outgoing: direction === "outgoing", ...before<ContactRequestDoc>("sentAt", after ?? start) }, { sort: { sentAt: -1, peerId: -1 }, limit })
        .toArray();
      return withPeers(rows, (r, peer) => ({ user: peer, sentAt: r.sentAt }));
    },
    async listBlocked(user, after, limit) {
      const rows = await m.blocks.find({ userId: user, ...before<BlockDoc>("blockedAt", after ?? start) }, { sort: { blockedAt: -1, peerId: -1 }, limit }).toArray();
      return withPeers(rows, (r, peer) => ({ user: peer, blockedAt: r.blockedAt }));
    },
    async privacy(user) {
      const doc = await m.settings.findOne({ _id: user }, { projection: { privacy: 1 } });
      return privacyOf(doc?.privacy?.presenceVisibility, doc?.privacy?.messageRequests);
    },
    async updatePrivacy(user, change, defaults) {
      // Read and written in one transaction: of two concurrent changes the second conflicts
      // on the settings document, runs again, and reads the first's result as its `before`.
      return m.transaction(async (session) => {
        const doc = await m.settings.findOne({ _id: user }, { session, projection: { privacy: 1 } });
        const was = privacyOf(doc?.privacy?.presenceVisibility, doc?.privacy?.messageRequests) ?? defaults;
        const now: PrivacySettings = {
          presenceVisibility: change.presenceVisibility ?? was.presenceVisibility,
          messageRequests: change.messageRequests ?? was.messageRequests,
        };
        await m.settings.updateOne({ _id: user }, { $set: { privacy: { presenceVisibility: now.presenceVisibility, messageRequests: now.messageRequests } } }, { upsert: true, session });
        return { before: was, after: now };
      });
    },
    async peerRelations(user, peerIds) {
      // One snapshot, so no peer is judged against a newer state than another.
      return m.snapshot(async (session) => {
        const existing = [...(await summaries(peerIds, session)).keys()];
        if (existing.length === 0) return new Map<string, PeerRelation>();
        const contacts = await peersWithRow(m.contacts, user, existing, session);
        const blocking = await peersWithRow(m.blocks, user, existing, session);
        const blockedBy = await blockersAmong(user, existing, session);
        const settings = await m.settings.find({ _id: { $in: existing } }, { projection: { privacy: 1 }, session }).toArray();
        const privacy = new Map(settings.map((s) => [s._id, privacyOf(s.privacy?.presenceVisibility, s.privacy?.messageRequests)]));
        return new Map(
          existing.map((id): [string, PeerRelation] => [
            id,
            { contact: contacts.has(id), blocking: blocking.has(id), blockedBy: blockedBy.has(id), privacy: privacy.get(id) },
          ]),
        );
      });
    },
    async unblockedContacts(user) {
      return m.snapshot(async (session) => {
        const contacts = (await m.contacts.find({ userId: user }, { projection: { peerId: 1 }, session }).toArray()).map((c) => c.peerId);
        if (contacts.length === 0) return [];
        const blocking = await peersWithRow(m.blocks, user, contacts, session);
        const blockedBy = await blockersAmong(user, contacts, session);
        return contacts.filter((c) => !blocking.has(c) && !blockedBy.has(c)).sort();
      });
    },
    pendingDirectRelation: (user, peer) => outbox.pendingDirectRelation(user, peer),
    pendingDirectRelations: (afterVersion, limit) => outbox.pendingDirectRelations(afterVersion, limit),
    clearDirectRelation: (entry) => outbox.clearDirectRelation(entry),
  };
}
