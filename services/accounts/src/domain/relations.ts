import { DomainError } from "@messenger/rpc/domain-error";
import type { ContactsRepository, PeerRelation } from "../storage/contacts-repository.js";
import { defaultPrivacy } from "./privacy.js";

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

  /** Who to tell of the user's presence changes: contacts minus blocks either way; none when the user shows presence to nobody. */
  async presenceAudience(userId: string): Promise<string[]> {
    if (!userId) throw new DomainError("invalid_argument", "user_id is required");
    const settings = (await this.repo.privacy(userId)) ?? defaultPrivacy;
    if (settings.presenceVisibility === "nobody") return [];
    return this.repo.unblockedContacts(userId);
  }
}
