import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  ContactRequestSchema,
  ContactSchema,
  MessageRequestPolicy,
  PresenceVisibility,
  PrivacySettingsSchema,
  RequestDirection,
  type Contact,
  type ContactRequest,
  type PrivacySettings as PrivacySettingsProto,
} from "@messenger/proto/accounts/v1/contacts_service";
import { UserSchema, type User } from "@messenger/proto/accounts/v1/types";
import { DomainError } from "@messenger/rpc/domain-error";
import type { RequestDirection as Direction } from "../domain/contacts.js";
import { defaultPrivacy } from "../domain/default-privacy.js";
import type { ContactRecord, PrivacySettings, RequestRecord, UserSummary } from "../storage/contacts-repository.js";

export const userToProto = (u: UserSummary): User => create(UserSchema, { id: u.id, username: u.username, displayName: u.displayName });

export const contactToProto = (c: ContactRecord): Contact => create(ContactSchema, { user: userToProto(c.user), since: timestampFromMs(c.since) });

export const requestToProto = (r: RequestRecord): ContactRequest => create(ContactRequestSchema, { user: userToProto(r.user), sentAt: timestampFromMs(r.sentAt) });

const presenceOf: Record<PrivacySettings["presenceVisibility"], PresenceVisibility> = {
  everyone: PresenceVisibility.EVERYONE,
  contacts: PresenceVisibility.CONTACTS,
  nobody: PresenceVisibility.NOBODY,
};
const policyOf: Record<PrivacySettings["messageRequests"], MessageRequestPolicy> = {
  requests: MessageRequestPolicy.REQUESTS,
  inbox: MessageRequestPolicy.INBOX,
};

/** The wire settings, never UNSPECIFIED. */
export const privacyToProto = (s: PrivacySettings): PrivacySettingsProto =>
  create(PrivacySettingsSchema, { presenceVisibility: presenceOf[s.presenceVisibility], messageRequests: policyOf[s.messageRequests] });

function presenceFromProto(v: PresenceVisibility): PrivacySettings["presenceVisibility"] {
  if (v === PresenceVisibility.UNSPECIFIED) return defaultPrivacy.presenceVisibility;
  const found = (Object.keys(presenceOf) as PrivacySettings["presenceVisibility"][]).find((k) => presenceOf[k] === v);
  if (!found) throw new DomainError("invalid_argument", `unknown presence_visibility ${v}`);
  return found;
}

function policyFromProto(v: MessageRequestPolicy): PrivacySettings["messageRequests"] {
  if (v === MessageRequestPolicy.UNSPECIFIED) return defaultPrivacy.messageRequests;
  const found = (Object.keys(policyOf) as PrivacySettings["messageRequests"][]).find((k) => policyOf[k] === v);
  if (!found) throw new DomainError("invalid_argument", `unknown message_requests ${v}`);
  return found;
}

/** Settings from the wire: UNSPECIFIED (or no message at all) means the default. */
export function privacyFromProto(s: PrivacySettingsProto | undefined): PrivacySettings {
  return {
    presenceVisibility: presenceFromProto(s?.presenceVisibility ?? PresenceVisibility.UNSPECIFIED),
    messageRequests: policyFromProto(s?.messageRequests ?? MessageRequestPolicy.UNSPECIFIED),
  };
}

export function directionFromProto(d: RequestDirection): Direction {
  switch (d) {
    case RequestDirection.UNSPECIFIED:
    case RequestDirection.INCOMING:
      return "incoming";
    case RequestDirection.OUTGOING:
      return "outgoing";
    default:
      throw new DomainError("invalid_argument", `unknown direction ${String(d)}`);
  }
}
