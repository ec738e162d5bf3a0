import { DomainError } from "@messenger/rpc/domain-error";
import type { BlockRecord, ContactRecord, ContactsRepository, PairState, RequestRecord } from "../storage/contacts-repository.js";
import type { DirectRelations } from "./direct-relations.js";
import { decodePageToken, encodePageToken, pageOf, pageSizeOf, type Page } from "./page.js";
import { PairLock } from "./pair-lock.js";

/** How many relations one user may hold. */
export interface ContactLimits {
  readonly maxContacts: number;
  /** Requests a user has sent that are still unanswered. */
  readonly maxPendingRequests: number;
}

export const defaultContactLimits: ContactLimits = { maxContacts: 5000, maxPendingRequests: 1000 };

/** Which pending requests to list: those others sent the user, or those the user sent. */
export type RequestDirection = "incoming" | "outgoing";

function requirePeerId(me: string, peerId: string): void {
  if (!peerId) throw new DomainError("invalid_argument", "user_id is required");
  if (peerId === me) throw new DomainError("invalid_argument", "user_id is the caller");
}

/**
 * Contact requests, contacts and blocks of one user toward others. Every change of a pair
 * runs alone (PairLock) and tells the message store what it must enforce in the pair's
 * direct conversation, in the order that keeps the store never more permissive than this
 * service: a block reaches the store before it is written here, an unblock after.
 */
export class Contacts {
  private readonly lock = new PairLock();

  constructor(
    private readonly repo: ContactsRepository,
    private readonly store: DirectRelations,
    private readonly limits: ContactLimits = defaultContactLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Asks peerId to be a contact; `accepted` when peerId had asked first and both are contacts now. */
  async sendRequest(me: string, peerId: string): Promise<{ accepted: boolean }> {
    requirePeerId(me, peerId);
    return this.lock.run(me, peerId, async () => {
      const s = await this.pairState(me, peerId);
      if (s.blockedBy) throw new DomainError("permission_denied", "that user does not take contact requests from you");
      if (s.blocking) throw new DomainError("failed_precondition", "you block that user: unblock first");
      if (s.contact) throw new DomainError("already_exists", "already a contact");
      if (s.asked) throw new DomainError("already_exists", "contact request already sent");
      if (s.askedBy) {
        await this.connect(me, s);
        return { accepted: true };
      }
      if (!(await this.repo.putRequest(me, peerId, this.now(), this.limits.maxPendingRequests))) {
        throw new DomainError("resource_exhausted", `at most ${this.limits.maxPendingRequests} contact requests may wait for an answer`);
      }
      return { accepted: false };
    });
  }

  /** Accepts askerId's pending request: both are contacts. */
  async accept(me: string, askerId: string): Promise<ContactRecord> {
    requirePeerId(me, askerId);
    return this.lock.run(me, askerId, async () => {
      const s = await this.repo.pairState(me, askerId);
      if (!s?.askedBy) throw new DomainError("not_found", "no contact request from that user");
      return this.connect(me, s);
    });
  }

  /** Drops askerId's pending request. */
  async decline(me: string, askerId: string): Promise<void> {
    requirePeerId(me, askerId);
    await this.lock.run(me, askerId, async () => {
      if (!(await this.repo.deleteRequest(askerId, me))) throw new DomainError("not_found", "no contact request from that user");
    });
  }

  /** Withdraws the caller's pending request to askedId. */
  async cancel(me: string, askedId: string): Promise<void> {
    requirePeerId(me, askedId);
    await this.lock.run(me, askedId, async () => {
      if (!(await this.repo.deleteRequest(me, askedId))) throw new DomainError("not_found", "no contact request to that user");
    });
  }

  /** Ends a contact on both sides. */
  async remove(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, async () => {
      if (!(await this.repo.removeContact(me, peerId))) throw new DomainError("not_found", "not a contact");
    });
  }

  /**
   * Blocks peerId. The store hears it first: once it has, the block holds for every send
   * and open whatever happens here; if writing here then fails, the caller retries and both
   * converge. Idempotent.
   */
  async block(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, async () => {
      const s = await this.pairState(me, peerId);
      await this.store.set(me, peerId, { blocking: true, contact: s.contact });
      await this.repo.putBlock(me, peerId, this.now());
    });
  }

  /**
   * Lifts a block: here first, then in the store, so the store never allows what this
   * service still forbids. The store is told even when there was no block here, so a retry
   * after a failed store call converges. Idempotent.
   */
  async unblock(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, async () => {
      const s = await this.pairState(me, peerId);
      await this.repo.deleteBlock(me, peerId);
      await this.store.set(me, peerId, { blocking: false, contact: s.contact });
    });
  }

  /** The caller's contacts by username. */
  async listContacts(me: string, pageSize: number, pageToken: string): Promise<Page<ContactRecord>> {
    const size = pageSizeOf(pageSize);
    const after = pageToken ? decodePageToken("contacts", pageToken, ["string"] as const)[0] : undefined;
    const rows = await this.repo.listContacts(me, after, size + 1);
    return pageOf(rows, size, (last) => encodePageToken("contacts", [last.user.username]));
  }

  /** Pending requests to or from the caller, newest first. */
  async listRequests(me: string, direction: RequestDirection, pageSize: number, pageToken: string): Promise<Page<RequestRecord>> {
    const size = pageSizeOf(pageSize);
    const list = `requests-${direction}`;
    const after = pageToken ? decodePageToken(list, pageToken, ["number", "string"] as const) : undefined;
    const rows = await this.repo.listRequests(me, direction, after && { at: after[0], peerId: after[1] }, size + 1);
    return pageOf(rows, size, (last) => encodePageToken(list, [last.sentAt, last.user.id]));
  }

  /** The users the caller blocks, newest block first. */
  async listBlocked(me: string, pageSize: number, pageToken: string): Promise<Page<BlockRecord>> {
    const size = pageSizeOf(pageSize);
    const after = pageToken ? decodePageToken("blocked", pageToken, ["number", "string"] as const) : undefined;
    const rows = await this.repo.listBlocked(me, after && { at: after[0], peerId: after[1] }, size + 1);
    return pageOf(rows, size, (last) => encodePageToken("blocked", [last.blockedAt, last.user.id]));
  }

  private async pairState(me: string, peerId: string): Promise<PairState> {
    const s = await this.repo.pairState(me, peerId);
    if (!s) throw new DomainError("not_found", "no such user");
    return s;
  }

  /**
   * Makes the pair contacts. The store hears it first, once per side: if it fails nothing
   * changed here and the request is still pending, so a retry converges. Only a contact
   * limit reached meanwhile through another pair can leave the store one "contact" ahead,
   * which only files the pair's conversation in the inbox.
   */
  private async connect(me: string, s: PairState): Promise<ContactRecord> {
    const peerId = s.peer.id;
    const [mine, theirs] = await Promise.all([this.repo.counts(me), this.repo.counts(peerId)]);
    if (mine.contacts >= this.limits.maxContacts) throw new DomainError("resource_exhausted", `you have the most contacts allowed (${this.limits.maxContacts})`);
    if (theirs.contacts >= this.limits.maxContacts) throw new DomainError("resource_exhausted", "that user has the most contacts allowed");
    await this.store.set(me, peerId, { blocking: s.blocking, contact: true });
    await this.store.set(peerId, me, { blocking: s.blockedBy, contact: true });
    const since = this.now();
    if (!(await this.repo.addContact(me, peerId, since, this.limits.maxContacts))) {
      throw new DomainError("resource_exhausted", `at most ${this.limits.maxContacts} contacts`);
    }
    return { user: s.peer, since };
  }
}
