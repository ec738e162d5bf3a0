import { DomainError } from "@messenger/rpc/domain-error";
import type { BlockRecord, ContactRecord, ContactsRepository, PairState, RequestRecord } from "../storage/contacts-repository.js";
import { defaultPrivacy } from "./default-privacy.js";
import { DirectRelationSync } from "./direct-relation-sync.js";
import type { DirectRelations } from "./direct-relations.js";
import { decodePageToken, encodePageToken, pageOf, pageSizeOf, type Page } from "./page.js";
import { PairLock } from "./pair-lock.js";
import { tellSightChanges, type PresenceAudience } from "./presence-audience.js";
import { hearsPresence } from "./relations.js";

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
 * runs alone (PairLock). What the message store must enforce in the pair's direct
 * conversation (blocks, contacts) is committed here first, together with an outbox entry;
 * the change then pushes that entry. A push that fails leaves the entry, which flushOutbox
 * pushes later: the state here is the truth and the store converges to it by itself. Only
 * Block and Unblock fail then (their OK promises the store enforces them); a contact made
 * or ended answers OK, since a client retrying it would meet the change already made here.
 */
export class Contacts {
  private readonly lock = new PairLock();
  private readonly sync: DirectRelationSync;

  constructor(
    private readonly repo: ContactsRepository,
    store: DirectRelations,
    private readonly presence: PresenceAudience,
    private readonly limits: ContactLimits = defaultContactLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.sync = new DirectRelationSync(repo, store, this.lock);
  }

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
        await this.withSights(me, peerId, () => this.connect(me, s));
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
      return this.withSights(me, askerId, () => this.connect(me, s));
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

  /**
   * Ends a contact on both sides, here and then in the store (so later conversations are
   * requests again); answers OK once ended here, whether or not the store heard it yet.
   */
  async remove(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, () =>
      this.withSights(me, peerId, async () => {
        if (!(await this.repo.removeContact(me, peerId))) throw new DomainError("not_found", "not a contact");
        await this.pushBothOrLeave(me, peerId);
      }),
    );
  }

  /**
   * Blocks peerId: here (with its outbox entry), then in the store. Answers once the store
   * has it, so every send and open after that is refused; when the store cannot be told the
   * call fails, the block holds here and the store hears it from flushOutbox. Idempotent:
   * every call tells the store again.
   */
  async block(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, async () => {
      await this.pairState(me, peerId);
      await this.withSights(me, peerId, async () => {
        await this.repo.putBlock(me, peerId, this.now());
        await this.sync.pushHeld(me, peerId);
      });
    });
  }

  /** Lifts a block, here and then in the store, as block does. Idempotent. */
  async unblock(me: string, peerId: string): Promise<void> {
    requirePeerId(me, peerId);
    await this.lock.run(me, peerId, async () => {
      await this.pairState(me, peerId);
      await this.withSights(me, peerId, async () => {
        await this.repo.deleteBlock(me, peerId);
        await this.sync.pushHeld(me, peerId);
      });
    });
  }

  /**
   * Pushes every outbox entry the store has not acknowledged, oldest first (after a failed
   * push or a restart between a commit and its push); what is not acknowledged stays for the
   * next call. Throws the first failure (DirectRelationSync.flush says which stop the pass).
   * The accounts app calls it on a timer, which logs what it throws.
   */
  flushOutbox(): Promise<void> {
    return this.sync.flush();
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

  /**
   * Whether each of the two hears the other's presence, as committed now. Audience, not
   * visibility: presence pushes to the audience only, so what it must hear of is who joined
   * or left an audience (a stranger unblocked under EVERYONE joins none; an ex-contact under
   * EVERYONE leaves one and must be sent `hidden`).
   */
  private async sights(a: string, b: string): Promise<{ aSeesB: boolean; bSeesA: boolean }> {
    const [ofB, ofA] = await Promise.all([this.repo.peerRelations(a, [b]), this.repo.peerRelations(b, [a])]);
    // r is the viewer's relation to the user, carrying the user's settings.
    const hears = (r: ReturnType<typeof ofB.get>): boolean => (r ? hearsPresence(r, (r.privacy ?? defaultPrivacy).presenceVisibility) : false);
    return { aSeesB: hears(ofB.get(b)), bSeesA: hears(ofA.get(a)) };
  }

  /**
   * Runs a change of the pair (under its lock) and then tells presence whose sight of whom
   * it changed, also when the change failed after committing here (a Block whose store push
   * did not go through): what is committed here is what presence acts on.
   */
  private async withSights<T>(a: string, b: string, change: () => Promise<T>): Promise<T> {
    const before = await this.sights(a, b);
    try {
      return await change();
    } finally {
      const after = await this.sights(a, b).catch(() => before);
      await tellSightChanges(this.presence, a, b, before, after);
    }
  }

  private async pairState(me: string, peerId: string): Promise<PairState> {
    const s = await this.repo.pairState(me, peerId);
    if (!s) throw new DomainError("not_found", "no such user");
    return s;
  }

  /**
   * Makes the pair contacts here (the limits are checked in that write, once), then tells
   * the store once per side. A failed push does not fail the call: the contact is made, a
   * retry would be refused (the request is gone), and the store hears it from flushOutbox.
   */
  private async connect(me: string, s: PairState): Promise<ContactRecord> {
    const peerId = s.peer.id;
    const since = this.now();
    if (!(await this.repo.addContact(me, peerId, since, this.limits.maxContacts))) {
      // Refused, so one side is full: only the message needs to know which.
      if ((await this.repo.contactCount(me)) >= this.limits.maxContacts) {
        throw new DomainError("resource_exhausted", `you have the most contacts allowed (${this.limits.maxContacts})`);
      }
      throw new DomainError("resource_exhausted", "that user has the most contacts allowed");
    }
    await this.pushBothOrLeave(me, peerId);
    return { user: s.peer, since };
  }

  /**
   * Pushes both sides' entries of a contact made or ended here, leaving them to the retry
   * loop (which logs its failures) when the store does not take them: such a change must
   * answer OK once committed, or the client's retry meets NOT_FOUND or ALREADY_EXISTS.
   * Stops at the first failure: the second push would most likely meet the same one.
   */
  private async pushBothOrLeave(a: string, b: string): Promise<void> {
    try {
      await this.sync.pushHeld(a, b);
      await this.sync.pushHeld(b, a);
    } catch {
      // Deliberately dropped: both entries are still in the outbox (see above).
    }
  }
}
