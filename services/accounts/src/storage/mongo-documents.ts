import { createHash } from "node:crypto";
import type { PushRegistrationFields } from "./push-registration-fields.js";

/*
 * The documents of the MongoDB accounts adapter. Per-user documents carry `userId` (their
 * shard key) and an _id built from it, so equal _ids always share a shard (MongoDB enforces
 * _id uniqueness per shard only).
 */

export interface UserDoc {
  _id: string;
  username: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface UsernameDoc {
  /** The username. */
  _id: string;
  userId: string;
}

export interface RefreshTokenDoc {
  /** The token's hash. */
  _id: string;
  userId: string;
  deviceId: string;
  expiresAt: number;
  /** expiresAt as a date, for the TTL index. */
  expireAt: Date;
  usedAt: number | null;
  /** The token that replaced this one by rotation. */
  rotatedTo?: string;
}

/** A device's push registration, inside its device document. */
export interface PushDoc extends PushRegistrationFields {
  registeredAt: number;
}

export interface DeviceDoc {
  _id: string;
  userId: string;
  deviceId: string;
  registeredAt: number;
  /** Every login writes it, so two logins of one device conflict and run one after the other. */
  logins: number;
  push?: PushDoc;
}

export interface PushAddressDoc {
  /** pushAddressId(kind, address). */
  _id: string;
  /** The device that holds the address. */
  userId: string;
  deviceId: string;
}

export interface ContactDoc {
  _id: string;
  userId: string;
  peerId: string;
  /** Usernames never change: a page by username is a range of one index. */
  peerUsername: string;
  since: number;
}

export interface ContactRequestDoc {
  _id: string;
  userId: string;
  peerId: string;
  /** True on the asker's side. */
  outgoing: boolean;
  sentAt: number;
}

export interface BlockDoc {
  _id: string;
  userId: string;
  peerId: string;
  blockedAt: number;
}

export interface MuteDoc {
  _id: string;
  userId: string;
  conversationId: string;
  /** Null: forever. */
  until: number | null;
}

export interface OutboxDoc {
  _id: string;
  userId: string;
  peerUserId: string;
  blocking: boolean;
  contact: boolean;
  version: number;
  /** False once the store acknowledged this version; the document then stays a day (TTL) as a tombstone. */
  pending: boolean;
  acknowledgedAt?: Date;
}

export interface UserSettingsDoc {
  /** The user id. */
  _id: string;
  privacy?: { presenceVisibility: string; messageRequests: string };
  notifications?: { previews: boolean; doNotDisturb: boolean; doNotDisturbUntil: number | null };
}

export interface UserGuardDoc {
  /** The user id. */
  _id: string;
  writes: number;
}

export interface CounterDoc {
  _id: string;
  value: number;
}

// encodeURIComponent escapes ":", so the parts of an id can never run into each other.
const key = (...parts: string[]): string => parts.map((p) => encodeURIComponent(p)).join(":");

export const ids = {
  device: (userId: string, deviceId: string): string => key(userId, deviceId),
  /** Of the user's row about the peer (a contact, a request, a block, an outbox entry). */
  pair: (userId: string, peerId: string): string => key(userId, peerId),
  mute: (userId: string, conversationId: string): string => key(userId, conversationId),
  /**
   * An address is up to 4 KB (an FCM token): its kind and sha256 make a short key that
   * spreads over the key range.
   */
  pushAddress: (kind: string, address: string): string => key(kind, createHash("sha256").update(address).digest("hex")),
};
