import type { HistoryRepository } from "../storage/history-repository.js";
import { invalidArgument } from "./errors.js";
import { requireId } from "./membership.js";

/** What accounts tells the store of a user's stance toward a peer. */
export interface DirectRelationInput {
  readonly userId: string;
  readonly peerUserId: string;
  /** The user blocks the peer. */
  readonly blocking: boolean;
  /** The two are contacts. */
  readonly contact: boolean;
}

/**
 * Records a user's stance toward a peer in their direct conversation, existing or not. The
 * store is the authority that enforces it: once this returns, the next send into the
 * conversation (through any router) and the next open by a blocked peer are refused.
 */
export async function setDirectRelation(repo: HistoryRepository, input: DirectRelationInput): Promise<void> {
  requireId(input.userId, "user_id");
  requireId(input.peerUserId, "peer_user_id");
  if (input.userId === input.peerUserId) throw invalidArgument("user_id and peer_user_id must differ");
  await repo.setDirectRelation(input.userId, input.peerUserId, input.blocking, input.contact);
}
