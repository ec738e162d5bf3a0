import type { ClientSession } from "mongodb";
import type { AccountsMongo } from "./mongo-context.js";
import { ids, type PushDoc, type UserSettingsDoc } from "./mongo-documents.js";
import type { NotificationsRepository, StoredNotificationSettings, Until } from "./notifications-repository.js";
import { fieldsOf, registrationOf } from "./push-registration-fields.js";

/** A stored end: null is forever. */
const untilOf = (ms: number | null): Until => (ms === null ? "forever" : ms);
const untilField = (u: Until): number | null => (u === "forever" ? null : u);

const settingsOf = (doc: UserSettingsDoc | null): StoredNotificationSettings | undefined => {
  const n = doc?.notifications;
  return n ? { previews: n.previews, doNotDisturb: n.doNotDisturb ? untilOf(n.doNotDisturbUntil) : undefined } : undefined;
};

/** A mute in force at `now`: forever, or ending after it. */
const inForce = (now: number) => ({ $or: [{ until: null }, { until: { $gt: now } }] });

/**
 * The notifications adapter on MongoDB. A device's registration lives inside its device
 * document, so the device check, the replacement and a logout's removal are writes of that
 * one document; the address's holder is kept in `accounts.push_addresses`, keyed by the
 * address (the one lookup not by user), and written in the same transaction. Two devices
 * registering one address at once both write its document: one conflicts, runs again, and
 * takes the address from the other, so an address always has one holder.
 */
export function mongoNotificationsRepository(m: AccountsMongo): NotificationsRepository {
  /** Frees the address a device held, unless another device holds it by now. */
  const releaseAddress = async (userId: string, deviceId: string, push: PushDoc, session: ClientSession): Promise<void> => {
    await m.pushAddresses.deleteOne({ _id: ids.pushAddress(push.kind, push.address), userId, deviceId }, { session });
  };
  return {
    async putPushRegistration(userId, deviceId, registration, now) {
      const push: PushDoc = { ...fieldsOf(registration), registeredAt: now };
      return m.transaction(async (session) => {
        const device = await m.devices.findOneAndUpdate({ _id: ids.device(userId, deviceId), userId }, { $set: { push } }, { session, returnDocument: "before" });
        if (!device) return "no_device";
        const address = ids.pushAddress(push.kind, push.address);
        if (device.push && ids.pushAddress(device.push.kind, device.push.address) !== address) await releaseAddress(userId, deviceId, device.push, session);
        const held = await m.pushAddresses.findOneAndUpdate({ _id: address }, { $set: { userId, deviceId } }, { upsert: true, session, returnDocument: "before" });
        if (held && (held.userId !== userId || held.deviceId !== deviceId)) {
          // The address reaches one app install, now this device's: the previous holder loses it.
          await m.devices.updateOne(
            { _id: ids.device(held.userId, held.deviceId), userId: held.userId, "push.kind": push.kind, "push.address": push.address },
            { $unset: { push: "" } },
            { session },
          );
        }
        return "stored";
      });
    },
    async removePushRegistration(userId, deviceId, only) {
      const exactly = only && fieldsOf(only);
      return m.transaction(async (session) => {
        const device = await m.devices.findOneAndUpdate(
          {
            _id: ids.device(userId, deviceId),
            userId,
            push: { $exists: true },
            ...(exactly && {
              "push.kind": exactly.kind,
              "push.address": exactly.address,
              "push.p256dh": exactly.p256dh,
              "push.auth": exactly.auth,
              "push.environment": exactly.environment,
            }),
          },
          { $unset: { push: "" } },
          { session, returnDocument: "before" },
        );
        if (!device?.push) return false;
        await releaseAddress(userId, deviceId, device.push, session);
        return true;
      });
    },
    async pushRegistrations(userId) {
      const docs = await m.devices.find({ userId, push: { $exists: true } }, { sort: { deviceId: 1 }, projection: { deviceId: 1, push: 1 } }).toArray();
      return docs.flatMap((d) => (d.push ? [{ deviceId: d.deviceId, registration: registrationOf(d.push) }] : []));
    },
    async notificationSettings(userId) {
      return settingsOf(await m.settings.findOne({ _id: userId }, { projection: { notifications: 1 } }));
    },
    async updateNotificationSettings(userId, change, defaults) {
      // Read and written in one transaction: a concurrent change conflicts on the document
      // and runs again over this one's result, so both changes land.
      return m.transaction(async (session) => {
        const before = settingsOf(await m.settings.findOne({ _id: userId }, { session, projection: { notifications: 1 } })) ?? defaults;
        const after: StoredNotificationSettings = {
          previews: change.previews ?? before.previews,
          doNotDisturb: change.doNotDisturb === undefined ? before.doNotDisturb : (change.doNotDisturb ?? undefined),
        };
        const dnd = after.doNotDisturb;
        await m.settings.updateOne(
          { _id: userId },
          { $set: { notifications: { previews: after.previews, doNotDisturb: dnd !== undefined, doNotDisturbUntil: dnd === undefined ? null : untilField(dnd) } } },
          { upsert: true, session },
        );
        return after;
      });
    },
    async muteConversation(userId, conversationId, until, now, maxMuted) {
      return m.transaction(async (session) => {
        // Mutes that ended by now go first (a number at or below now; null, forever, never compares).
        await m.mutes.deleteMany({ userId, until: { $lte: now } }, { session });
        const id = ids.mute(userId, conversationId);
        const muted = await m.mutes.findOne({ _id: id, userId }, { session, projection: { _id: 1 } });
        if (!muted && (await m.mutes.countDocuments({ userId }, { session })) >= maxMuted) return false;
        await m.guard(userId, session);
        await m.mutes.updateOne({ _id: id, userId }, { $set: { conversationId, until: untilField(until) } }, { upsert: true, session });
        return true;
      });
    },
    async unmuteConversation(userId, conversationId) {
      await m.mutes.deleteOne({ _id: ids.mute(userId, conversationId), userId });
    },
    async mutedUntil(userId, conversationId, now) {
      const doc = await m.mutes.findOne({ _id: ids.mute(userId, conversationId), userId, ...inForce(now) }, { projection: { until: 1 } });
      return doc ? untilOf(doc.until) : undefined;
    },
    async mutedConversations(userId, now, afterConversationId, limit) {
      const docs = await m.mutes.find({ userId, conversationId: { $gt: afterConversationId }, ...inForce(now) }, { sort: { conversationId: 1 }, limit }).toArray();
      return docs.map((d) => ({ conversationId: d.conversationId, until: untilOf(d.until) }));
    },
  };
}
