import type { Client } from "@connectrpc/connect";
import {
  MessageRequestPolicy,
  PresenceVisibility,
  RequestDirection,
  type Contact,
  type ContactRequest,
  type ContactsService,
  type PrivacySettings,
} from "@messenger/proto/accounts/v1/contacts_service";
import type { User } from "@messenger/proto/accounts/v1/types";

/** Makes an authenticated call (refreshing tokens, trying other addresses) the way the client does. */
export type AuthedCall = <T>(call: (opts: { headers: Record<string, string> }) => Promise<T>) => Promise<T>;

/** One page of a list, with the token of the next one (empty on the last page). */
export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
}

/** Privacy choices in plain words. */
export interface Privacy {
  readonly presence: "everyone" | "contacts" | "nobody";
  readonly messageRequests: "requests" | "inbox";
}

const presenceNames = {
  everyone: PresenceVisibility.EVERYONE,
  contacts: PresenceVisibility.CONTACTS,
  nobody: PresenceVisibility.NOBODY,
} as const;

function privacyFromProto(s: PrivacySettings | undefined): Privacy {
  const v = s?.presenceVisibility;
  return {
    presence: v === PresenceVisibility.EVERYONE ? "everyone" : v === PresenceVisibility.NOBODY ? "nobody" : "contacts",
    messageRequests: s?.messageRequests === MessageRequestPolicy.INBOX ? "inbox" : "requests",
  };
}

/**
 * Contacts, blocks and privacy of the signed-in user (messenger.accounts.v1.ContactsService).
 * Every call acts for the signed-in user.
 */
export class ContactsApi {
  constructor(
    private readonly client: () => Client<typeof ContactsService>,
    private readonly authed: AuthedCall,
  ) {}

  /** Asks a user to become a contact; true when they had asked first (contacts now). */
  async request(userId: string): Promise<boolean> {
    return (await this.authed((h) => this.client().sendContactRequest({ userId }, h))).accepted;
  }

  async accept(userId: string): Promise<Contact | undefined> {
    return (await this.authed((h) => this.client().acceptContactRequest({ userId }, h))).contact;
  }

  async decline(userId: string): Promise<void> {
    await this.authed((h) => this.client().declineContactRequest({ userId }, h));
  }

  /** Withdraws this user's own pending request. */
  async cancel(userId: string): Promise<void> {
    await this.authed((h) => this.client().cancelContactRequest({ userId }, h));
  }

  async remove(userId: string): Promise<void> {
    await this.authed((h) => this.client().removeContact({ userId }, h));
  }

  /** One page of contacts, by username. */
  async list(pageSize = 100, pageToken = ""): Promise<Page<Contact>> {
    const res = await this.authed((h) => this.client().listContacts({ pageSize, pageToken }, h));
    return { items: res.contacts, nextPageToken: res.nextPageToken };
  }

  /** One page of pending requests to ("incoming") or from ("outgoing") this user, newest first. */
  async requests(direction: "incoming" | "outgoing", pageSize = 100, pageToken = ""): Promise<Page<ContactRequest>> {
    const dir = direction === "outgoing" ? RequestDirection.OUTGOING : RequestDirection.INCOMING;
    const res = await this.authed((h) => this.client().listContactRequests({ direction: dir, pageSize, pageToken }, h));
    return { items: res.requests, nextPageToken: res.nextPageToken };
  }

  async block(userId: string): Promise<void> {
    await this.authed((h) => this.client().block({ userId }, h));
  }

  async unblock(userId: string): Promise<void> {
    await this.authed((h) => this.client().unblock({ userId }, h));
  }

  /** One page of blocked users, newest block first. */
  async blocked(pageSize = 100, pageToken = ""): Promise<Page<User>> {
    const res = await this.authed((h) => this.client().listBlocked({ pageSize, pageToken }, h));
    return { items: res.users, nextPageToken: res.nextPageToken };
  }

  async privacy(): Promise<Privacy> {
    return privacyFromProto((await this.authed((h) => this.client().getPrivacySettings({}, h))).settings);
  }

  /** Changes only the choices given. */
  async setPrivacy(change: Partial<Privacy>): Promise<Privacy> {
    const mask: string[] = [];
    if (change.presence) mask.push("presence_visibility");
    if (change.messageRequests) mask.push("message_requests");
    if (mask.length === 0) return this.privacy();
    const settings = {
      presenceVisibility: change.presence ? presenceNames[change.presence] : PresenceVisibility.UNSPECIFIED,
      messageRequests: change.messageRequests === "inbox" ? MessageRequestPolicy.INBOX : MessageRequestPolicy.REQUESTS,
    };
    const res = await this.authed((h) => this.client().updatePrivacySettings({ settings, updateMask: mask }, h));
    return privacyFromProto(res.settings);
  }
}
