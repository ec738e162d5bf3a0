import { DomainError } from "@messenger/rpc/domain-error";
import type { ContactsRepository, PeerRelation, PresenceVisibility } from "../storage/contacts-repository.js";
import { defaultPrivacy } from "./default-privacy.js";

/** A user's relation to one peer, as other services need it. */
export interface RelationView {
  readonly peerUserId: string;
  /** False when no account has that id; every other field is then false. */
  readonly exists: boolean;
  readonly contact: boolean;
  /** The user blocks the peer. */
  readonly blocking: boolean;
  /** The peer blocks the user. */
  readonly blockedBy: boolean;
  /** The user may see the peer's presence and last seen. */
  readonly presenceVisible: boolean;
  /** A direct conversation the user opens with the peer lands in the peer's message requests. */
  readonly landsInRequests: boolean;
}

export const maxRelationPeers = 1000;

const unknownPeer = (peerUserId: string): RelationView => ({
  peerUserId,
  exists: false,
  contact: false,
  blocking: false,
  blockedBy: false,
  presenceVisible: false,
  landsInRequests: false,
});

/** What lies between a viewer and a user, as far as presence pushes go. */
export type PresenceLink = Pick<PeerRelation, "contact" | "blocking" | "blockedBy">;

/** The link of a user to each of their unblocked contacts (Relations.presenceAudience's candidates). */
export const unblockedContact: PresenceLink = { contact: true, blocking: false, blockedBy: false };

/**
 * Whether a viewer hears a user's presence: is in the user's audience, the viewers presence
 * pushes the user's changes to. They must be contacts with no block either way, and the user
 * must not show presence to NOBODY. Narrower than `presenceVisible` (EVERYONE lets any
 * unblocked user ask GetPresence, but pushes still go to contacts only), and the one rule
 * behind ListPresenceAudience, the AudienceChanged a contacts change sends and the one a
 * privacy move sends: telling presence of a change of visibility instead would tell it of
 * viewers it never pushes to, and miss those it pushes to no longer.
 */
export function hearsPresence(link: PresenceLink, userVisibility: PresenceVisibility): boolean {
  return link.contact && !link.blocking && !link.blockedBy && userVisibility !== "nobody";
}

/** The relation of userId to an existing peer, from what the repository holds of the pair. */
export function relationView(userId: string, peerUserId: string, r: PeerRelation): RelationView {
  const peer = r.privacy ?? defaultPrivacy;
  const self = peerUserId === userId;
  const visibleTo = peer.presenceVisibility === "everyone" || (peer.presenceVisibility === "contacts" && r.contact);
  return {
    peerUserId,
    exists: true,
    contact: r.contact,
    blocking: r.blocking,
    blockedBy: r.blockedBy,
    presenceVisible: self || (!r.blocking && !r.blockedBy && visibleTo),
    landsInRequests: !self && !r.contact && peer.messageRequests === "requests",
  };
}

/** Who may reach or see whom: the answers presence and the message store act on. */
export class Relations {
  constructor(private readonly repo: ContactsRepository) {}

  /** The user's relation to each peer, in the order asked (repeats answered again). */
  async get(userId: string, peerUserIds: readonly string[]): Promise<RelationView[]> {
    if (!userId) throw new DomainError("invalid_argument", "user_id is required");
    if (peerUserIds.length > maxRelationPeers) throw new DomainError("invalid_argument", `at most ${maxRelationPeers} peer_user_ids`);
    const found = await this.repo.peerRelations(userId, peerUserIds);
    return peerUserIds.map((peer) => {
      const r = found.get(peer);
      return r ? relationView(userId, peer, r) : unknownPeer(peer);
    });
  }

  /**
   * The viewers who hear the user's presence (hearsPresence): the SQL of unblockedContacts
   * selects the link half of the rule, and the user's setting, the same for every one of
   * them, decides the other half once.
   */
  async presenceAudience(userId: string): Promise<string[]> {
    if (!userId) throw new DomainError("invalid_argument", "user_id is required");
    const settings = (await this.repo.privacy(userId)) ?? defaultPrivacy;
    if (!hearsPresence(unblockedContact, settings.presenceVisibility)) return [];
    return this.repo.unblockedContacts(userId);
  }
}
